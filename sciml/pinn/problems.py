"""PDE problems for physics-informed training: domain, residual, BC/IC, exact or reference solution.

A :class:`Problem` works in physical coordinates ordered as ``coords`` (time first when there is
one). Its residual is written once against a :class:`~sciml.pinn.jet.Jet` (u, grad u, diagonal
Hessian), which comes from a model's closed-form jet or from torch autograd. Constraints (BC/IC)
are residuals too, computed from an evaluator ``ev(x, order) -> Jet``.

Register a problem with ``@register_problem``; look it up with :func:`get_problem`.
"""
from __future__ import annotations

from typing import Callable

import torch

from sciml.pinn.jet import Jet
from sciml.registry import Registry

Evaluator = Callable[[torch.Tensor, int], Jet]
# the modules that register problems, imported on the first lookup
PROBLEMS: Registry[type["Problem"]] = Registry("PINN problem",
                                               modules=("sciml.pinn.analytic", "sciml.pinn.reference_problems"))


def register_problem(cls):
    return PROBLEMS.register(cls.name)(cls)


def get_problem(name: str, **kwargs) -> "Problem":
    """Instantiate the problem registered as ``name`` (RegistryError with the close names otherwise)."""
    return PROBLEMS.get(name)(**kwargs)


def problem_names() -> list[str]:
    return PROBLEMS.names()


class Problem:
    """Base class. Subclasses set ``name``, ``coords``, ``lower``, ``upper`` and implement
    :meth:`residual`, :meth:`constraints` and :meth:`exact` or :meth:`reference`.

    ``res_weight`` multiplies the mean squared residual in the loss (same for every method);
    ``constraint_weight`` multiplies each BC/IC mean square.

    Defaults of the ``pinn`` recipe on this problem (:func:`sciml.pinn.budgets.training_budget`):
    ``pig_defaults`` (PIG's Gaussians per channel and sigma0) and ``train_defaults`` (overrides of the shared
    CPU training budget) are what a spec that leaves them out runs; ``loss_defaults`` (e.g. causal
    weighting) apply in every preset; ``paper_budget`` and ``paper_pig`` are the paper's budget and PIG
    size (the ``gpu`` preset).
    """

    name: str = ""
    coords: tuple[str, ...] = ()
    lower: list[float] = []
    upper: list[float] = []
    res_weight: float = 1.0
    constraint_weight: float = 1.0
    pig_defaults: dict = {}
    train_defaults: dict = {}
    loss_defaults: dict = {}
    paper_budget: dict = {}
    paper_pig: dict = {}
    time_dependent: bool = False

    @property
    def dim(self) -> int:
        return len(self.coords)

    # -------------------------------------------------------------- sampling
    def sample_interior(self, n: int, gen: torch.Generator | None = None, device=None) -> torch.Tensor:
        lo = torch.tensor(self.lower, device=device)
        hi = torch.tensor(self.upper, device=device)
        u = torch.rand(n, self.dim, generator=gen, device=gen.device if gen is not None else device)
        return lo + (hi - lo) * u.to(device)

    def sample_faces(self, n: int, dims: list[int], gen=None, device=None) -> torch.Tensor:
        """n points on the faces x_k = lower_k or upper_k for k in ``dims`` (spread evenly)."""
        x = self.sample_interior(n, gen, device)
        k = torch.tensor(dims, device=x.device)[torch.arange(n, device=x.device) % len(dims)]
        side = torch.arange(n, device=x.device) // len(dims) % 2
        lo, hi = torch.tensor(self.lower, device=x.device), torch.tensor(self.upper, device=x.device)
        val = torch.where(side.bool(), hi[k], lo[k])
        x[torch.arange(n, device=x.device), k] = val
        return x

    def sample_initial(self, n: int, gen=None, device=None) -> torch.Tensor:
        x = self.sample_interior(n, gen, device)
        x[:, 0] = self.lower[0]
        return x

    # -------------------------------------------------------------- physics
    def residual(self, x: torch.Tensor, jet: Jet) -> torch.Tensor:
        """PDE residual (P,) at points x (P, d) given the jet of u there."""
        raise NotImplementedError

    def constraints(self, ev: Evaluator, n: int, gen=None, device=None) -> dict[str, torch.Tensor]:
        """BC/IC residuals {name: (n_k,)} on ``n`` freshly sampled points (split between terms)."""
        raise NotImplementedError

    def exact(self, x: torch.Tensor) -> torch.Tensor | None:
        """Exact solution (P,) at x (P, d), or None when there is none."""
        return None

    def eval_grid(self) -> list[torch.Tensor]:
        """1-D coordinate arrays of the evaluation grid (time first)."""
        sizes = [11, 51, 51] if self.dim == 3 else [101] * self.dim
        return [torch.linspace(lo, hi, s) for lo, hi, s in zip(self.lower, self.upper, sizes)]

    def reference(self) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
        """(points (M, d), values (M,), grid shape) on which the relative L2 error is measured."""
        axes = self.eval_grid()
        mesh = torch.meshgrid(*axes, indexing="ij")
        pts = torch.stack([m.reshape(-1) for m in mesh], dim=1)
        return pts, self.exact(pts).detach(), tuple(a.numel() for a in axes)

    # -------------------------------------------------------------- helpers
    def dirichlet(self, ev: Evaluator, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ev(x, 0).u - target
