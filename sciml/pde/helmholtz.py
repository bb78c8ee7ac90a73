"""Helmholtz with a variable wave speed: ``-Lap u - (omega / c(x))^2 u = f`` on the unit square.

Vertex grid of ``res x res`` points including the boundary; second-order 5-point stencil;
boundaries either ``"dirichlet"`` (u = 0) or ``"absorbing"`` (first-order Sommerfeld,
``du/dn - i k u = 0``, imposed through a centred ghost point), solved by a sparse direct solve.
Absorbing boundaries make every problem well posed (no resonances) and the solution complex;
the dataset stores its real and imaginary parts.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr

from sciml.data.params import Choice, Int, Real, Relation
from sciml.data.registry import register_dataset
from sciml.pde.grf import grf_neumann
from sciml.utils.progress import progress as report_progress


def helmholtz_matrix(k2: np.ndarray, boundary: str = "absorbing") -> sp.csr_matrix:
    """Operator ``-Lap - k^2`` on a (res, res) vertex grid of [0, 1]^2 (``k2`` = nodal k^2).

    ``dirichlet``: unknowns are the interior nodes. ``absorbing``: all nodes; a boundary node's
    outside neighbour is the ghost ``u_in + 2 h i k u_b`` (the centred Sommerfeld condition).
    """
    res = k2.shape[0]
    h = 1.0 / (res - 1)
    if boundary == "dirichlet":
        m = res - 2
        lap = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m)) / h**2
        eye = sp.identity(m)
        return (sp.kron(eye, lap) + sp.kron(lap, eye) - sp.diags(k2[1:-1, 1:-1].ravel())).tocsr()
    if boundary != "absorbing":
        raise ValueError(f"boundary must be 'dirichlet' or 'absorbing', got {boundary!r}")
    # 1-D second difference with mirrored ghosts (-2 on the inner neighbour at both ends)
    d = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(res, res)).tolil()
    d[0, 1] = d[res - 1, res - 2] = -2
    eye = sp.identity(res)
    lap = (sp.kron(eye, d) + sp.kron(d, eye)) / h**2
    k = np.sqrt(k2)
    sides = np.zeros((res, res))  # number of boundary sides each node lies on (2 at corners)
    sides[0, :] += 1
    sides[-1, :] += 1
    sides[:, 0] += 1
    sides[:, -1] += 1
    absorb = -2j * k * sides / h
    return (lap.astype(complex) + sp.diags((absorb - k2).ravel())).tocsr()


def solve_helmholtz(c: np.ndarray, omega: float, f: np.ndarray, boundary: str = "absorbing",
                    progress: bool = True) -> np.ndarray:
    """Solve for wave speeds ``c: (n, res, res)`` and source ``f: (res, res)``; returns ``u`` (n, res, res),
    complex for absorbing boundaries, real with zero boundary values for Dirichlet."""
    c = np.asarray(c, dtype=np.float64)
    if np.any(c <= 0):
        raise ValueError("wave speed c must be positive everywhere")
    n, res, _ = c.shape
    u = np.zeros((n, res, res), dtype=complex if boundary == "absorbing" else float)
    for s in report_progress(range(n), desc="helmholtz", unit="sample", enabled=progress and n >= 50):
        A = helmholtz_matrix((omega / c[s]) ** 2, boundary)
        if boundary == "dirichlet":
            u[s, 1:-1, 1:-1] = spla.spsolve(A.tocsc(), f[1:-1, 1:-1].ravel()).reshape(res - 2, res - 2)
        else:
            u[s] = spla.spsolve(A.tocsc(), f.ravel().astype(complex)).reshape(res, res)
    return u


def gaussian_source(res: int, center=(0.5, 0.5), width: float = 0.05) -> np.ndarray:
    x = np.linspace(0, 1, res)
    X, Y = np.meshgrid(x, x)
    return np.exp(-((X - center[0]) ** 2 + (Y - center[1]) ** 2) / (2 * width**2)) / (2 * np.pi * width**2)


# The shortest wavelength is 2 pi c_min / omega with c_min = c_mean - |c_amplitude|. Below 3 grid points per
# wavelength the 5-point stencil's discrete wavenumber is more than 17% short (sin(pi/3)/(pi/3)); at 2 the wave
# is not representable at all. omega = 0 makes the absorbing problem a pure Neumann Laplacian (singular).
MIN_POINTS_PER_WAVELENGTH = 3.0


def points_per_wavelength(res: int, omega: float, c_min: float) -> float:
    """Grid points per shortest wavelength on the (res, res) vertex grid of the unit square."""
    return (res - 1) * 2 * np.pi * c_min / omega


@register_dataset(
    "helmholtz", res=Int(ge=3), omega=Real(gt=0), c_mean=Real(gt=0), c_amplitude=Real(), alpha=Real(gt=0),
    tau=Real(gt=0), boundary=Choice("absorbing", "dirichlet"),
    relations=(
        Relation(("c_mean", "c_amplitude"), lambda p: p["c_mean"] > abs(p["c_amplitude"]),
                 "c_mean must exceed |c_amplitude| so the wave speed c = c_mean + c_amplitude tanh(GRF) stays positive"),
        Relation(("res", "omega", "c_mean", "c_amplitude"),
                 lambda p: points_per_wavelength(p["res"], p["omega"], p["c_mean"] - abs(p["c_amplitude"]))
                 >= MIN_POINTS_PER_WAVELENGTH,
                 f"the grid must resolve the shortest wavelength 2 pi (c_mean - |c_amplitude|) / omega with at least "
                 f"{MIN_POINTS_PER_WAVELENGTH:g} points (res - 1 >= {MIN_POINTS_PER_WAVELENGTH:g} omega / "
                 "(2 pi (c_mean - |c_amplitude|))): raise res or lower omega"),
    ))
def make_helmholtz(n: int = 100, res: int = 64, seed: int = 0, omega: float = 6 * np.pi, c_mean: float = 1.0,
                   c_amplitude: float = 0.25, alpha: float = 2.0, tau: float = 3.0,
                   boundary: str = "absorbing") -> xr.Dataset:
    """Wave speed ``c = c_mean + c_amplitude tanh(GRF)`` -> field ``u`` from a central Gaussian source.

    Variables: ``c`` (wave speed), ``u`` (real part of the solution), ``u_imag`` (imaginary part),
    dims (sample, y, x).
    """
    c = c_mean + c_amplitude * np.tanh(grf_neumann(n, res, alpha, tau, seed))
    u = solve_helmholtz(c, omega, gaussian_source(res), boundary)
    x = np.linspace(0.0, 1.0, res)
    dims = ("sample", "y", "x")
    return xr.Dataset(
        {"c": (dims, c.astype(np.float32), {"units": "1", "long_name": "wave speed"}),
         "u": (dims, u.real.astype(np.float32), {"units": "1", "long_name": "real part of the wave field"}),
         "u_imag": (dims, np.imag(u).astype(np.float32), {"units": "1", "long_name": "imaginary part of the wave field"})},
        coords={"sample": np.arange(n), "y": ("y", x, {"units": "1", "axis": "Y"}), "x": ("x", x, {"units": "1", "axis": "X"})},
        attrs={"title": f"Helmholtz -Lap u - (omega/c)^2 u = f, {boundary} boundaries", "omega": float(omega)},
    )
