"""The learned V-cycle's network: per-cell smoother weights from the local operator (MgNO-style).

(L, C, *grid) operator features of every level -> (L, 1, *grid) Jacobi weights in (0, 1). The
features (:func:`sciml.linalg.smoother_weights.level_features`) are the cell's couplings and row
excess divided by its diagonal, plus the active (non-solid) mask, so the net sees coefficient
jumps, obstacles and walls, and is invariant to scaling the matrix. One net serves all levels
(each level's operator is another input). The weights are computed once per matrix (setup), so a
cycle costs exactly what the fixed-weight cycle costs; a weight in (0, 1) keeps each sweep an
A-norm contraction for a diagonally dominant matrix, so the V-cycle stays a symmetric positive
definite preconditioner. The output bias starts at the fixed cycle's weight (6/7 in 3-D, 0.8 in
2-D), so an untrained net is that cycle.

``kernel=1`` (the shipped nets): a per-cell MLP on the features (the features already hold the
cell's whole stencil), a few matrix products per cell; ``kernel=3``: 3x3(x3) convolutions, which
also see the neighbours' stencils but cost ~10x more at setup on a CPU (2 s at 1024^2).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.models.dcdm import conv


@register_model("mg_smoother")
class MGSmootherNet(nn.Module):
    def __init__(self, dim: int = 3, channels: int = 12, layers: int = 3, kernel: int = 1):
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim}")
        if kernel not in (1, 3):
            raise ValueError(f"kernel must be 1 or 3, got {kernel}")
        self.dim, self.kernel = dim, kernel
        conv_cls = nn.Conv3d if dim == 3 else nn.Conv2d
        layer = (lambda i, o: nn.Linear(i, o)) if kernel == 1 else (lambda i, o: conv_cls(i, o, 3, padding=1))
        c_in = 2 * dim + 2
        mods: list[nn.Module] = []
        for i in range(layers - 1):
            mods += [layer(c_in if i == 0 else channels, channels), nn.GELU()]
        self.body = nn.Sequential(*mods)
        self.head = nn.Linear(channels if layers > 1 else c_in, 1) if kernel == 1 else conv_cls(
            channels if layers > 1 else c_in, 1, 1)
        base = 6 / 7 if dim == 3 else 0.8
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, math.log(base / (1 - base)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != self.dim + 2:
            raise ValueError(f"the mg_smoother net is {self.dim}-D: (L, C, *grid), got {tuple(features.shape)}")
        if self.kernel == 1:  # channels last: one matrix product per layer
            return torch.sigmoid(self.head(self.body(features.movedim(1, -1)))).movedim(-1, 1)
        h = features
        for layer in self.body:  # convs through oneDNN on the CPU (ADR 0091): ~10x faster for 3-D
            h = conv(layer, h) if isinstance(layer, (nn.Conv2d, nn.Conv3d)) else layer(h)
        return torch.sigmoid(conv(self.head, h))
