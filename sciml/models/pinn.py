"""PINN baselines: an MLP PINN (``pinn``) and a Fourier-feature PINN (``pinn_fourier``).

Both map physical coordinates x (P, d) in the box [lower, upper] to u (P,). Inputs are
rescaled to [-1, 1]^d inside the model, and :meth:`jet` returns u, grad u and the pure second
derivatives in *physical* coordinates (chain rule through the rescaling) in closed form.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.nn.jet_mlp import JetMLP


class BoxModel(nn.Module):
    """Base: input rescaling to [-1, 1]^d and the physical-coordinate jet."""

    def __init__(self, lower: list[float], upper: list[float]):
        super().__init__()
        lo, hi = torch.tensor(lower, dtype=torch.float32), torch.tensor(upper, dtype=torch.float32)
        if lo.shape != hi.shape or not bool((hi > lo).all()):
            raise ValueError(f"need lower < upper of equal length, got {lower} and {upper}")
        self.register_buffer("center", (hi + lo) / 2)
        self.register_buffer("halfwidth", (hi - lo) / 2)
        self.in_dim = lo.numel()

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) / self.halfwidth

    def features(self, z: torch.Tensor, order: int):  # pragma: no cover - abstract
        """z (P, d) normalised -> h (P, F), dh (P, F, d), ddh (P, F, d) in normalised units."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (P, d) physical -> u (P,)."""
        return self.head(self.embed(self.normalise(x))).squeeze(-1)

    def jet(self, x: torch.Tensor, order: int = 2):
        """u (P,), du (P, d), ddu (P, d) (or None for order=1), physical coordinates."""
        h, dh, ddh = self.features(self.normalise(x), order)
        u, du, ddu = self.head.jet(h, dh, ddh)
        du = du[:, 0] / self.halfwidth
        ddu = ddu[:, 0] / self.halfwidth**2 if ddu is not None else None
        return u[:, 0], du, ddu


@register_model("pinn")
class MLPPINN(BoxModel):
    """tanh MLP PINN: ``depth`` hidden layers of ``width``."""

    def __init__(self, lower: list[float], upper: list[float], width: int = 50, depth: int = 4):
        super().__init__(lower, upper)
        self.head = JetMLP(self.in_dim, [width] * depth, 1)

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def features(self, z, order):
        eye = torch.eye(self.in_dim, device=z.device, dtype=z.dtype).expand(z.shape[0], -1, -1)
        return z, eye, (torch.zeros_like(eye) if order >= 2 else None)


@register_model("pinn_fourier")
class FourierPINN(BoxModel):
    """Fourier-feature PINN: [sin(2 pi B z), cos(2 pi B z)] with fixed B ~ N(0, scale^2), then a tanh MLP."""

    def __init__(self, lower: list[float], upper: list[float], n_freq: int = 64, scale: float = 2.0,
                 width: int = 50, depth: int = 3, seed: int = 0):
        super().__init__(lower, upper)
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("B", 2 * math.pi * scale * torch.randn(n_freq, self.in_dim, generator=gen))
        self.head = JetMLP(2 * n_freq, [width] * depth, 1)

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        p = z @ self.B.T
        return torch.cat([torch.sin(p), torch.cos(p)], dim=-1)

    def features(self, z, order):
        p = z @ self.B.T
        s, c = torch.sin(p), torch.cos(p)
        h = torch.cat([s, c], dim=-1)
        dh = torch.cat([c[..., None] * self.B, -s[..., None] * self.B], dim=1)
        ddh = None
        if order >= 2:
            b2 = self.B**2
            ddh = torch.cat([-s[..., None] * b2, -c[..., None] * b2], dim=1)
        return h, dh, ddh
