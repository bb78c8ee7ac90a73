"""Bad arguments to every solver entry point in sciml.linalg: scipy's semantics or a clear error.

One table: (case, solver, arguments) -> the exception raised, or (info > 0 and a ConvergenceWarning),
or a converged result. Solvers: cg, pcg (Jacobi), dcdm_solve (identity model: the loop without a
network), mg_solve (multigrid-PCG) and LearnedSolver.solve.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sciml.errors import ConvergenceWarning, DimensionError, LinearSystemError, NonFiniteError
from sciml.linalg import LearnedSolver, cg, dcdm_solve, jacobi, mg_solve, pcg
from sciml.linalg.stencil import from_coefficients
from sciml.pde.poisson import poisson_matrix, rhs_divergence

SHAPE = (8, 8)
A = poisson_matrix(np.zeros(SHAPE, bool))  # SPD, open top
B = rhs_divergence(np.zeros(SHAPE, bool), 0).ravel()
SINGULAR = from_coefficients(np.ones(SHAPE)).to_csr()  # pure Neumann: constants are in the null space
B_OFF_RANGE = 1.0 + 0.1 * np.random.default_rng(0).standard_normal(B.size)
INDEFINITE = A - 1.0 * sp.identity(A.shape[0], format="csr")  # symmetric with negative eigenvalues
NONSYM = A + sp.csr_matrix(([0.5], ([0], [1])), shape=A.shape)

SOLVERS = {
    "cg": lambda A, b, **kw: cg(A, b, **kw),
    "pcg": lambda A, b, **kw: pcg(A, b, jacobi(A) if sp.issparse(A) else None, **kw),
    "dcdm": lambda A, b, **kw: dcdm_solve(A, b, model="identity", **kw),
    "mg_solve": lambda A, b, **kw: mg_solve(A, b, grid_shape=SHAPE, **kw),
    "LearnedSolver": lambda A, b, **kw: LearnedSolver(A, grid_shape=SHAPE).solve(b, **kw),
}

# (case id, A, b, keyword arguments, expectation): an exception class, "warn" (info > 0 with a
# ConvergenceWarning), or "ok" (info == 0)
CASES = [
    ("maxiter=0 runs no iteration", A, B, {"maxiter": 0}, "warn"),
    ("complex b", A, B + 1j, {}, LinearSystemError),
    ("complex A", A.astype(complex), B, {}, LinearSystemError),
    ("dense non-symmetric A", NONSYM.toarray(), B, {}, LinearSystemError),
    ("sparse non-symmetric A", NONSYM, B, {}, LinearSystemError),
    ("singular, b outside the range", SINGULAR, B_OFF_RANGE, {"maxiter": 5000}, "warn"),
    ("indefinite A breaks down", INDEFINITE, B, {"maxiter": 5000}, "warn"),
    ("NaN in b", A, np.where(np.arange(B.size) == 3, np.nan, B), {}, NonFiniteError),
    ("b of the wrong size", A, B[:-1], {}, DimensionError),
    ("x0 of the wrong size", A, B, {"x0": np.zeros(5)}, DimensionError),
    ("negative rtol", A, B, {"rtol": -1e-6}, ValueError),
    ("NaN atol", A, B, {"atol": float("nan")}, ValueError),
    ("negative maxiter", A, B, {"maxiter": -1}, ValueError),
    ("fractional maxiter", A, B, {"maxiter": 2.5}, ValueError),
    ("maxiter too small to converge", A, B, {"maxiter": 1, "rtol": 1e-12}, "warn"),
    ("atol met by the initial guess", A, B, {"atol": 10.0}, "ok"),
    ("zero b gives zero x", A, np.zeros(B.size), {}, "ok"),
]


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("case, A_, b, kwargs, expect", CASES, ids=[c[0] for c in CASES])
def test_solver_arguments(solver, case, A_, b, kwargs, expect):
    run = SOLVERS[solver]
    if isinstance(expect, type):
        with pytest.raises(expect):
            run(A_, b, **kwargs)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, info = run(A_, b, **kwargs)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert np.isfinite(x).all()
    if expect == "ok":
        assert info == 0 and not convergence
        if not np.any(b):
            assert not np.any(x)
        if case.startswith("atol"):
            assert not np.any(x)  # no iteration was needed: x is the zero initial guess
    else:
        assert info > 0 and convergence, (info, [str(w.message) for w in caught])
        if "maxiter" in kwargs and kwargs["maxiter"] == 0:
            assert not np.any(x)  # no iteration ran
        if case.startswith(("singular", "indefinite")):
            assert info < 600  # stopped by stagnation/breakdown, not by running out maxiter = 5000
