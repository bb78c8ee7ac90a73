"""DCDM's own residuals as training vectors (a DAgger-like curriculum, ADR 0096).

The one-step Ritz loss rewards the bulk of the spectrum, but a DCDM solve soon meets residuals made
of the few smoothest global modes, which the net handles worst (ADR 0095). This module runs the
solver with a given net on training-family problems (boxes/spheres, never the benchmark's pillars or
porous media, fresh seeds) and keeps normalised residuals ``r_k / ||r_k||`` spread over each solve,
so a fine-tune sees the distribution the solver actually produces.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from sciml.data.params import Choice, Int, Real
from sciml.data.registry import register_dataset
from sciml.linalg.dcdm import dcdm_solve, load_shipped_model
from sciml.linalg.dcdm_training import OPEN_FACES, mixed_obstacles
from sciml.models import load_model
from sciml.pde.poisson import fill_enclosed, poisson_matrix, random_obstacles, rhs_blobs, rhs_divergence


def solve_residuals(model, A, b: np.ndarray, solid: np.ndarray, maxiter: int = 100, rtol: float = 1e-6) -> np.ndarray:
    """Normalised residuals ``(K + 1, n)`` of a DCDM solve (the paper's loop, ``safeguard=False``), r_0 first."""
    rs = [b / np.linalg.norm(b)]

    def keep(x):
        r = b - A @ x
        rs.append(r / max(np.linalg.norm(r), 1e-300))

    dcdm_solve(A, b, model=model, grid_shape=solid.shape, rtol=rtol, maxiter=maxiter, callback=keep,
               solid=solid.ravel(), safeguard=False)
    return np.stack(rs)


@register_dataset("dcdm_residuals", problems=Int(ge=1), res=Int(ge=8), per_problem=Int(ge=1), maxiter=Int(ge=1),
                  rtol=Real(gt=0, lt=1), obstacles=Choice("simple", "mixed"))
def make_dcdm_residuals(model: str | None = None, problems: int = 16, res: int = 32, per_problem: int = 24,
                        maxiter: int = 100, rtol: float = 1e-6, seed: int = 10,
                        obstacles: str = "simple") -> xr.Dataset:
    """``problems * per_problem`` residuals of DCDM solves with ``model`` (a checkpoint path; None: the
    shipped net) on ``res^3`` training-family problems; right-hand sides alternate between the
    divergence of a random velocity (the pressure case) and smooth blobs. Residuals are taken at
    evenly spaced iterations of each solve (so late, smooth residuals count as much as their share of
    the iterations). Same schema as ``dcdm_ritz``: ``b`` and ``solid`` (sample, z, y, x)."""
    import torch



    net = load_shipped_model() if model is None else load_model(model).eval()
    rng = np.random.default_rng(seed)
    shape = (res,) * 3
    bs, solids = [], []
    with torch.no_grad():
        for i in range(problems):
            solid = random_obstacles(shape, rng) if obstacles == "simple" else mixed_obstacles(shape, rng)
            solid = fill_enclosed(solid, OPEN_FACES)
            A = poisson_matrix(solid, OPEN_FACES)
            b = (rhs_divergence if i % 2 == 0 else rhs_blobs)(solid, rng).ravel()
            R = solve_residuals(net, A, b, solid, maxiter, rtol)
            pick = np.unique(np.linspace(0, len(R) - 1, per_problem).round().astype(int))
            bs.append(R[pick].reshape(-1, *shape))
            solids.append(np.broadcast_to(solid, (len(pick), *shape)))
    dims = ("sample", "z", "y", "x")
    return xr.Dataset(
        {"b": (dims, np.concatenate(bs).astype(np.float32), {"units": "1", "long_name": "normalised DCDM residual"}),
         "solid": (dims, np.concatenate(solids).astype(np.uint8), {"units": "1", "long_name": "obstacle mask"})},
        attrs={"title": "DCDM training vectors: residuals of the solver's own iterations", "open_faces": "y+",
               "model": str(model)})
