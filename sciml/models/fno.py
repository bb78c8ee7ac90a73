"""Fourier neural operator (Li et al. 2021), sciml's own small and standard 2-D version."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from sciml.models import register_model
from sciml.nn.spectral import SpectralConv2d, grid_coordinates


@register_model("fno")
class FNO2d(nn.Module):
    """FNO for fields on a 2-D grid: (B, in_channels, H, W) -> (B, out_channels, H, W).

    Lift (input + x/y coordinates) with a 1x1 conv to ``width``, apply ``layers`` Fourier layers
    ``u <- GELU(K u + W u)`` (spectral conv K keeping ``modes`` modes, 1x1 conv W), project with a
    two-layer 1x1 head. ``padding`` extra cells (zero) on the bottom/right make non-periodic
    problems (Darcy) tractable for the periodic FFT; use 0 for periodic data.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, modes: int = 12, width: int = 32,
                 layers: int = 4, padding: int = 8, add_grid: bool = True, head_width: int = 128):
        super().__init__()
        sizes = {"modes": modes, "width": width, "layers": layers, "head_width": head_width}
        too_small = [f"{k}={v}" for k, v in sizes.items() if v < 1] + ([f"padding={padding}"] if padding < 0 else [])
        if too_small:  # modes 0 builds empty spectral weights that fail only inside training's einsum
            raise ValueError(f"{', '.join(too_small)}: modes, width, layers and head_width must be at least 1, "
                             "padding at least 0 (modes above the grid's are truncated to it)")
        self.padding, self.add_grid = padding, add_grid
        self.lift = nn.Conv2d(in_channels + (2 if add_grid else 0), width, 1)
        self.spectral = nn.ModuleList(SpectralConv2d(width, width, modes, modes) for _ in range(layers))
        self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(layers))
        self.head = nn.Sequential(nn.Conv2d(width, head_width, 1), nn.GELU(), nn.Conv2d(head_width, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.add_grid:
            grid = grid_coordinates(x.shape[-2:], x.device, x.dtype).expand(x.shape[0], -1, -1, -1)
            x = torch.cat([x, grid], dim=1)
        x = self.lift(x)
        if self.padding:
            x = F.pad(x, (0, self.padding, 0, self.padding))
        n = len(self.spectral)
        for i, (k, w) in enumerate(zip(self.spectral, self.pointwise)):
            x = k(x) + w(x)
            if i < n - 1:
                x = F.gelu(x)
        if self.padding:
            x = x[..., : -self.padding, : -self.padding]
        return self.head(x)
