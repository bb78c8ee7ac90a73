"""Problems whose truth comes from sciml's own reference solvers: nonlinear diffusion, Allen-Cahn."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from sciml.pinn.problems import Problem, register_problem
from sciml.pinn.reference import allen_cahn_etdrk4, nonlinear_diffusion_fd, nonlinear_diffusion_ic


def _grid_points(axes: list[np.ndarray], values: np.ndarray):
    mesh = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([m.reshape(-1) for m in mesh], axis=1)
    return (torch.tensor(pts, dtype=torch.float32), torch.tensor(values.reshape(-1), dtype=torch.float32),
            tuple(len(a) for a in axes))


@lru_cache(maxsize=2)
def _nd_reference(n: int, stride: int):
    x, t, u = nonlinear_diffusion_fd(n, t_out=np.linspace(0, 1, 11))
    return x[::stride], t, u[:, ::stride, ::stride]


@lru_cache(maxsize=2)
def _ac_reference(n: int, dt: float):
    return allen_cahn_etdrk4(n, dt, t_out=np.linspace(0, 1, 101))


@register_problem
class NonlinearDiffusion(Problem):
    """u_t = 0.05 (|grad u|^2 + u Lap u), t in [0, 1], x, y in [-1, 1], u = 0 on the boundary,
    three-Gaussian-bump initial condition. Reference: 257^2 finite differences (2nd order),
    compared on every 4th node (65^2) at t = 0, 0.1, ..., 1."""

    name = "nonlinear_diffusion"
    coords = ("t", "x", "y")
    lower, upper = [0.0, -1.0, -1.0], [1.0, 1.0, 1.0]
    time_dependent = True
    coef = 0.05
    pig_defaults = {"n_gaussians": 200, "sigma0": 0.1}
    paper_budget = {"n_colloc": 16**3, "adam_steps": 100000, "lr": 1e-3}
    paper_pig = {"n_gaussians": 4000, "sigma0": 0.1, "truncate_k": 64}
    ref_n = 257

    def residual(self, x, jet):
        grad2 = jet.d(1) ** 2 + jet.d(2) ** 2
        return jet.d(0) - self.coef * (grad2 + jet.u * (jet.dd(1) + jet.dd(2)))

    def constraints(self, ev, n, gen=None, device=None):
        xb = self.sample_faces(n // 2, [1, 2], gen, device)
        x0 = self.sample_initial(n - n // 2, gen, device)
        return {"bc": ev(xb, 0).u, "ic": ev(x0, 0).u - nonlinear_diffusion_ic(x0[:, 1], x0[:, 2])}

    def reference(self):
        x, t, u = _nd_reference(self.ref_n, (self.ref_n - 1) // 64)
        return _grid_points([t, x, x], u)


@register_problem
class AllenCahn(Problem):
    """u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0, t in [0, 1], x in [-1, 1] periodic, u(0, x) = x^2 cos(pi x).
    Reference: ETDRK4 pseudo-spectral, 512 modes, dt = 2.5e-4, at t = 0, 0.01, ..., 1."""

    name = "allen_cahn"
    coords = ("t", "x")
    lower, upper = [0.0, -1.0], [1.0, 1.0]
    time_dependent = True
    pig_defaults = {"n_gaussians": 100, "sigma0": 0.05}
    train_defaults = {"adam_steps": 5000, "n_colloc": 400, "lr_decay": 0.9995}  # the causal march in t is long
    loss_defaults = {"causal_eps": 1.0, "causal_slices": 32}  # without it the trivial states u = +-1 win
    paper_budget = {"n_colloc": 10000, "adam_steps": 50000}
    paper_pig = {"n_gaussians": 800, "sigma0": 0.05}
    constraint_weight = 100.0  # the IC must win early, or the trivial u = +-1 states take over

    def residual(self, x, jet):
        u = jet.u
        return jet.d(0) - 1e-4 * jet.dd(1) + 5 * u**3 - 5 * u

    def constraints(self, ev, n, gen=None, device=None):
        x0 = self.sample_initial(n // 2, gen, device)
        t = self.sample_interior(n - n // 2, gen, device)
        left, right = t.clone(), t.clone()
        left[:, 1], right[:, 1] = self.lower[1], self.upper[1]
        jl, jr = ev(left, 1), ev(right, 1)
        ic = ev(x0, 0).u - x0[:, 1] ** 2 * torch.cos(math.pi * x0[:, 1])
        return {"ic": ic, "periodic": jl.u - jr.u, "periodic_x": jl.d(1) - jr.d(1)}

    def reference(self):
        x, t, u = _ac_reference(512, 2.5e-4)
        return _grid_points([t, x], u)
