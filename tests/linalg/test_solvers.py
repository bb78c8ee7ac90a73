import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.errors import DimensionError, NonFiniteError, SchemaError
from sciml.linalg import amg, cg, dcdm_solve, ic0_grid, lanczos, pcg, ritz_pairs
from sciml.models import build_model
from sciml.pde.poisson import poisson_matrix, rhs_divergence, sphere_obstacles


@pytest.fixture(scope="module")
def problem():
    solid = sphere_obstacles((12, 12, 12), 2, rng=1)
    A = poisson_matrix(solid)
    return A, rhs_divergence(solid, 0).ravel(), solid


def test_cg_matches_scipy_and_preconditioners_cut_iterations(problem):
    A, b, solid = problem
    x_ref = spla.spsolve(A.tocsc(), b)
    its = {}
    for name, M in [("cg", None), ("jacobi", None), ("ic0", ic0_grid(A, solid.shape)), ("amg", amg(A))]:
        h = []
        x, info = pcg(A, b, M, rtol=1e-8, history=h)
        assert info == 0 and np.linalg.norm(x - x_ref) < 1e-6 * np.linalg.norm(x_ref)
        its[name] = len(h) - 1
    assert its["ic0"] < 0.6 * its["cg"] and its["amg"] < 0.2 * its["cg"]


def test_ic0_is_exact_for_tridiagonal():
    """IC(0) of a tridiagonal SPD matrix is its exact Cholesky factorisation: PCG converges in 1 step."""
    n = 30
    A = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(n, n)).tocsr()
    b = np.random.default_rng(0).standard_normal(n)
    h = []
    pcg(A, b, ic0_grid(A, (n,)), rtol=1e-12, history=h)
    assert len(h) - 1 == 1


def test_maxiter_returns_info_and_best_x(problem):
    A, b, _ = problem
    x, info = cg(A, b, rtol=1e-12, maxiter=5)
    assert info == 5 and np.isfinite(x).all()
    x, info = dcdm_solve(A, b, model="identity", rtol=1e-12, maxiter=5)
    assert info == 5 and np.linalg.norm(b - A @ x) < np.linalg.norm(b)


def test_identity_dcdm_reproduces_cg(problem):
    A, b, _ = problem
    xs_cg, xs_dc = [], []
    cg(A, b, rtol=1e-10, maxiter=25, callback=lambda x: xs_cg.append(x.copy()))
    dcdm_solve(A, b, model="identity", rtol=1e-10, maxiter=25, callback=lambda x: xs_dc.append(x.copy()))
    for a, c in zip(xs_cg, xs_dc):
        np.testing.assert_allclose(c, a, rtol=1e-7, atol=1e-10)


def test_dcdm_directions_are_A_orthogonal(problem):
    A, b, solid = problem
    torch.manual_seed(0)
    net = build_model("dcdm", dim=3, channels=4, blocks=1)
    xs = [np.zeros(b.size)]
    dcdm_solve(A, b, model=net, rtol=1e-12, maxiter=6, k=2, callback=lambda x: xs.append(x.copy()))
    P = np.diff(np.stack(xs), axis=0)  # alpha_k q_k
    for i in range(1, len(P)):
        for j in (i - 1, i - 2):
            if j >= 0:
                rel = abs(P[i] @ (A @ P[j])) / np.sqrt((P[i] @ (A @ P[i])) * (P[j] @ (A @ P[j])))
                assert rel < 1e-8


def test_bad_input_errors(problem):
    A, b, _ = problem
    with pytest.raises(DimensionError, match="square"):
        dcdm_solve(sp.random(5, 6, density=0.5, format="csr"), np.ones(5))
    with pytest.raises(SchemaError, match="not symmetric"):
        dcdm_solve(sp.csr_matrix(np.triu(np.ones((8, 8)))), np.ones(8), model="identity")
    bad = b.copy()
    bad[3] = np.nan
    with pytest.raises(NonFiniteError):
        dcdm_solve(A, bad, model="identity")
    with pytest.raises(DimensionError, match="perfect cube"):
        dcdm_solve(sp.identity(10, format="csr"), np.ones(10), model=build_model("dcdm", dim=3, channels=2, blocks=1))
    with pytest.raises(DimensionError, match="model is 2-D"):
        dcdm_solve(A, b, model=build_model("dcdm", dim=2, channels=2, blocks=1), grid_shape=(12, 12, 12))


def test_lanczos_orthogonality_and_ritz_values():
    eig = np.geomspace(1e-3, 1.0, 120)  # well-separated extremes, like a Poisson spectrum's low end
    A = sp.diags(eig).tocsr()
    v0 = np.random.default_rng(0).standard_normal(eig.size)
    a, bt, Q = lanczos(lambda v: A @ v, v0, 60)
    np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-10)  # full reorthogonalisation
    theta, Y = ritz_pairs(lambda v: A @ v, v0, 60)
    assert abs(theta[-1] - eig[-1]) < 1e-8 and eig[0] <= theta[0] < 2 * eig[0]  # extremes converge first
    assert np.linalg.norm(A @ Y[:, -1] - theta[-1] * Y[:, -1]) < 1e-4  # a converged Ritz vector is an eigenvector
    full, _ = ritz_pairs(lambda v: A @ v, v0, eig.size, drop_below=0)
    np.testing.assert_allclose(full, eig, rtol=1e-7)


def test_operator_forms_agree(problem):
    """scipy CSR, a LinearOperator and a matrix-free torch callable give the same DCDM iterates."""
    from sciml.pde.poisson import apply_poisson

    A, b, solid = problem
    st = torch.as_tensor(solid)[None]
    torch_op = lambda v: apply_poisson(v.reshape(1, *solid.shape), st).reshape(-1)  # noqa: E731
    xs = [dcdm_solve(op, b, model="identity", rtol=1e-9)[0]
          for op in (A, spla.aslinearoperator(A), torch_op)]
    for x in xs[1:]:
        np.testing.assert_allclose(x, xs[0], rtol=1e-8, atol=1e-12)
    assert np.linalg.norm(b - A @ xs[0]) <= 1e-9 * np.linalg.norm(b)
    with pytest.raises(SchemaError, match="not symmetric"):
        dcdm_solve(spla.aslinearoperator(sp.csr_matrix(np.triu(np.ones((8, 8))))), np.ones(8), model="identity")
