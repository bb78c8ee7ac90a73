"""Stochastic (perturbed-observation) EnKF for the two-layer QG model.

Localisation is by domain: each grid column is updated from the observations within a
Gaspari-Cohn taper of half-width ``loc_radius`` grid points (observation-error tapering), solved
in ensemble space (N x N per column, batched over all columns). The tapered local sums are
circular convolutions, done with FFTs on the periodic grid. Multiplicative inflation is applied
to the forecast anomalies. Observations are PV values (NaN where unobserved) on the model grid.
Members forecast with filtered AB3 from their own last three analyses.
"""
from __future__ import annotations

import torch

from sciml.pde.qg import QGModel


def gaspari_cohn(r: torch.Tensor) -> torch.Tensor:
    """Gaspari-Cohn 5th-order taper of ``r = distance / c``; support r < 2."""
    r = r.abs()
    near = -0.25 * r**5 + 0.5 * r**4 + 0.625 * r**3 - 5.0 / 3.0 * r**2 + 1.0
    far = r**5 / 12 - 0.5 * r**4 + 0.625 * r**3 + 5.0 / 3.0 * r**2 - 5.0 * r + 4.0 - 2.0 / (3.0 * r.clamp(min=1e-12))
    return torch.where(r <= 1, near, torch.where(r < 2, far, torch.zeros_like(r)))


class StochasticEnKF:
    """Perturbed-observation EnKF. ``obs_std``: observation error std per layer (1/s), shape (2,)."""

    def __init__(self, model: QGModel, n_members: int = 16, loc_radius: float = 3.0,
                 inflation: float = 1.05, seed: int = 0):
        self.model, self.n, self.c, self.inflation = model, n_members, loc_radius, inflation
        self.gen = torch.Generator().manual_seed(seed)
        # Periodic Gaspari-Cohn kernel on the grid; local sums become circular convolutions.
        n = model.nx
        d = torch.arange(n, dtype=model.dtype)
        d = torch.minimum(d, n - d)
        dist = torch.sqrt(d[:, None] ** 2 + d[None, :] ** 2)
        self.kernel_hat = torch.fft.rfft2(gaspari_cohn(dist / loc_radius)).to(model.device)

    def _randn(self, shape, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(shape, generator=self.gen, dtype=like.dtype).to(like.device)

    def analysis(self, xf: torch.Tensor, y: torch.Tensor, obs_std: torch.Tensor) -> torch.Tensor:
        """Update forecast ensemble ``xf`` (N, 2, ny, nx) with observations ``y`` (2, ny, nx; NaN = missing)."""
        N = xf.shape[0]
        mask = torch.isfinite(y)
        r = obs_std.to(xf)[:, None, None].expand_as(y)
        mean = xf.mean(0)
        A = self.inflation * (xf - mean)
        xf = mean + A
        y_pert = torch.nan_to_num(y) + r * self._randn(xf.shape, xf)
        D = torch.where(mask, y_pert - xf, torch.zeros_like(xf))                # innovations (N, 2, ny, nx)
        winv = mask.to(xf.dtype) / r**2
        G = y.shape[-2] * y.shape[-1]
        shape = y.shape[-2:]

        def local_sum(f: torch.Tensor) -> torch.Tensor:               # taper-weighted sum over neighbours
            return torch.fft.irfft2(torch.fft.rfft2(f) * self.kernel_hat, s=shape)
        Aw = A * winv                                                        # (N, 2, ny, nx)
        C = local_sum((Aw[:, None] * A[None, :]).sum(2)).reshape(N, N, G).permute(2, 0, 1)
        B = local_sum((Aw[:, None] * D[None, :]).sum(2)).reshape(N, N, G).permute(2, 0, 1)
        C += (N - 1) * torch.eye(N, dtype=xf.dtype, device=xf.device)
        W = torch.linalg.solve(C, B)                                            # (G, N, N)
        inc = torch.einsum("alg,gam->mlg", A.reshape(N, 2, G), W)
        return xf + inc.reshape(xf.shape)

    def run(self, obs: torch.Tensor, obs_std: torch.Tensor, init_spread: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Cycle over observations (T, 2, ny, nx), one per model step.

        The first three observation times seed the members' AB3 histories (obs gaps filled with
        the layer mean, plus ``init_spread * obs_std`` noise). Returns (analysis means (T, 2, ny, nx),
        ensemble spread (T,) as RMS std over members).
        """
        m, N = self.model, self.n
        obs = obs.to(m.device, m.dtype)
        std = obs_std.to(obs)[:, None, None]
        hist = []
        for t in range(3):
            fill = torch.where(torch.isfinite(obs[t]), obs[t], torch.nanmean(obs[t], dim=(-2, -1), keepdim=True)
                               .expand_as(obs[t]))
            hist.append(fill + init_spread * std * self._randn((N, *obs.shape[1:]), obs))
        means, spreads = [h.mean(0) for h in hist], [float(h.std(0).pow(2).mean().sqrt()) for h in hist]
        for t in range(3, obs.shape[0]):
            xf = m.step_from_history(torch.stack([hist[-1], hist[-2], hist[-3]]))
            xa = self.analysis(xf, obs[t], obs_std)
            hist = hist[-2:] + [xa]
            means.append(xa.mean(0))
            spreads.append(float(xa.std(0).pow(2).mean().sqrt()))
        return torch.stack(means), torch.tensor(spreads)
