"""Observation operators: random sparse masks at a given density, and relative Gaussian noise."""
from __future__ import annotations

import torch


def random_mask(shape: tuple[int, ...], density: float, seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """Boolean mask of ``shape`` (..., ny, nx) with exactly ``round(density * ny * nx)`` True points
    per field (chosen independently for each leading index)."""
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    g = torch.Generator().manual_seed(seed)
    *lead, ny, nx = shape
    n_obs = int(round(density * ny * nx))
    ranks = torch.rand(*lead, ny * nx, generator=g).argsort(-1).argsort(-1)
    return (ranks < n_obs).reshape(shape).to(device)


def add_noise(q: torch.Tensor, rel_noise: float, seed: int = 0) -> torch.Tensor:
    """``q + eps``, eps ~ N(0, (rel_noise * rms_k)^2) with rms_k the RMS of each field over (y, x)."""
    g = torch.Generator().manual_seed(seed)
    rms = q.pow(2).mean((-2, -1), keepdim=True).sqrt()
    eps = torch.randn(q.shape, generator=g, dtype=q.dtype).to(q.device)
    return q + rel_noise * rms * eps


def observe(q: torch.Tensor, density: float = 1.0, rel_noise: float = 0.0, seed: int = 0,
            fixed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Observe fields ``q`` (..., ny, nx): returns (values with NaN where unobserved, boolean mask).

    The same mask is used for both layers of a state (dim -3) when ``q`` has a layer axis.
    ``fixed=True``: one mask for every leading index (fixed sensors over time, dim 0 = time);
    otherwise a new random mask per state. With fixed sensors a linear interpolator's error
    ``(P - I) q`` is correlated in time and largely cancels in increments (see docs/medida.md).
    """
    if q.dim() >= 3:
        lead = (1,) * (q.dim() - 2) if fixed else (*q.shape[:-3], 1)
        mask = random_mask((*lead, *q.shape[-2:]), density, seed, q.device).expand_as(q)
    else:
        mask = random_mask(q.shape, density, seed, q.device)
    y = add_noise(q, rel_noise, seed + 1) if rel_noise > 0 else q.clone()
    return torch.where(mask, y, torch.full_like(y, float("nan"))), mask
