"""Per-cell smoother weights of the learned V-cycle: the features a smoother network sees on each level
of the multigrid hierarchy, and the weights it predicts from them (once per matrix)."""
from __future__ import annotations

import torch

from sciml.linalg.stencil import GridOperator, _side


def level_features(op: GridOperator, active: torch.Tensor) -> torch.Tensor:
    """(2 dim + 2, *grid): each face's coupling / diagonal (lower and upper neighbour per axis),
    the row excess / diagonal, and the active mask. Stored channels-last (the returned tensor is a
    channel-first view), so the per-cell net reads it without a copy."""
    d = op.diag
    dim = len(op.shape)
    store = torch.zeros(*op.shape, 2 * dim + 2, dtype=d.dtype, device=d.device)
    feats = store.movedim(-1, 0)
    for a, w in enumerate(op.off):
        _side(feats[2 * a], a, False).copy_(w)  # coupling to the lower neighbour, stored at the upper cell
        _side(feats[2 * a + 1], a, True).copy_(w)
    feats[2 * dim].copy_(op.row_excess())
    store[..., :-1].mul_(torch.where(active, 1.0 / d, 0.0)[..., None])  # divide by the diagonal, 0 outside
    feats[2 * dim + 1].copy_(active)
    return feats


@torch.no_grad()
def predict_weights(net: torch.nn.Module, levels) -> list[torch.Tensor]:
    """One weight field per level (all but the coarsest, which is solved exactly)."""
    p = next(net.parameters())
    return [net(level_features(lv.op, lv.active).to(p.device, p.dtype)[None])[0, 0].to(lv.op.diag)
            for lv in levels[:-1]]
