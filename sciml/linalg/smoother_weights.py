"""Per-cell smoother weights of the learned V-cycle: the features a smoother network sees on each level
of the multigrid hierarchy, and the weights it predicts from them (once per matrix)."""
from __future__ import annotations

import numpy as np
import torch

from sciml.linalg import stencil_kernels
from sciml.linalg.stencil import GridOperator, _side


def level_features(op: GridOperator, active: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(2 dim + 2, *grid): each face's coupling / diagonal (lower and upper neighbour per axis),
    the row excess / diagonal, and the active mask, computed in the operator's precision and
    stored in ``dtype`` (default: that precision; the net's float32 for a float64 hierarchy).
    Stored channels-last (the returned tensor is a channel-first view), so the per-cell net reads it
    without a copy. On the CPU one fused pass (:func:`~sciml.linalg.stencil_kernels.cell_features`)
    writes the same bits as the torch construction followed by ``.to(dtype)``."""
    d = op.diag
    dim = len(op.shape)
    dtype = dtype or d.dtype
    inv = torch.where(active, 1.0 / d, 0.0)
    if stencil_kernels.available(d, *op.off) and dim in (2, 3) and dtype in (torch.float32, torch.float64):
        store = torch.empty(*op.shape, 2 * dim + 2, dtype=dtype)
        d3, faces = op.kernel_arrays()
        as3d = stencil_kernels.as3d
        stencil_kernels.cell_features(d3, *faces, as3d(inv), as3d(active.to(d.dtype)), dim,
                                      store.numpy().reshape(d3.shape + (2 * dim + 2,)))
        return store.movedim(-1, 0)
    store = torch.zeros(*op.shape, 2 * dim + 2, dtype=d.dtype, device=d.device)
    feats = store.movedim(-1, 0)
    for a, w in enumerate(op.off):
        _side(feats[2 * a], a, False).copy_(w)  # coupling to the lower neighbour, stored at the upper cell
        _side(feats[2 * a + 1], a, True).copy_(w)
    feats[2 * dim].copy_(op.row_excess())
    store[..., :-1].mul_(inv[..., None])  # divide by the diagonal, 0 outside
    feats[2 * dim + 1].copy_(active)
    return feats.to(dtype)


DISTINCT_SHARE = 8  # evaluate per distinct stencil when at most 1 in this many cells has a stencil of its own


@torch.no_grad()
def predict_weights(net: torch.nn.Module, levels) -> list[torch.Tensor]:
    """One (outputs, *grid) field per level (all but the coarsest, which is solved exactly): the
    smoother weight, and with a two-output net the coarse-correction weight."""
    p = next(net.parameters())
    return [_per_cell(net, level_features(lv.op, lv.active, p.dtype).to(p.device)).to(lv.op.diag)
            for lv in levels[:-1]]


def _per_cell(net: torch.nn.Module, feats: torch.Tensor) -> torch.Tensor:
    """``net`` on the (C, *grid) features, (outputs, *grid). A per-cell net (``kernel=1``) reads the
    features as (cells, C) rows (:meth:`~sciml.models.mg_smoother.MGSmootherNet.per_cell`), and on
    the CPU runs once per distinct feature vector: at 128^3 the constant, obstacle and inclusion
    families hold 27-268 distinct stencils among 2.1 million cells, and the network pass was most of
    the learned cycle's setup. Rows are grouped exactly
    (:func:`~sciml.linalg.stencil_kernels.distinct_rows`), so the weights are those of the full pass."""
    grid, c = feats.shape[1:], feats.shape[0]
    if getattr(net, "kernel", None) != 1:
        return net(feats[None])[0]
    rows = feats.movedim(0, -1).reshape(-1, c)  # channels-last storage: a view
    if stencil_kernels.available(feats):
        bits = rows.numpy().view(np.uint32 if rows.dtype == torch.float32 else np.uint64)
        inverse, first, count = stencil_kernels.distinct_rows(bits, max(1, rows.shape[0] // DISTINCT_SHARE))
        if count > 0:
            return net.per_cell(rows[torch.from_numpy(first)]).T[:, torch.from_numpy(inverse)].reshape(-1, *grid)
    return net.per_cell(rows).T.reshape(-1, *grid)
