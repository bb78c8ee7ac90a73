"""Darcy flow: ``-div(a grad u) = f`` on the unit square, ``u = 0`` on the boundary.

The FNO benchmark's set-up: ``a`` thresholds a Neumann GRF (alpha = 2, tau = 3) to 12 / 3,
``f = 1``. Discretisation: a vertex grid of ``res x res`` points including the boundary
(``x_i = i / (res - 1)``), a conservative finite-volume (5-point) scheme whose face
coefficients are harmonic means of the two neighbouring nodal values, and a sparse direct
(banded Cholesky / SuperLU) or algebraic-multigrid solve per sample. Second order for smooth ``a`` (tested).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
import xarray as xr

from sciml.data.params import Int, Real
from sciml.data.registry import register_dataset
from sciml.pde.grf import grf_neumann
from sciml.utils import require
from sciml.utils.progress import progress as report_progress


def darcy_coefficient(field, high: float = 12.0, low: float = 3.0) -> np.ndarray:
    """Threshold a field (numpy or torch, any shape) at 0: ``high`` where ``field >= 0``, else ``low``."""
    return np.where(_as_numpy(field) >= 0, high, low)


def _face_coefficients(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """Harmonic face coefficients seen by each interior node: (west, east, south, north), each (res-2, res-2).

    Harmonic means make the flux through a face exact for a coefficient jump at the face midpoint
    (springs in series), so layered media keep second order (tested).
    """
    harm = lambda p, q: 2 * p * q / (p + q)  # noqa: E731
    ax = harm(a[:, :-1], a[:, 1:])  # faces between (i, j) and (i, j+1): shape (res, res-1)
    ay = harm(a[:-1, :], a[1:, :])  # faces between (i, j) and (i+1, j): shape (res-1, res)
    return ax[1:-1, :-1], ax[1:-1, 1:], ay[:-1, 1:-1], ay[1:, 1:-1]


def darcy_matrix(a: np.ndarray) -> sp.csr_matrix:
    """Finite-volume operator on the interior nodes of a (res, res) vertex grid, scaled by 1/h^2.

    Face coefficient between nodes P and N: ``2 a_P a_N / (a_P + a_N)``. Boundary nodes carry
    ``u = 0`` and are eliminated. Returns an SPD CSR matrix of size ``(res - 2)^2`` (row-major
    interior nodes, y slowest).
    """
    res = a.shape[0]
    m = res - 2
    h2 = (1.0 / (res - 1)) ** 2
    west, east, south, north = _face_coefficients(a)
    diag = (west + east + south + north).ravel() / h2
    idx = np.arange(m * m).reshape(m, m)
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [diag]
    for coef, (di, dj) in ((east, (0, 1)), (west, (0, -1)), (north, (1, 0)), (south, (-1, 0))):
        src = idx[max(0, -di): m - max(0, di), max(0, -dj): m - max(0, dj)]
        dst = idx[max(0, di): m + min(0, di), max(0, dj): m + min(0, dj)]
        c = coef[max(0, -di): m - max(0, di), max(0, -dj): m - max(0, dj)]
        rows.append(src.ravel()), cols.append(dst.ravel()), vals.append(-c.ravel() / h2)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m, m * m))


def darcy_banded(a: np.ndarray) -> np.ndarray:
    """The same operator times h^2, in LAPACK upper banded form (res-1, (res-2)^2) for ``solveh_banded``.

    Row ``m`` is the diagonal, row ``m-1`` the east coupling (zero across grid rows), row 0 the
    north coupling, with ``m = res - 2`` the half bandwidth.
    """
    m = a.shape[0] - 2
    west, east, south, north = _face_coefficients(a)
    ab = np.zeros((m + 1, m * m))
    ab[m] = (west + east + south + north).ravel()
    sup = -east.copy()
    sup[:, -1] = 0.0  # the last interior column's east neighbour is a boundary node
    ab[m - 1, 1:] = sup.ravel()[:-1]
    ab[0, m:] = -north[:-1].ravel()
    return ab


# Banded Cholesky costs O(N m^2): ~2x faster than SuperLU at 64^2, slower beyond ~200^2 (measured).
_BANDED_MAX_RES = 192


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def solve_darcy(a, f: float | np.ndarray = 1.0, solver: str = "direct", progress: bool | None = None,
                workers: int | None = None) -> np.ndarray:
    """Solve ``-div(a grad u) = f``, ``u = 0`` on the boundary, for each coefficient field.

    ``a``: numpy array or torch tensor (n, res, res) or (res, res), nodal values on the vertex grid
    ``x_i = i / (res - 1)`` (axis -2 is y, axis -1 is x), strictly positive.
    ``f``: a constant or nodal values (res, res) / (n, res, res). Returns numpy ``u`` shaped like ``a``
    (boundary rows/columns zero).
    ``solver``: ``"direct"`` (banded Cholesky up to res 192, SuperLU above), ``"banded"``, ``"splu"``,
    or ``"amg"`` (pyamg smoothed aggregation + CG, rtol 1e-10).
    ``progress``: a progress report (see :mod:`sciml.utils.progress`); ``None`` shows it for n >= 50.
    ``workers``: threads solving samples concurrently (the result does not depend on it). SuperLU releases
    the GIL, so threads pay off above res 192 (the ``"direct"`` default there); the banded path holds it.
    ``None``: one per core, up to 16, when SuperLU runs at least 16 samples; else 1.
    """
    a = _as_numpy(a)
    single = a.ndim == 2
    a = a[None] if single else a
    if a.ndim != 3 or a.shape[1] != a.shape[2] or a.shape[1] < 3:
        raise ValueError(f"Darcy coefficient a must have shape (n, res, res) with res >= 3, got {a.shape}")
    if np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError("Darcy coefficient a must be finite and strictly positive everywhere")
    if solver not in ("direct", "banded", "splu", "amg"):
        raise ValueError(f"solver must be 'direct', 'banded', 'splu' or 'amg', got {solver!r}")
    n, res, _ = a.shape
    f_arr = np.broadcast_to(_as_numpy(f), (n, res, res))
    if solver == "direct":
        solver = "banded" if res <= _BANDED_MAX_RES else "splu"
    if solver == "amg":
        pyamg = require("pyamg", extra="bench")
    h2 = (1.0 / (res - 1)) ** 2
    u = np.zeros_like(a)

    def solve_one(s: int) -> None:
        rhs = f_arr[s, 1:-1, 1:-1].ravel()
        if solver == "banded":
            sol = sla.solveh_banded(darcy_banded(a[s]), h2 * rhs, check_finite=False)
        elif solver == "splu":
            sol = spla.splu(darcy_matrix(a[s]).tocsc(), permc_spec="MMD_AT_PLUS_A").solve(rhs)
        else:
            sol = pyamg.smoothed_aggregation_solver(darcy_matrix(a[s])).solve(rhs, tol=1e-10, accel="cg")
        u[s, 1:-1, 1:-1] = sol.reshape(res - 2, res - 2)

    if workers is None:
        workers = min(16, os.cpu_count() or 1) if solver == "splu" and n >= 16 else 1
    show = n >= 50 if progress is None else progress
    with ThreadPoolExecutor(max(1, workers)) as pool:  # each sample writes its own slice of u
        for _ in report_progress(pool.map(solve_one, range(n)), total=n, desc="darcy", unit="sample", enabled=show):
            pass
    return u[0] if single else u


def _darcy_dataset(a: np.ndarray, u: np.ndarray, res: int) -> xr.Dataset:
    x = np.linspace(0.0, 1.0, res)
    return xr.Dataset(
        {"a": (("sample", "y", "x"), a.astype(np.float32), {"units": "1", "long_name": "permeability coefficient"}),
         "u": (("sample", "y", "x"), u.astype(np.float32), {"units": "1", "long_name": "pressure (solution)"})},
        coords={"sample": np.arange(a.shape[0]),
                "y": ("y", x, {"units": "1", "long_name": "y coordinate", "axis": "Y"}),
                "x": ("x", x, {"units": "1", "long_name": "x coordinate", "axis": "X"})},
        attrs={"title": "Darcy flow -div(a grad u) = f, u = 0 on the boundary of the unit square",
               "scheme": "vertex-grid finite volume, harmonic face averages, direct solve (banded Cholesky or SuperLU)"},
    )


# res >= 3: the vertex grid needs one interior node; a and f must be finite, a > 0 (an elliptic problem)
DARCY_RULES = dict(res=Int(ge=3), alpha=Real(gt=0), tau=Real(gt=0), high=Real(gt=0), low=Real(gt=0), forcing=Real())


@register_dataset("darcy", **DARCY_RULES)
def make_darcy(n: int = 100, res: int = 64, seed: int = 0, alpha: float = 2.0, tau: float = 3.0,
               high: float = 12.0, low: float = 3.0, forcing: float = 1.0) -> xr.Dataset:
    """Darcy samples: ``a`` (coefficient) and ``u`` (solution), dims (sample, y, x)."""
    a = darcy_coefficient(grf_neumann(n, res, alpha, tau, seed), high, low)
    return _darcy_dataset(a, solve_darcy(a, forcing), res)


@register_dataset("darcy_rough", **DARCY_RULES)
def make_darcy_rough(n: int = 100, res: int = 64, seed: int = 0, alpha: float = 2.0, tau: float = 5.0,
                     high: float = 12.0, low: float = 3.0, forcing: float = 1.0) -> xr.Dataset:
    """Rough Darcy (tau = 5, the MgNO paper's second set)."""
    return make_darcy(n, res, seed, alpha, tau, high, low, forcing)
