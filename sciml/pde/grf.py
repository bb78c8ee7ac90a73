"""Gaussian random fields on the unit square, batched.

- :func:`grf_neumann`: the FNO Darcy benchmark's field: covariance
  ``tau^(2 alpha - 2) (-Lap + tau^2)^(-alpha)`` with Neumann (cosine) eigenfunctions, i.e.
  coefficients ``tau^(alpha - 1) (pi^2 |k|^2 + tau^2)^(-alpha / 2)`` on a DCT-II basis, mean zero.
- :func:`grf_periodic`: the FNO Navier-Stokes initial condition on the torus, eigenvalues
  ``sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)`` with ``sigma = tau^(alpha - 1)``, via FFT.
"""
from __future__ import annotations

import numpy as np
import scipy.fft
import torch


def neumann_amplitudes(res: int, alpha: float, tau: float) -> np.ndarray:
    """Standard deviation of each cosine mode (res, res); the constant mode is zero."""
    k = np.arange(res)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    amp = tau ** (alpha - 1) * (np.pi**2 * k2 + tau**2) ** (-alpha / 2)
    amp[0, 0] = 0.0
    return amp


def grf_neumann(n: int, res: int, alpha: float = 2.0, tau: float = 3.0, seed: int | np.random.Generator = 0,
                dtype=np.float64) -> np.ndarray:
    """``n`` fields on a ``res x res`` grid, shape (n, res, res), via a batched orthonormal inverse DCT-II."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xi = rng.standard_normal((n, res, res))
    coef = res * neumann_amplitudes(res, alpha, tau) * xi
    return scipy.fft.idctn(coef, type=2, norm="ortho", axes=(1, 2)).astype(dtype)


def grf_periodic(n: int, res: int, alpha: float = 2.5, tau: float = 7.0, seed: int | torch.Generator = 0,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` periodic fields on the torus [0, 1)^2 at ``res x res`` points, shape (n, res, res)."""
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    k = torch.fft.fftfreq(res, d=1.0 / res, dtype=torch.float64)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    sigma = tau ** (alpha - 1.0)
    sqrt_eig = res**2 * np.sqrt(2.0) * sigma * (4 * np.pi**2 * k2 + tau**2) ** (-alpha / 2)
    sqrt_eig[0, 0] = 0.0
    noise = torch.randn(n, res, res, 2, generator=gen, dtype=torch.float64)
    coeff = torch.complex(noise[..., 0], noise[..., 1]) * sqrt_eig
    return torch.fft.ifft2(coeff).real.to(device=device, dtype=dtype)
