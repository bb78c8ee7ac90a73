"""Conjugate gradients with optional preconditioning, in the shape of ``scipy.sparse.linalg.cg``.

``x, info = cg(A, b, rtol=1e-6)``: ``info = 0`` on convergence, ``> 0`` the iteration count when
``maxiter`` ran out, the solve stagnated or broke down (``x`` is then the last iterate, and a
:class:`~sciml.errors.ConvergenceWarning` is issued), as in scipy. ``history`` (a list you pass)
receives ``||r_k|| / ||b||`` per iteration, starting with the initial residual.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.errors import DimensionError
from sciml.linalg.checks import Monitor, as_real_vector, check_solver_args, check_system
from sciml.utils import require

# CG's residual is not monotone and may plateau for long stretches on large, ill-conditioned systems: on a
# 1024^2 Poisson matrix it went 500 iterations without halving and then converged. The window grows with
# the problem as 4 sqrt(n) (CG needs O(sqrt(condition)) ~ O(grid side) iterations on grid Laplacians), never
# below 500; a singular or inconsistent system still stops after that many iterations, not after 10 n.
STAGNATION_WINDOW = 500


def stagnation_window(n: int) -> int:
    """Iterations without a halving of the residual after which a Krylov solve of ``n`` unknowns stops."""
    return max(STAGNATION_WINDOW, 4 * math.isqrt(n))


def pcg(A, b: np.ndarray, M: Callable[[np.ndarray], np.ndarray] | None = None, rtol: float = 1e-6,
        maxiter: int | None = None, x0: np.ndarray | None = None, callback: Callable | None = None,
        history: list | None = None, atol: float = 0.0) -> tuple[np.ndarray, int]:
    """Preconditioned CG for SPD ``A`` (sparse matrix, dense array or LinearOperator); ``M(r)`` applies M^-1.

    Stops when ``||r|| <= max(rtol ||b||, atol)``; ``maxiter`` defaults to 10 n as in scipy, and a solve
    whose residual has not halved in ``max(STAGNATION_WINDOW, 4 sqrt(n))`` iterations stops (see
    :class:`~sciml.linalg.checks.Monitor`). ``maxiter = 0`` runs no iteration."""
    A, b = check_system(A, b)
    n = b.size
    maxiter = check_solver_args(rtol, atol, maxiter, 10 * n)
    x = np.zeros(n) if x0 is None else as_real_vector(x0, "x0").copy()
    if x.size != n:
        raise DimensionError(f"x0 has {x.size} entries but A is {n} x {n}")
    if not b.any():  # scipy: the solution of A x = 0 is 0
        return np.zeros(n), 0
    r = b - A @ x
    mon = Monitor(float(np.linalg.norm(b)), rtol, atol, stagnation_window(n), "pcg" if M else "cg", history)
    if mon.start(float(np.linalg.norm(r))) or maxiter == 0:
        return x, mon.info(maxiter)
    z = M(r) if M else r
    p = z.copy()
    rz = r @ z
    for _ in range(maxiter):
        Ap = A @ p
        pAp = p @ Ap
        if not pAp > 0:
            mon.breakdown(f"p^T A p = {pAp:.3g} <= 0 (A is not positive definite)")
            break
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        if callback is not None:
            callback(x)
        if mon.update(float(np.linalg.norm(r))):
            break
        z = M(r) if M else r
        rz_new = r @ z
        if not rz_new > 0:
            mon.breakdown(f"r^T M^-1 r = {rz_new:.3g} <= 0 (the preconditioner is not positive definite)")
            break
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x, mon.info(maxiter)


def cg(A, b, rtol: float = 1e-6, maxiter: int | None = None, x0=None, callback=None, history=None,
       atol: float = 0.0):
    """Plain conjugate gradients (see :func:`pcg`)."""
    return pcg(A, b, None, rtol, maxiter, x0, callback, history, atol)


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
    pyamg = require("pyamg", extra="bench")
    ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(A))
    return ml.aspreconditioner(cycle="V")
