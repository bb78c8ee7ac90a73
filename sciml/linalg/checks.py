"""Input checks for linear solvers: clear errors instead of silently wrong results."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.errors import DimensionError, NonFiniteError, SchemaError


def check_system(A, b, symmetric_probes: int = 1, rng: int = 0):
    """Validate ``A`` (square; symmetric on random probes when cheap) and ``b`` (finite, matching);
    returns ``(A, b)`` with ``b`` a float64 vector."""
    if not (sp.issparse(A) or isinstance(A, (spla.LinearOperator, np.ndarray))):
        raise TypeError(f"A must be a scipy sparse matrix, a LinearOperator or an array, got {type(A).__name__}")
    if A.shape[0] != A.shape[1]:
        raise DimensionError(f"A must be square, got shape {A.shape}")
    b = np.asarray(b, dtype=float).ravel()
    if b.size != A.shape[0]:
        raise DimensionError(f"b has {b.size} entries but A is {A.shape[0]} x {A.shape[1]}")
    if not np.all(np.isfinite(b)):
        raise NonFiniteError(f"b has {int((~np.isfinite(b)).sum())} NaN/Inf entries")
    if (sp.issparse(A) or isinstance(A, spla.LinearOperator)) and symmetric_probes:
        g = np.random.default_rng(rng)
        u, v = g.standard_normal(b.size), g.standard_normal(b.size)
        lhs, rhs = u @ (A @ v), v @ (A @ u)
        if abs(lhs - rhs) > 1e-8 * (abs(lhs) + abs(rhs) + 1e-300):
            raise SchemaError("A is not symmetric (u^T A v != v^T A u on a random probe); CG/DCDM need an SPD matrix")
    return A, b
