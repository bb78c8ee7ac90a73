"""Gaussian random fields on the unit square, batched.

- :func:`grf_neumann`: the FNO Darcy benchmark's field: covariance
  ``tau^(2 alpha - 2) (-Lap + tau^2)^(-alpha)`` with Neumann (cosine) eigenfunctions, i.e.
  coefficients ``tau^(alpha - 1) (pi^2 |k|^2 + tau^2)^(-alpha / 2)`` on a DCT-II basis, mean zero.
  The values sit at the DCT-II points ``(2 i + 1) / (2 res)`` and are used as the Darcy vertex-grid
  values, exactly as FNO's generator does (a stretch of the field by ``res / (res - 1)``).
- :func:`grf_periodic`: the FNO Navier-Stokes initial condition on the torus, FNO's ``GaussianRF``
  with ``sigma = tau^(alpha - 1)`` (``tau^(0.5 (2 alpha - d))``, d = 2), via FFT. Because FNO draws
  independent complex coefficients and keeps the real part, each Fourier mode ``k != 0`` carries
  ``E|u_k|^2 = 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)`` (:func:`periodic_spectrum`, tested), i.e.
  the covariance is twice ``sigma^2 (-Lap + tau^2)^(-alpha)``; we keep FNO's convention.
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


def periodic_spectrum(res: int, alpha: float, tau: float, sigma: float | None = None) -> torch.Tensor:
    """Expected ``|u_k|^2`` of :func:`grf_periodic` per Fourier mode (``u_k = fft2(u) / res^2``), (res, res)."""
    sigma = tau ** (alpha - 1.0) if sigma is None else sigma
    k = torch.fft.fftfreq(res, d=1.0 / res, dtype=torch.float64)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    spec = 2.0 * sigma**2 * (4 * np.pi**2 * k2 + tau**2) ** (-alpha)
    spec[0, 0] = 0.0
    return spec


def grf_periodic(n: int, res: int, alpha: float = 2.5, tau: float = 7.0, seed: int | torch.Generator = 0,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float64,
                 sigma: float | None = None) -> torch.Tensor:
    """``n`` periodic fields on the torus [0, 1)^2 at ``x_i = i / res``, shape (n, res, res), mean zero.

    ``seed``: an int (drawn on the CPU, so a seed gives the same fields on every device) or a
    ``torch.Generator`` (drawn on its device). ``sigma`` defaults to FNO's ``tau^(alpha - 1)``.
    """
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    # FNO: res^2 sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2) = res^2 sqrt(spectrum)
    sqrt_eig = (res**2 * periodic_spectrum(res, alpha, tau, sigma).sqrt()).to(gen.device)
    noise = torch.randn(n, res, res, 2, generator=gen, dtype=torch.float64, device=gen.device)
    # E|a_k|^2 = 2 spectrum; the real part mixes a_k and conj(a_-k), giving E|u_k|^2 = spectrum
    coeff = torch.complex(noise[..., 0], noise[..., 1]) * sqrt_eig
    return torch.fft.ifft2(coeff).real.to(device=device, dtype=dtype)
