"""Isotropic total-variation proximal operator (Chambolle's 2004 dual projection), batched in torch.

``tv_prox(v, weight) = argmin_x 1/2 ||x - v||^2 + weight * TV(x)`` with
``TV(x) = sum_ij sqrt((D_y x)^2 + (D_x x)^2)`` (forward differences, Neumann boundary).
"""
from __future__ import annotations

import torch


def _grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    gy = torch.zeros_like(x)
    gx = torch.zeros_like(x)
    gy[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    gx[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
    return gy, gx


def _div(py: torch.Tensor, px: torch.Tensor) -> torch.Tensor:
    """Negative adjoint of :func:`_grad`."""
    dy = torch.zeros_like(py)
    dx = torch.zeros_like(px)
    dy[..., 0, :] = py[..., 0, :]
    dy[..., 1:-1, :] = py[..., 1:-1, :] - py[..., :-2, :]
    dy[..., -1, :] = -py[..., -2, :]
    dx[..., :, 0] = px[..., :, 0]
    dx[..., :, 1:-1] = px[..., :, 1:-1] - px[..., :, :-2]
    dx[..., :, -1] = -px[..., :, -2]
    return dy + dx


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Isotropic TV per sample of ``x: (B, C, H, W)``, shape ``(B,)``."""
    gy, gx = _grad(x)
    return (gy**2 + gx**2).sqrt().flatten(1).sum(1)


def tv_prox(v: torch.Tensor, weight: float, iters: int = 100, tau: float = 0.249) -> torch.Tensor:
    """Prox of ``weight * TV`` at ``v: (B, C, H, W)`` by Chambolle's fixed point (tau < 1/4 converges)."""
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    if weight == 0:
        return v.clone()
    py = torch.zeros_like(v)
    px = torch.zeros_like(v)
    for _ in range(iters):
        gy, gx = _grad(_div(py, px) - v / weight)
        norm = 1.0 + tau * (gy**2 + gx**2).sqrt()
        py = (py + tau * gy) / norm
        px = (px + tau * gx) / norm
    return v - weight * _div(py, px)
