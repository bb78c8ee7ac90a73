"""Darcy flow: ``-div(a grad u) = f`` on the unit square, ``u = 0`` on the boundary.

The FNO benchmark's set-up: ``a`` thresholds a Neumann GRF (alpha = 2, tau = 3) to 12 / 3,
``f = 1``. Discretisation: a vertex grid of ``res x res`` points including the boundary
(``x_i = i / (res - 1)``), a conservative finite-volume (5-point) scheme whose face
coefficients are harmonic means of the two neighbouring nodal values, and a sparse direct
(SuperLU) or algebraic-multigrid solve per sample. Second order for smooth ``a`` (tested).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr
from tqdm.auto import tqdm

from sciml.data.registry import register_dataset
from sciml.pde.grf import grf_neumann


def darcy_coefficient(field: np.ndarray, high: float = 12.0, low: float = 3.0) -> np.ndarray:
    """Threshold a field at 0: ``high`` where ``field >= 0``, else ``low``."""
    return np.where(field >= 0, high, low)


def darcy_matrix(a: np.ndarray) -> sp.csr_matrix:
    """Finite-volume operator on the interior nodes of a (res, res) vertex grid, scaled by 1/h^2.

    Face coefficient between nodes P and N: ``2 a_P a_N / (a_P + a_N)``. Boundary nodes carry
    ``u = 0`` and are eliminated. Returns an SPD CSR matrix of size ``(res - 2)^2``.
    """
    res = a.shape[0]
    m = res - 2
    h2 = (1.0 / (res - 1)) ** 2
    harm = lambda p, q: 2 * p * q / (p + q)  # noqa: E731
    ax = harm(a[:, :-1], a[:, 1:])  # faces between (i, j) and (i, j+1): shape (res, res-1)
    ay = harm(a[:-1, :], a[1:, :])  # faces between (i, j) and (i+1, j): shape (res-1, res)
    west, east = ax[1:-1, :-1], ax[1:-1, 1:]  # for interior node (i, j): faces j-1/2 and j+1/2
    south, north = ay[:-1, 1:-1], ay[1:, 1:-1]
    diag = (west + east + south + north).ravel() / h2
    idx = np.arange(m * m).reshape(m, m)
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [diag]
    for coef, (di, dj) in ((east, (0, 1)), (west, (0, -1)), (north, (1, 0)), (south, (-1, 0))):
        src = idx[max(0, -di): m - max(0, di), max(0, -dj): m - max(0, dj)]
        dst = idx[max(0, di): m + min(0, di), max(0, dj): m + min(0, dj)]
        c = coef[max(0, -di): m - max(0, di), max(0, -dj): m - max(0, dj)]
        rows.append(src.ravel()), cols.append(dst.ravel()), vals.append(-c.ravel() / h2)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m, m * m))


def solve_darcy(a: np.ndarray, f: float | np.ndarray = 1.0, solver: str = "direct", progress: bool = True) -> np.ndarray:
    """Solve for a batch of coefficients ``a: (n, res, res)`` (or one (res, res)); returns ``u`` alike.

    ``f`` is a constant or an array of nodal values (res, res) / (n, res, res).
    ``solver`` is ``"direct"`` (SuperLU) or ``"amg"`` (pyamg smoothed aggregation, rtol 1e-10).
    """
    a = np.asarray(a, dtype=np.float64)
    single = a.ndim == 2
    a = a[None] if single else a
    if np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError("Darcy coefficient a must be finite and strictly positive everywhere")
    n, res, _ = a.shape
    f_arr = np.broadcast_to(np.asarray(f, dtype=np.float64), (n, res, res))
    u = np.zeros_like(a)
    for s in tqdm(range(n), desc="darcy", disable=not progress or n < 50, leave=False):
        A = darcy_matrix(a[s])
        rhs = f_arr[s, 1:-1, 1:-1].ravel()
        if solver == "direct":
            sol = spla.spsolve(A.tocsc(), rhs)
        elif solver == "amg":
            from sciml.utils import require

            pyamg = require("pyamg", extra="bench")
            sol = pyamg.smoothed_aggregation_solver(A).solve(rhs, tol=1e-10, accel="cg")
        else:
            raise ValueError(f"solver must be 'direct' or 'amg', got {solver!r}")
        u[s, 1:-1, 1:-1] = sol.reshape(res - 2, res - 2)
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
               "scheme": "vertex-grid finite volume, harmonic face averages, sparse direct solve"},
    )


@register_dataset("darcy")
def make_darcy(n: int = 100, res: int = 64, seed: int = 0, alpha: float = 2.0, tau: float = 3.0,
               high: float = 12.0, low: float = 3.0, forcing: float = 1.0) -> xr.Dataset:
    """Darcy samples: ``a`` (coefficient) and ``u`` (solution), dims (sample, y, x)."""
    a = darcy_coefficient(grf_neumann(n, res, alpha, tau, seed), high, low)
    return _darcy_dataset(a, solve_darcy(a, forcing), res)


@register_dataset("darcy_rough")
def make_darcy_rough(n: int = 100, res: int = 64, seed: int = 0, alpha: float = 2.0, tau: float = 5.0,
                     high: float = 12.0, low: float = 3.0, forcing: float = 1.0) -> xr.Dataset:
    """Rough Darcy (tau = 5, the MgNO paper's second set)."""
    return make_darcy(n, res, seed, alpha, tau, high, low, forcing)
