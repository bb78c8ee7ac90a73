"""MgNO: a neural operator whose linear maps are multigrid V-cycles (He, Liu, Xu, ICLR 2024)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.nn.multigrid import MgConv, default_levels, default_smoothing

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


@register_model("mgno")
class MgNO(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) on any grid.

    Each of ``layers`` layers is ``u <- act(MgConv(u) + Conv1x1(u))``; the first takes the raw input
    as its right-hand side (no lifting), a bias-free 1x1 conv is the head. ``levels`` defaults to
    :func:`default_levels` of ``grid_size`` (5 when neither is given); ``smoothing`` to the paper's
    ``[[1, 0]] * (levels - 1) + [[2, 0]]``. ``padding_mode``: ``zeros`` (Dirichlet, e.g. Darcy),
    ``circular`` (periodic, e.g. Navier-Stokes), ``reflect`` (e.g. Helmholtz).
    ``residual=True`` adds the input to the output (the paper's Navier-Stokes variant);
    ``norm=True`` adds a GroupNorm(1) (a size-agnostic LayerNorm) after each V-cycle.
    ``prolongation``: ``"transposed"`` (the paper's 4x4 stride-2 transposed conv, the default) or
    ``"bilinear"`` (bilinear interpolation + a 3x3 conv; an ablation of the checkerboard artefact).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 24, layers: int = 4,
                 levels: int | None = None, grid_size: int | None = None,
                 smoothing: Sequence[Sequence[int]] | None = None, padding_mode: str = "zeros",
                 use_res: bool = False, activation: str = "gelu", residual: bool = False, norm: bool = False,
                 prolongation: str = "transposed"):
        super().__init__()
        if activation not in _ACTIVATIONS:  # build_model turns the ValueError into one line
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if smoothing is None:
            levels = levels or (default_levels(grid_size) if grid_size else 5)
            smoothing = default_smoothing(levels)
        self.residual = residual
        if residual and in_channels != out_channels:
            raise ValueError("residual=True needs in_channels == out_channels")
        chans = [in_channels] + [width] * layers
        self.cycles = nn.ModuleList(MgConv(chans[i], width, smoothing, padding_mode, use_res, prolongation) for i in range(layers))
        self.linear = nn.ModuleList(nn.Conv2d(chans[i], width, 1) for i in range(layers))
        self.norms = nn.ModuleList(nn.GroupNorm(1, width) if norm else nn.Identity() for _ in range(layers))
        self.act = _ACTIVATIONS[activation]()
        self.head = nn.Conv2d(width, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x
        for cycle, lin, norm in zip(self.cycles, self.linear, self.norms):
            u = self.act(norm(cycle(u)) + lin(u))
        out = self.head(u)
        return out + x if self.residual else out
