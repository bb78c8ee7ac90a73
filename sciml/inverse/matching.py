"""Proximal matching loss, its gamma schedule, and the sampling objectives used to train denoisers.

Proximal matching (Fang et al. 2024): ``1 - exp(-||f(y) - x||^2 / gamma^2)`` per sample. As
``gamma -> 0`` its minimiser tends to the posterior *mode* (MAP), so the learned ``f`` is the prox
of the log-prior, while l2 gives the posterior mean and l1 the (per-coordinate) median.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch


def proximal_matching_loss(pred: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Mean over the batch of ``1 - exp(-||pred - target||^2 / gamma^2)`` (norm over non-batch dims)."""
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    d2 = (pred - target).flatten(1).pow(2).sum(1)
    return (1.0 - torch.exp(-d2 / gamma**2)).mean()


def gamma_schedule(step: int, total_steps: int, dim: int, gamma_min: float | None = None,
                   factors: Sequence[float] = (8, 4, 2, 1)) -> float:
    """Piecewise-constant gamma: ``gamma_min * factors[stage]`` over equal stages of ``total_steps``.

    ``gamma_min`` defaults to ``0.08 * sqrt(dim)`` (``dim`` = numbers per sample), as in the paper.
    """
    gmin = 0.08 * math.sqrt(dim) if gamma_min is None else float(gamma_min)
    stage = min(int(step * len(factors) / max(total_steps, 1)), len(factors) - 1)
    return gmin * float(factors[stage])


class DenoisingObjective:
    """``compute_loss(model, batch)`` for the Trainer: draw clean samples, add noise, score ``model``.

    Parameters
    ----------
    clean : (N, ...) clean samples, or ``None`` with ``sampler(n) -> (n, ...)`` (e.g. Laplace draws).
    sigma : noise std (float) or ``(lo, hi)`` for a uniform range per sample.
    loss : "l1", "l2" or "prox_matching".
    total_steps, gamma_min, factors : the gamma schedule for proximal matching.
    """

    def __init__(self, clean: torch.Tensor | None, sigma, loss: str = "prox_matching", batch_size: int = 32,
                 total_steps: int = 1000, gamma_min: float | None = None, factors: Sequence[float] = (8, 4, 2, 1),
                 sampler=None, seed: int = 0):
        if loss not in ("l1", "l2", "prox_matching"):
            raise ValueError(f"loss must be l1, l2 or prox_matching, got {loss!r}")
        if clean is None and sampler is None:
            raise ValueError("pass clean samples or a sampler")
        self.clean, self.sampler, self.sigma, self.loss = clean, sampler, sigma, loss
        self.batch_size, self.total_steps = batch_size, total_steps
        self.gamma_min, self.factors = gamma_min, tuple(factors)
        self.gen = torch.Generator().manual_seed(seed)
        self.step = 0

    def draw(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.clean is not None:
            idx = torch.randint(0, self.clean.shape[0], (self.batch_size,), generator=self.gen)
            x = self.clean[idx]
        else:
            x = self.sampler(self.batch_size, self.gen)
        if isinstance(self.sigma, (tuple, list)):
            lo, hi = self.sigma
            s = lo + (hi - lo) * torch.rand(x.shape[0], *([1] * (x.ndim - 1)), generator=self.gen)
        else:
            s = float(self.sigma)
        y = x + s * torch.randn(x.shape, generator=self.gen)
        return x.to(device), y.to(device)

    def __call__(self, model, batch=None):
        device = next(model.parameters()).device
        x, y = self.draw(device)
        pred = model(y)
        logs = {}
        if self.loss == "l1":
            loss = (pred - x).abs().mean()
        elif self.loss == "l2":
            loss = (pred - x).pow(2).mean()
        else:
            gamma = gamma_schedule(self.step, self.total_steps, x[0].numel(), self.gamma_min, self.factors)
            loss = proximal_matching_loss(pred, x, gamma)
            logs["gamma"] = gamma
        self.step += 1
        return loss, logs
