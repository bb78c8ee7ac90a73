"""Conjugate gradients with optional preconditioning, in the shape of ``scipy.sparse.linalg.cg``.

``x, info = cg(A, b, rtol=1e-6)``: ``info = 0`` on convergence, ``> 0`` the iteration count when
``maxiter`` ran out (``x`` is then the last iterate), as in scipy. ``history`` (a list you pass)
receives ``||r_k|| / ||b||`` per iteration, starting with the initial residual.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.linalg.checks import check_system


def pcg(A, b: np.ndarray, M: Callable[[np.ndarray], np.ndarray] | None = None, rtol: float = 1e-6,
        maxiter: int | None = None, x0: np.ndarray | None = None, callback: Callable | None = None,
        history: list | None = None) -> tuple[np.ndarray, int]:
    """Preconditioned CG for SPD ``A`` (sparse matrix or LinearOperator); ``M(r)`` applies M^-1."""
    A, b = check_system(A, b)
    n = b.size
    maxiter = maxiter or 10 * n
    x = np.zeros(n) if x0 is None else np.asarray(x0, dtype=float).ravel().copy()
    r = b - A @ x
    bnorm = np.linalg.norm(b) or 1.0
    hist = history if history is not None else []
    hist.append(np.linalg.norm(r) / bnorm)
    if hist[-1] <= rtol:
        return x, 0
    z = M(r) if M else r
    p = z.copy()
    rz = r @ z
    for k in range(1, maxiter + 1):
        Ap = A @ p
        alpha = rz / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        if callback is not None:
            callback(x)
        hist.append(np.linalg.norm(r) / bnorm)
        if hist[-1] <= rtol:
            return x, 0
        z = M(r) if M else r
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x, maxiter


def cg(A, b, rtol: float = 1e-6, maxiter: int | None = None, x0=None, callback=None, history=None):
    """Plain conjugate gradients (see :func:`pcg`)."""
    return pcg(A, b, None, rtol, maxiter, x0, callback, history)


def jacobi(A: sp.spmatrix) -> Callable[[np.ndarray], np.ndarray]:
    """Jacobi preconditioner r -> D^-1 r."""
    inv = 1.0 / A.diagonal()
    return lambda r: inv * r


def ic0_grid(A: sp.spmatrix, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """Incomplete Cholesky IC(0) of a 5-/7-point grid operator, as M = (D + L) D^-1 (D + L)^T.

    For these stencils IC(0) keeps exactly the sparsity of A, and its pivots follow
    ``d_i = a_ii - sum_s a_{i,i-s}^2 / d_{i-s}`` over the lower neighbours ``s`` (1, nx, nx*ny).
    The recurrence is computed by wavefronts (all cells with the same x+y+z at once), and the two
    triangular solves by SuperLU on the already-triangular factor (no fill, natural ordering).
    """
    A = sp.csr_matrix(A)
    n = A.shape[0]
    strides = [int(np.prod(shape[k + 1:])) for k in range(len(shape))]  # C order: last axis fastest
    coords = np.indices(shape).reshape(len(shape), -1)
    plane = coords.sum(0)
    couplings = []
    for axis, s in enumerate(strides):
        c = np.zeros(n)
        c[s:] = A.diagonal(-s)
        c[coords[axis] == 0] = 0.0  # no lower neighbour across the domain edge
        couplings.append((s, c))
    d = A.diagonal().astype(float).copy()
    order = np.argsort(plane, kind="stable")
    bounds = np.searchsorted(plane[order], np.arange(plane.max() + 2))
    for p in range(1, plane.max() + 1):
        idx = order[bounds[p]:bounds[p + 1]]
        for s, c in couplings:
            ci = c[idx]
            mask = ci != 0
            d[idx[mask]] -= ci[mask] ** 2 / d[idx[mask] - s]
    if np.any(d <= 0):
        raise ValueError("IC(0) broke down (non-positive pivot): is the matrix SPD?")
    lower = (sp.tril(A, -1) + sp.diags(d)).tocsc()
    lu = spla.splu(lower, permc_spec="NATURAL", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))

    def apply(r: np.ndarray) -> np.ndarray:
        y = lu.solve(r)
        return lu.solve(d * y, trans="T")

    return apply


def amg(A: sp.spmatrix) -> Callable[[np.ndarray], np.ndarray]:
    """pyamg smoothed-aggregation V-cycle as a preconditioner (``pip install 'sciml[bench]'``)."""
    from sciml.utils import require

    pyamg = require("pyamg", extra="bench")
    ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(A))
    return ml.aspreconditioner(cycle="V")
