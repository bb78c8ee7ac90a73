"""Per-cell smoother weights of the learned V-cycle: the features a smoother network sees on each level
of the multigrid hierarchy, and the weights it predicts from them (once per matrix)."""
from __future__ import annotations

import torch

from sciml.linalg.stencil import GridOperator, _side


def level_features(op: GridOperator, active: torch.Tensor) -> torch.Tensor:
    """(2 dim + 2, *grid): each face's coupling / diagonal (lower and upper neighbour per axis),
    the row excess / diagonal, and the active mask."""
    d = op.diag
    feats = []
    for a, w in enumerate(op.off):
        lo, hi = torch.zeros_like(d), torch.zeros_like(d)
        _side(lo, a, False).copy_(w)  # coupling to the lower neighbour, stored at the upper cell
        _side(hi, a, True).copy_(w)
        feats += [lo / d, hi / d]
    feats += [op.row_excess() / d, active.to(d.dtype)]
    return torch.stack(feats) * active.to(d.dtype)


@torch.no_grad()
def predict_weights(net: torch.nn.Module, levels) -> list[torch.Tensor]:
    """One weight field per level (all but the coarsest, which is solved exactly)."""
    p = next(net.parameters())
    return [net(level_features(lv.op, lv.active).to(p.device, p.dtype)[None])[0, 0].to(lv.op.diag)
            for lv in levels[:-1]]
