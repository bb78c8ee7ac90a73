"""Collocation samplers: ``uniform`` (fixed), ``resampled`` and residual-adaptive ``rad``.

``rad`` follows Wu et al. (2023, RAD): every ``every`` steps draw a pool of ``pool_factor * n``
uniform points, evaluate the residual, and keep ``n`` of them with probability
proportional to ``|r|^k / mean|r|^k + c``.
"""
from __future__ import annotations

import torch

from sciml.pinn.jet import model_jet
from sciml.pinn.problems import Problem

MODES = ("uniform", "resampled", "rad")


class CollocationSampler:
    """Interior collocation points of ``problem``: call ``sampler(step, model)`` -> (n, d)."""

    def __init__(self, problem: Problem, n: int, mode: str = "resampled", every: int = 1,
                 pool_factor: int = 8, k: float = 1.0, c: float = 1.0, seed: int = 0, device=None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.problem, self.n, self.mode, self.every = problem, n, mode, max(int(every), 1)
        self.pool_factor, self.k, self.c = pool_factor, k, c
        self.device = torch.device(device or "cpu")
        self.gen = torch.Generator().manual_seed(seed)
        self.points: torch.Tensor | None = None

    def _uniform(self, n: int) -> torch.Tensor:
        return self.problem.sample_interior(n, self.gen).to(self.device)

    def _adaptive(self, model) -> torch.Tensor:
        pool = self._uniform(self.n * self.pool_factor)
        with torch.enable_grad():
            r = self.problem.residual(pool, model_jet(model, pool)).detach().abs()
        w = r**self.k
        p = w / w.mean().clamp_min(1e-30) + self.c
        idx = torch.multinomial(p.cpu(), self.n, replacement=False, generator=self.gen)
        return pool[idx.to(pool.device)]

    def __call__(self, step: int, model=None) -> torch.Tensor:
        if self.points is None or (self.mode != "uniform" and step % self.every == 0):
            if self.mode == "rad" and model is not None and self.points is not None:
                self.points = self._adaptive(model)
            else:
                self.points = self._uniform(self.n)
        return self.points
