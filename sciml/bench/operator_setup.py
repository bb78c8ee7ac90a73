"""Training set-up shared by every model in ``sciml bench operators``, following the MgNO paper's code.

- :class:`GaussianNormalizer`: pointwise (per grid point, over training samples) or scalar mean/std.
  The paper normalises the coefficient pointwise and *decodes the output inside the model*, so the
  loss is computed in physical units; :class:`Decoded` does the same for any model.
- the loss is the shared :class:`sciml.train.losses.SpectralH1Loss` (``build_loss("spectral_h1")``),
  the paper's relative H1 loss computed from FFT coefficients.

The pointwise normaliser lives here, not in :mod:`sciml.data.normalize`, because it is an
``nn.Module`` inside the model (its statistics travel in the model's state); folding a pointwise
option into the shared ``Normalizers`` is noted in ADR 0032 as the next step.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.train.losses import SpectralH1Loss  # noqa: F401  (re-exported for the bench)


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
