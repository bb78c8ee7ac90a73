"""Search directions of DCDM: the network's proposal for a residual, on the fine grid and on coarser ones.

A :class:`DirectionProposer` turns a residual ``r`` (n,) into a proposed direction ``q`` (n,) (float64,
zero on solid cells) by applying a grid network to ``r / ||r||`` laid out on ``grid_shape``, or, for
``levels`` > 1, to ``r`` averaged onto a grid ``2**level`` times coarser and prolonged back.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


class DirectionProposer:
    """The directions a DCDM solve proposes.

    ``model``: ``"identity"`` (q = r: DCDM's iterates are then CG's), a grid network (``dim``, optionally
    ``use_mask`` / ``zero_offset``) or any torch callable ``r (n,) -> q (n,)``. ``fluid`` (n,) float64:
    1 on fluid cells, 0 on solid ones. ``prolong``: "linear" (tri-/bilinear, ADR 0099) or "nearest"
    (injection, ADR 0097) for coarse proposals. ``amp``: bf16 autocast of the network on CUDA.
    """

    def __init__(self, model: torch.nn.Module | Callable | str, grid_shape: tuple[int, ...] | None,
                 fluid: torch.Tensor, device: torch.device, prolong: str = "linear", amp: bool = False):
        self.model, self.grid_shape, self.device = model, grid_shape, device
        self.prolong, self.amp = prolong, amp
        self.is_net = isinstance(model, torch.nn.Module)
        self.masks = {0: fluid.reshape(1, 1, *grid_shape)} if self.is_net else {}
        self.offset: dict[int, torch.Tensor] = {}  # per level: a zero_offset net's r-independent part, once

    def __call__(self, r: torch.Tensor, level: int = 0) -> torch.Tensor | None:
        """The direction proposed for residual ``r`` (n,) on ``level`` (0: the fine grid); None when the
        residual vanishes on that coarse grid."""
        if isinstance(self.model, str) and self.model == "identity":
            return r.clone()
        if not self.is_net:
            return torch.as_tensor(self.model(r), dtype=torch.float64, device=self.device).reshape(-1)
        rg = r.reshape(1, 1, *self.grid_shape)
        if level == 0:
            return self._apply_net(rg, 0).reshape(-1)
        return self._coarse_proposal(rg, level)

    def _apply_net(self, rg: torch.Tensor, level: int) -> torch.Tensor:
        """The network on the normalised grid residual ``rg`` (1, 1, *grid), masked to fluid cells."""
        model, mask = self.model, self.masks[level]
        rn = rg / rg.norm()
        inp = torch.cat([rn, mask], 1) if getattr(model, "use_mask", False) else rn
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp and self.device.type == "cuda"):
            if getattr(model, "zero_offset", False):  # body(r) - body(0): same as model(inp), half the cost
                if level not in self.offset:
                    self.offset[level] = model.offset(inp.float()).double()
                return (model.body(inp.float()).double() - self.offset[level]) * mask
            return model(inp.float()).double() * mask

    def _coarse_proposal(self, rg: torch.Tensor, level: int) -> torch.Tensor | None:
        """Average the residual onto a grid ``2**level`` times coarser (cells at least half fluid), apply
        the network there and prolong its proposal back to the fine grid."""
        grid_shape, fine_mask = self.grid_shape, self.masks[0]
        f, pool = 2**level, (F.avg_pool3d if len(grid_shape) == 3 else F.avg_pool2d)
        if level not in self.masks:
            self.masks[level] = (pool(fine_mask, f, ceil_mode=True) >= 0.5).double()
        rc = pool(rg * fine_mask, f, ceil_mode=True) * self.masks[level]
        if not rc.norm() > 0:
            return None
        # cell-centred linear interpolation: injection's piecewise-constant blocks put energy into their
        # jumps (q^T A q), which shrinks the coarse step (ADR 0099)
        mode = "nearest" if self.prolong == "nearest" else ("trilinear" if len(grid_shape) == 3 else "bilinear")
        qc = F.interpolate(self._apply_net(rc, level), scale_factor=f, mode=mode,
                           **({} if mode == "nearest" else {"align_corners": False}))
        return (qc[(...,) + tuple(slice(0, g) for g in grid_shape)] * fine_mask).reshape(-1)
