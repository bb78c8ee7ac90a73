"""Fourier layers for neural operators (FNO).

Spectral convolution keeps the lowest ``modes`` Fourier modes per axis and mixes channels with
complex weights there. FFTs always run in float32 (cuFFT has no bf16 path), whatever autocast does.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class SpectralConv2d(nn.Module):
    """2-D spectral convolution: (B, C_in, H, W) -> (B, C_out, H, W).

    Keeps modes ``|k_y| < modes1`` (both signs) and ``0 <= k_x < modes2`` of the real FFT.
    """

    def __init__(self, in_channels: int, out_channels: int, modes1: int, modes2: int):
        super().__init__()
        self.in_channels, self.out_channels, self.modes1, self.modes2 = in_channels, out_channels, modes1, modes2
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.randn(2, in_channels, out_channels, modes1, modes2, dtype=torch.cfloat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        dtype = x.dtype
        x_ft = torch.fft.rfft2(x.float(), norm="ortho")
        m1, m2 = min(self.modes1, h // 2), min(self.modes2, w // 2 + 1)
        out = torch.zeros(b, self.out_channels, h, w // 2 + 1, dtype=torch.cfloat, device=x.device)
        out[:, :, :m1, :m2] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :m1, :m2], self.weight[0, :, :, :m1, :m2])
        out[:, :, -m1:, :m2] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -m1:, :m2], self.weight[1, :, :, :m1, :m2])
        return torch.fft.irfft2(out, s=(h, w), norm="ortho").to(dtype)


def grid_coordinates(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Normalised coordinates in [0, 1], shape (len(shape), *shape)."""
    axes = [torch.linspace(0, 1, n, device=device, dtype=dtype) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"))
