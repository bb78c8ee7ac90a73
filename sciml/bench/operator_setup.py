"""Training set-up shared by every model in ``sciml bench operators``, following the MgNO paper's code.

- :class:`GaussianNormalizer`: pointwise (per grid point, over training samples) or scalar mean/std.
  The paper normalises the coefficient pointwise and *decodes the output inside the model*, so the
  loss is computed in physical units; :class:`Decoded` does the same for any model.
- :class:`SpectralH1Loss`: the paper's relative H1 loss, computed from FFT coefficients with weight
  ``sqrt(1 + kx^2 + ky^2)`` (integer wavenumbers, each component cut to 0 at ``|k| >= 20``).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class GaussianNormalizer(nn.Module):
    """``encode(v) = (v - mean) / (std + eps)`` with statistics of ``(N, C, H, W)`` training data.

    ``pointwise=True`` keeps one mean/std per channel and grid point (shape ``(1, C, H, W)``); at
    Dirichlet walls, where every sample is 0, std is 0 and decoding returns the mean (0) whatever
    the network outputs. ``pointwise=False`` uses one mean/std per channel.
    """

    def __init__(self, data: torch.Tensor, pointwise: bool = True, eps: float = 1e-5):
        super().__init__()
        dims = (0,) if pointwise else (0, 2, 3)
        self.register_buffer("mean", data.mean(dims, keepdim=True))
        self.register_buffer("std", data.std(dims, keepdim=True))
        self.eps = eps

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.mean) / (self.std + self.eps)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z * (self.std + self.eps) + self.mean


class Decoded(nn.Module):
    """``net`` followed by the output normaliser's decode: (B, C, H, W) normalised input -> physical output."""

    def __init__(self, net: nn.Module, out_normalizer: GaussianNormalizer):
        super().__init__()
        self.net, self.out_normalizer = net, out_normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_normalizer.decode(self.net(x))


class SpectralH1Loss(nn.Module):
    """Mean over the batch of ``||w F(pred - target)|| / ||w F(target)||`` on (B, C, H, W) fields.

    ``F`` is the orthonormal 2-D FFT over the whole grid (so walls are treated as periodic, as in the
    paper), ``w = sqrt(1 + kx^2 + ky^2)`` with integer wavenumbers and ``|k| >= cutoff`` set to 0.
    """

    def __init__(self, cutoff: int = 20):
        super().__init__()
        self.cutoff = cutoff

    def weight(self, h: int, w: int, device) -> torch.Tensor:
        def k(n):
            kk = (torch.fft.fftfreq(n, device=device) * n).abs()
            return kk * (kk < self.cutoff)
        return (1 + k(h)[:, None] ** 2 + k(w)[None, :] ** 2).sqrt()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = pred.float(), target.float()
        wt = self.weight(*pred.shape[-2:], pred.device)
        fd = torch.fft.fft2(pred - target, norm="ortho") * wt
        ft = torch.fft.fft2(target, norm="ortho") * wt
        num = fd.abs().pow(2).flatten(1).sum(1).sqrt()
        den = ft.abs().pow(2).flatten(1).sum(1).sqrt().clamp_min(1e-30)
        return (num / den).mean()
