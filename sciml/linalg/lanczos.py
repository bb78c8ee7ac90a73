"""Lanczos with full reorthogonalisation, Ritz vectors, and DCDM's spectrum-biased training vectors."""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.linalg


def lanczos(matvec: Callable[[np.ndarray], np.ndarray], v0: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` steps of Lanczos from ``v0`` with full reorthogonalisation (twice, for safety).

    Returns ``(alpha (m,), beta (m-1,), Q (n, m))`` with ``Q^T A Q = tridiag(beta, alpha, beta)``.
    Stops early (returning fewer columns) if an invariant subspace is found.
    """
    n = v0.size
    Q = np.zeros((n, m))
    alpha, beta = np.zeros(m), np.zeros(max(m - 1, 0))
    q = v0 / np.linalg.norm(v0)
    for j in range(m):
        Q[:, j] = q
        w = matvec(q)
        alpha[j] = q @ w
        for _ in range(2):  # full reorthogonalisation against every previous vector
            w -= Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)
        if j == m - 1:
            break
        b = np.linalg.norm(w)
        if b < 1e-12 * abs(alpha[j]) + 1e-300:
            return alpha[: j + 1], beta[:j], Q[:, : j + 1]
        beta[j] = b
        q = w / b
    return alpha, beta, Q


def ritz_pairs(matvec, v0: np.ndarray, m: int, drop_below: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending) and vectors (n, k) from :func:`lanczos`; values below ``drop_below`` dropped."""
    a, b, Q = lanczos(matvec, v0, m)
    theta, S = scipy.linalg.eigh_tridiagonal(a, b)
    keep = theta > drop_below
    return theta[keep], Q @ S[:, keep]


def biased_rhs(ritz_vectors: np.ndarray, count: int, low_fraction: float = 0.55, low_weight: float = 9.0,
               rng: np.random.Generator | int = 0) -> np.ndarray:
    """Training right-hand sides ``b = sum_j c_j y_j`` (c_j ~ N(0, 1), the lowest ``low_fraction`` of the
    Ritz vectors weighted by ``low_weight``), normalised; returns (count, n).

    Low modes are what the preconditioner must capture (they dominate CG's iteration count).
    """
    rng = np.random.default_rng(rng)
    k = ritz_vectors.shape[1]
    w = np.ones(k)
    w[: int(low_fraction * k)] = low_weight
    c = rng.standard_normal((count, k)) * w
    b = c @ ritz_vectors.T
    return b / np.linalg.norm(b, axis=1, keepdims=True)
