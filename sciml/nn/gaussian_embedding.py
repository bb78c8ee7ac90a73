"""Gaussian feature embedding of PIG (Kang et al., ICLR 2025), with closed-form derivatives.

``FE(x)_c = sum_i f_ci exp(-1/2 (x - mu_ci)^T A_ci (x - mu_ci))`` for channel ``c``, where
``A = Sigma^-1`` is the precision. Each of the ``C`` channels owns its own ``N`` Gaussians
(as in the reference code). Inputs are assumed normalised (e.g. to [-1, 1]^d); sigma is in
those units.

Why closed form: a PINN needs u_x and u_xx. Nested autograd through ``exp`` of a (P, C, N, d)
tensor is slow on the CPU; the analytic derivatives

    d_k g  = -g (A r)_k,        d_kk g = g ((A r)_k^2 - A_kk),      r = x - mu

cost one extra multiply each and leave a first-order graph for the parameter gradient.

Why a floor on sigma: derivatives scale as 1/sigma^2; the reference code lets sigma shrink
freely, which can blow the residual up. Here ``sigma = floor + softplus(raw)``.

Truncation (``truncate_k``): each point uses only its ``k`` nearest Gaussians per channel
(Euclidean distance to the means, chosen without gradient). The exp/derivative/backward
cost is then O(P k) instead of O(P N); the neighbour search itself is one ``cdist`` + ``topk``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# exp(-q/2) for q > 160 is < 2e-35: keep it there. exp() of arguments below ~-88 (results that
# underflow to 0) takes a slow path on the CPU (measured ~80x slower per element here, even with
# set_flush_denormal), and most of the P x N Gaussian values of a local embedding are that small.
_Q_MAX = 160.0


def _softplus_inv(y: float) -> float:
    return y + math.log(-math.expm1(-y))


class GaussianEmbedding(nn.Module):
    """Trainable Gaussian features.

    Parameters
    ----------
    dim : input dimension d.
    n_gaussians : N, Gaussians per channel.
    channels : C, output features.
    sigma0 : initial standard deviation (normalised units).
    sigma_floor : lower bound of every sigma (normalised units).
    full_cov : if True, each Gaussian has a rotation (exp of a skew matrix) as well as scales.
    truncate_k : use only the k nearest Gaussians per point and channel (None: all).
    learn_means : False freezes the means (the paper's ablation).
    low, high : the box in which means are initialised uniformly.
    generator : torch.Generator for the initialisation.
    """

    def __init__(self, dim: int, n_gaussians: int = 100, channels: int = 4, sigma0: float = 0.1,
                 sigma_floor: float = 1e-3, full_cov: bool = False, truncate_k: int | None = None,
                 learn_means: bool = True, low: float = -1.0, high: float = 1.0,
                 weight_std: float = 0.01, generator: torch.Generator | None = None):
        super().__init__()
        if sigma0 <= sigma_floor:
            raise ValueError(f"sigma0 ({sigma0}) must exceed sigma_floor ({sigma_floor})")
        self.dim, self.n, self.channels = dim, n_gaussians, channels
        self.sigma_floor, self.full_cov = sigma_floor, full_cov
        self.truncate_k = truncate_k if truncate_k and truncate_k < n_gaussians else None
        means = low + (high - low) * torch.rand(channels, n_gaussians, dim, generator=generator)
        self.means = nn.Parameter(means, requires_grad=learn_means)
        raw = torch.full((channels, n_gaussians, dim), _softplus_inv(sigma0 - sigma_floor))
        self.raw_scales = nn.Parameter(raw)
        self.weights = nn.Parameter(weight_std * torch.randn(channels, n_gaussians, generator=generator))
        if full_cov:  # skew-symmetric generator of the rotation, zero = axis-aligned at start
            self.raw_rotation = nn.Parameter(torch.zeros(channels, n_gaussians, dim, dim))

    @property
    def sigma(self) -> torch.Tensor:
        """(C, N, d) standard deviations along the principal axes, >= sigma_floor."""
        return self.sigma_floor + F.softplus(self.raw_scales)

    def precision(self) -> torch.Tensor:
        """(C, N, d) diagonal precision 1/sigma^2, or (C, N, d, d) full precision R diag R^T."""
        inv_var = self.sigma.pow(-2)
        if not self.full_cov:
            return inv_var
        s = self.raw_rotation
        rot = torch.linalg.matrix_exp(s - s.transpose(-1, -2))
        return (rot * inv_var.unsqueeze(-2)) @ rot.transpose(-1, -2)

    def _select(self, x: torch.Tensor):
        """Per-point Gaussian parameters: r (P, C, K, d), precision, weights (P|1, C, K)."""
        prec, w, mu = self.precision(), self.weights, self.means
        if self.truncate_k is None:
            r = x[:, None, None, :] - mu[None]
            return r, prec[None], w[None]
        with torch.no_grad():
            dist = torch.cdist(x.detach()[None].expand(self.channels, -1, -1), mu.detach())  # (C, P, N)
            idx = dist.topk(self.truncate_k, dim=-1, largest=False).indices.transpose(0, 1)  # (P, C, K)
        cidx = torch.arange(self.channels, device=x.device)[None, :, None]
        r = x[:, None, None, :] - mu[cidx, idx]
        return r, prec[cidx, idx], w[cidx, idx]

    def _gauss(self, x: torch.Tensor):
        r, prec, w = self._select(x)
        ar = prec * r if not self.full_cov else (prec @ r.unsqueeze(-1)).squeeze(-1)  # (P, C, K, d)
        g = torch.exp(-0.5 * (r * ar).sum(-1).clamp_max(_Q_MAX))  # (P, C, K)
        return g * w, ar, prec

    @property
    def _fast(self) -> bool:
        return not self.full_cov and self.truncate_k is None

    def _weighted_gauss_expanded(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """(P, C, N) weighted Gaussians via q = x^2.a - 2 x.(a mu) + a.mu^2 as one matmul.

        Diagonal, untruncated case: no (P, C, N, d) tensor is formed (about 2x faster on the CPU).
        The expansion loses ~eps * |a| * |x|^2 in q (it may even dip below 0 by that much), negligible
        while sigma >> sqrt(eps).
        """
        mu = self.means
        c, n, d = a.shape
        lhs = torch.cat([x * x, x, torch.ones_like(x[:, :1])], dim=1)  # (P, 2d + 1)
        rhs = torch.cat([a, -2 * a * mu, (a * mu * mu).sum(-1, keepdim=True)], dim=-1)  # (C, N, 2d + 1)
        q = (lhs @ rhs.reshape(c * n, -1).T).clamp_max(_Q_MAX).reshape(-1, c, n)  # q < 0: roundoff, harmless
        return torch.exp(-0.5 * q) * self.weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(P, d) -> (P, C) features."""
        if self._fast:
            return self._weighted_gauss_expanded(x, self.precision()).sum(-1)
        wg, _, _ = self._gauss(x)
        return wg.sum(-1)

    def _jet_expanded(self, x: torch.Tensor, order: int):
        """Closed-form jet as contractions of wg (P, C, N) with per-Gaussian moments (C, N, d)."""
        a, mu = self.precision(), self.means
        wg = self._weighted_gauss_expanded(x, a)
        moments = [a, a * mu]
        if order >= 2:
            a2 = a * a
            moments += [a2, a2 * mu, a2 * mu * mu]
        s = torch.einsum("pcn,cnm->pcm", wg, torch.cat(moments, dim=-1)).split(x.shape[1], dim=-1)
        xx = x[:, None, :]
        h = wg.sum(-1)
        dh = s[1] - xx * s[0]  # sum wg a (mu - x)
        if order < 2:
            return h, dh, None
        ddh = xx * xx * s[2] - 2 * xx * s[3] + s[4] - s[0]  # sum wg (a^2 (x - mu)^2 - a)
        return h, dh, ddh

    def jet(self, x: torch.Tensor, order: int = 2):
        """Features and their derivatives in closed form.

        Returns ``h`` (P, C), ``dh`` (P, C, d) with dh[p, c, k] = d h_c / d x_k, and for
        ``order=2`` also ``ddh`` (P, C, d), the pure second derivatives d^2 h_c / d x_k^2.
        """
        if self._fast:
            return self._jet_expanded(x, order)
        wg, ar, prec = self._gauss(x)
        h = wg.sum(-1)
        dh = -torch.einsum("pck,pckd->pcd", wg, ar)
        if order < 2:
            return h, dh, None
        diag = prec if not self.full_cov else torch.diagonal(prec, dim1=-2, dim2=-1)
        ddh = torch.einsum("pck,pckd->pcd", wg, ar * ar - diag)
        return h, dh, ddh
