"""Input checks and stopping rules for the linear solvers: clear errors instead of silently wrong results.

Every solver entry point in :mod:`sciml.linalg` validates its arguments with :func:`check_system` and
:func:`check_solver_args`, and runs its loop under a :class:`Monitor`, so they share scipy's semantics:
stop when ``||r|| <= max(rtol ||b||, atol)``, ``info = 0`` on convergence and ``info > 0`` (the
iterations spent, at least 1) otherwise, with a :class:`~sciml.errors.ConvergenceWarning`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.errors import ConvergenceWarning, DimensionError, LinearSystemError, NonFiniteError

STAGNATION_FACTOR = 0.5  # the best residual must halve at least once per window, or the solve stops


def _is_complex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.issubdtype(np.dtype(str(dtype).replace("torch.", "")), np.complexfloating)


def as_real_vector(b, name: str = "b") -> np.ndarray:
    """``b`` as a float64 vector; complex input is refused (casting would drop the imaginary part)."""
    if hasattr(b, "detach"):
        if b.is_complex():
            raise LinearSystemError(f"{name} is complex; the solvers take real systems (solve the real and "
                                    "imaginary parts separately, or use a complex solver)")
        b = b.detach().cpu().numpy()
    b = np.asarray(b)
    if np.iscomplexobj(b):
        raise LinearSystemError(f"{name} is complex; the solvers take real systems (solve the real and imaginary "
                                "parts separately, or use a complex solver)")
    return b.astype(np.float64).ravel()


def check_system(A, b, symmetric_probes: int = 1, rng: int = 0):
    """Validate ``A`` (square, real, symmetric: exactly for dense arrays, on random probes for sparse
    matrices and LinearOperators) and ``b`` (real, finite, matching); returns ``(A, b)`` with ``b`` a
    float64 vector. Raises :class:`~sciml.errors.LinearSystemError` for complex or non-symmetric input."""
    if not (sp.issparse(A) or isinstance(A, (spla.LinearOperator, np.ndarray))):
        raise TypeError(f"A must be a scipy sparse matrix, a LinearOperator or an array, got {type(A).__name__}")
    if len(A.shape) != 2 or A.shape[0] != A.shape[1]:
        raise DimensionError(f"A must be square, got shape {A.shape}")
    if _is_complex(A):
        raise LinearSystemError("A is complex; the solvers take real symmetric positive definite matrices")
    b = as_real_vector(b)
    if b.size != A.shape[0]:
        raise DimensionError(f"b has {b.size} entries but A is {A.shape[0]} x {A.shape[1]}")
    if not np.all(np.isfinite(b)):
        raise NonFiniteError(f"b has {int((~np.isfinite(b)).sum())} NaN/Inf entries")
    if isinstance(A, np.ndarray):
        if not np.all(np.isfinite(A)):
            raise NonFiniteError("A has NaN/Inf entries")
        if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * (np.abs(A).max() or 1.0)):
            raise LinearSystemError("A is not symmetric (A != A^T); CG, multigrid and DCDM need an SPD matrix")
    elif symmetric_probes:
        g = np.random.default_rng(rng)
        u, v = g.standard_normal(b.size), g.standard_normal(b.size)
        lhs, rhs = u @ (A @ v), v @ (A @ u)
        if not np.isfinite(lhs) or abs(lhs - rhs) > 1e-8 * (abs(lhs) + abs(rhs) + 1e-300):
            raise LinearSystemError("A is not symmetric (u^T A v != v^T A u on a random probe); CG, multigrid "
                                    "and DCDM need an SPD matrix")
    return A, b


def check_solver_args(rtol: float, atol: float, maxiter: int | None, default_maxiter: int) -> int:
    """Validate the tolerances; returns ``maxiter`` (``default_maxiter`` when None). ``maxiter = 0`` is
    kept: no iteration is run, as in scipy."""
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if maxiter is None:
        return default_maxiter
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"maxiter must be an int >= 0 or None, got {maxiter!r}")
    return int(maxiter)


class Monitor:
    """Stopping rule shared by the solvers: the tolerance, stagnation and breakdown.

    ``target = max(rtol ||b||, atol)``. :meth:`update` takes the residual norm after each iteration
    and returns True to stop. A solve that has not lowered its best residual by half within
    ``window`` iterations (a singular or inconsistent system, a preconditioner that has stopped
    helping) stops as stagnated. :meth:`info` gives scipy's code and warns when it is > 0.
    """

    def __init__(self, bnorm: float, rtol: float, atol: float, window: int, name: str, history: list | None = None):
        self.bnorm, self.name, self.window = bnorm, name, max(int(window), 1)
        self.target = max(rtol * bnorm, atol)
        self.hist = history if history is not None else []
        self.iterations, self.reason = 0, ""
        self._best, self._best_it = math.inf, 0

    def start(self, rnorm: float) -> bool:
        """Record the initial residual; True when it already meets the tolerance."""
        self.hist.append(rnorm / (self.bnorm or 1.0))
        self._best = rnorm
        return rnorm <= self.target

    def update(self, rnorm: float) -> bool:
        self.iterations += 1
        self.hist.append(rnorm / (self.bnorm or 1.0))
        if not math.isfinite(rnorm):
            self.reason = "the residual became NaN/Inf"
            return True
        if rnorm <= self.target:
            return True
        if self.iterations == 1 or rnorm < STAGNATION_FACTOR * self._best:  # CG's first step may raise ||r||
            self._best, self._best_it = rnorm, self.iterations
        elif self.iterations - self._best_it >= self.window:
            self.reason = (f"stagnated: the residual did not halve in {self.window} iterations (A singular or "
                           "very ill-conditioned, b outside its range, or a preconditioner that does not fit A?)")
            return True
        return False

    def breakdown(self, what: str) -> None:
        """Record a breakdown (e.g. p^T A p <= 0: A or the preconditioner is not positive definite)."""
        self.reason = f"broke down: {what}"

    @property
    def converged(self) -> bool:
        return not self.reason and bool(self.hist) and self.hist[-1] * (self.bnorm or 1.0) <= self.target

    def info(self, maxiter: int) -> int:
        """0 when converged; otherwise the iterations spent (at least 1) with a ConvergenceWarning."""
        if self.converged:
            return 0
        why = self.reason or f"reached maxiter = {maxiter}"
        final = self.hist[-1] if self.hist else math.nan
        warnings.warn(f"{self.name} did not converge: {why}; relative residual {final:.2e} after "
                      f"{self.iterations} iterations (info > 0)", ConvergenceWarning, stacklevel=3)
        return max(self.iterations, 1)
