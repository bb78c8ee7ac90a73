"""The learned V-cycle's network: per-cell smoother and coarse-correction weights from the local
operator (MgNO-style).

(L, C, *grid) operator features of every level -> (L, outputs, *grid): channel 0 the Jacobi weight
``w`` in (0, 1), and with ``outputs=2`` channel 1 the coarse-correction weight ``alpha`` in (0, 2).
The features (:func:`sciml.linalg.smoother_weights.level_features`) are the cell's couplings and row
excess divided by its diagonal, plus the active (non-solid) mask, so the net sees coefficient
jumps, obstacles and walls, and is invariant to scaling the matrix. One net serves all levels
(each level's operator is another input). The weights are computed once per matrix (setup), so a
cycle costs exactly what the fixed-weight cycle costs. ``w`` scales the Chebyshev smoothing steps
(ADR 0104); below 1 each smoothing pass stays an A-norm contraction. ``alpha`` multiplies the
prolongation and the restriction alike (``P -> diag(alpha) P``, ``R = P^T``), which changes the
coarse space, not the symmetry: either way the V-cycle stays a symmetric positive definite
preconditioner. The output biases start at the fixed cycle (``w`` = 6/7 in 3-D, 0.8 in 2-D;
``alpha`` = 1), so an untrained net is that cycle.

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


PER_CELL_CHUNK = 1 << 16  # rows per chunk of :meth:`MGSmootherNet.per_cell`: 3 MB of intermediates


@register_model("mg_smoother")
class MGSmootherNet(nn.Module):
    def __init__(self, dim: int = 3, channels: int = 12, layers: int = 3, kernel: int = 1, outputs: int = 1):
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim}")
        if kernel not in (1, 3):
            raise ValueError(f"kernel must be 1 or 3, got {kernel}")
        if outputs not in (1, 2):
            raise ValueError(f"outputs must be 1 (smoother weights) or 2 (and correction weights), got {outputs}")
        self.dim, self.kernel, self.outputs = dim, kernel, outputs
        conv_cls = nn.Conv3d if dim == 3 else nn.Conv2d
        layer = (lambda i, o: nn.Linear(i, o)) if kernel == 1 else (lambda i, o: conv_cls(i, o, 3, padding=1))
        c_in = 2 * dim + 2
        mods: list[nn.Module] = []
        for i in range(layers - 1):
            mods += [layer(c_in if i == 0 else channels, channels), nn.GELU()]
        self.body = nn.Sequential(*mods)
        self.head = nn.Linear(channels if layers > 1 else c_in, outputs) if kernel == 1 else conv_cls(
            channels if layers > 1 else c_in, outputs, 1)
        base = 6 / 7 if dim == 3 else 0.8
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # alpha = 2 sigmoid(0) = 1
        with torch.no_grad():
            self.head.bias[0] = math.log(base / (1 - base))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != self.dim + 2:
            raise ValueError(f"the mg_smoother net is {self.dim}-D: (L, C, *grid), got {tuple(features.shape)}")
        if self.kernel == 1:  # channels last: one matrix product per layer
            z = self.head(self.body(features.movedim(1, -1))).movedim(-1, 1)
        else:
            h = features
            for layer in self.body:  # convs through oneDNN on the CPU (ADR 0091): ~10x faster for 3-D
                h = conv(layer, h) if isinstance(layer, (nn.Conv2d, nn.Conv3d)) else layer(h)
            z = conv(self.head, h)
        out = torch.sigmoid(z)
        return out if self.outputs == 1 else out * torch.tensor([1.0, 2.0], dtype=out.dtype, device=out.device).view(
            1, 2, *([1] * self.dim))

    @torch.no_grad()
    def per_cell(self, rows: torch.Tensor, chunk: int = PER_CELL_CHUNK) -> torch.Tensor:
        """The per-cell net (``kernel=1``) on (N, C) feature rows: (N, outputs), the same arithmetic as
        :meth:`forward`, evaluated ``chunk`` rows at a time. The layers' intermediates then stay a few
        MB that the allocator reuses: on a CPU a fresh (N, channels) tensor per layer costs more in
        page faults than the layer itself (2.4 million rows, one thread: 0.11 s against 0.33 s)."""
        if self.kernel != 1:
            raise ValueError("per_cell needs a per-cell net (kernel=1)")
        out = rows.new_empty(rows.shape[0], self.outputs)
        for start in range(0, rows.shape[0], chunk):
            torch.sigmoid(self.head(self.body(rows[start:start + chunk])), out=out[start:start + chunk])
        if self.outputs == 2:
            out[:, 1] *= 2.0
        return out
