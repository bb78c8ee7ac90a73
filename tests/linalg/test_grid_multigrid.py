"""The geometric multigrid (stencil operators, V-cycle, LearnedSolver) against direct solves."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.errors import ConvergenceWarning, DimensionError, LinearSystemError
from sciml.linalg import GridOperator, LearnedSolver, Multigrid, from_coefficients, mg_solve
from sciml.linalg.families import FAMILIES, make_system
from sciml.linalg.multigrid import HIGH_FREQUENCY_LOW, chebyshev_weights
from sciml.models import build_model
from sciml.pde.poisson import poisson_matrix, sphere_obstacles


@pytest.mark.parametrize("shape", [(7, 10, 9), (13, 6)])
def test_grid_operator_detected_in_csr_applies_like_it(shape):
    A = poisson_matrix(sphere_obstacles(shape, 2, rng=1))
    op = GridOperator.from_csr(A, shape)
    x = np.random.default_rng(0).standard_normal(A.shape[0])
    np.testing.assert_allclose(op.apply(torch.as_tensor(x)).numpy(), A @ x, atol=1e-12)
    assert abs(op.to_csr() - A).max() == 0


def test_matrices_outside_the_pattern_are_refused():
    A = poisson_matrix(np.zeros((6, 6), bool))
    nine = A + sp.diags([-0.1, -0.1], [7, -7], shape=A.shape)  # a diagonal neighbour: 9-point
    with pytest.raises(LinearSystemError, match="outside the 5-point pattern"):
        GridOperator.from_csr(nine, (6, 6))
    with pytest.raises(LinearSystemError, match="grid edge"):
        GridOperator.from_csr(A, (4, 9))  # same n, wrong grid: couplings wrap around rows


def test_from_coefficients_matches_hand_assembly():
    """2 x 2 cells, k = [[1, 3], [1, 1]], Dirichlet on x-: harmonic face means, 2 k on the open face."""
    A = from_coefficients(np.array([[1.0, 3.0], [1.0, 1.0]]), dirichlet=("x-",)).to_csr().toarray()
    expected = np.array([[4.5, -1.5, -1.0, 0.0],
                         [-1.5, 3.0, 0.0, -1.5],
                         [-1.0, 0.0, 4.0, -1.0],
                         [0.0, -1.5, -1.0, 2.5]])
    np.testing.assert_allclose(A, expected)
    solid = np.array([[False, True], [False, False]])  # a Dirichlet-walled solid cell: +2 k on its faces
    B = from_coefficients(np.ones((2, 2)), solid, solid_wall="dirichlet").to_csr().toarray()
    np.testing.assert_allclose(B, [[3, 0, -1, 0], [0, 1, 0, 0], [-1, 0, 2, -1], [0, 0, -1, 3]])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(20, 17, 23), (45, 38)])
def test_multigrid_pcg_matches_direct_solve(family, shape):
    """Every family (both wall types, log-normal and 1e8-contrast inclusions), non-power-of-two grids."""
    A, b, _ = make_system(family, shape, seed=3)
    x_ref = spla.spsolve(A.tocsc(), b)
    hist = []
    x, info = mg_solve(A, b, grid_shape=shape, rtol=1e-9, history=hist, coarsest=16)
    assert info == 0
    assert np.linalg.norm(x - x_ref) <= 1e-6 * np.linalg.norm(x_ref)
    # a working V-cycle (pyamg SA-PCG: 5-8 iterations to 1e-6, 12-20 on inclusions); CG needs hundreds
    assert len(hist) - 1 <= (45 if family == "inclusions" else 25)


def test_vcycle_is_symmetric_positive_definite_and_transfers_adjoint():
    A, _, _ = make_system("inclusions", (19, 17, 16), seed=0)
    mg = Multigrid(GridOperator.from_csr(A, (19, 17, 16)), dtype=torch.float64, coarsest=8)
    assert len(mg.levels) >= 3
    g = torch.Generator().manual_seed(0)
    u, v = (torch.randn(A.shape[0], dtype=torch.float64, generator=g) for _ in range(2))
    assert abs(u @ mg.vcycle(v) - v @ mg.vcycle(u)) <= 1e-10 * abs(u @ mg.vcycle(v))
    assert u @ mg.vcycle(u) > 0
    c, f = torch.randn(mg.shapes[1], dtype=torch.float64), torch.randn(mg.shapes[0], dtype=torch.float64)
    assert abs((mg.prolong(0, c) * f).sum() - (c * mg.restrict(0, f)).sum()) < 1e-10


@pytest.mark.parametrize("small, large", [((32, 32, 32), (64, 64, 64)), ((128, 128), (256, 256))])
def test_iterations_stay_flat_as_the_grid_grows(small, large):
    its = []
    for shape in (small, large):
        A, b, _ = make_system("obstacles", shape, seed=1)
        hist = []
        mg_solve(A, b, grid_shape=shape, rtol=1e-6, history=hist)
        its.append(len(hist) - 1)
    assert its[1] <= 1.3 * its[0], its  # measured 10 -> 12 (3-D); CG's count doubles per doubling


def test_solver_reuse_update_and_scipy_preconditioner():
    shape = (12, 14, 16)
    A1, b1, _ = make_system("obstacles", shape, seed=0)
    A2, b2, _ = make_system("lognormal", shape, seed=1)
    solver = LearnedSolver(A1, grid_shape=shape)
    for b in (b1, np.roll(b1, 7)):
        x, info = solver.solve(b)
        assert info == 0 and np.linalg.norm(A1 @ x - b) <= 1e-6 * np.linalg.norm(b)
    solver.update(A2)
    x, info = solver.solve(b2, rtol=1e-10)
    np.testing.assert_allclose(x, spla.spsolve(A2.tocsc(), b2), rtol=1e-7, atol=1e-9)
    with pytest.raises(DimensionError):
        solver.update(poisson_matrix(np.zeros((12, 14, 15), bool)))
    its = []
    _, info = spla.cg(A2, b2, rtol=1e-8, M=solver.aspreconditioner(), callback=lambda _x: its.append(1))
    assert info == 0 and len(its) <= 25
    xt, _ = solver.solve(torch.as_tensor(b2))  # torch in, torch out
    assert torch.is_tensor(xt) and np.allclose(xt.numpy(), x, atol=1e-5)


def test_singular_system_stops_with_a_warning():
    """Pure Neumann (no open face) with a right-hand side outside the range: no solution exists."""
    A = from_coefficients(np.ones((16, 16))).to_csr()
    b = 1.0 + 0.1 * np.random.default_rng(0).standard_normal(256)  # has a null-space (constant) part
    with pytest.warns(ConvergenceWarning, match="stagnated|broke down"):
        x, info = mg_solve(A, b, grid_shape=(16, 16), maxiter=1000)
    assert 0 < info < 100


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_multigrid_on_cuda_matches_cpu():
    shape = (24, 24, 24)
    A, b, _ = make_system("inclusions", shape, seed=0)
    x_cpu, _ = mg_solve(A, b, grid_shape=shape)
    h = []
    x_gpu, info = mg_solve(A, torch.as_tensor(b, device="cuda"), grid_shape=shape, device="cuda", history=h)
    assert info == 0 and x_gpu.is_cuda and len(h) < 30
    np.testing.assert_allclose(x_gpu.cpu().numpy(), x_cpu, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_plain_cg_on_a_large_poisson_system_is_not_called_stagnated():
    """CG's residual plateaus for 500+ iterations on the 1024^2 constant family before converging; the
    stagnation window grows with the problem, so plain CG reaches rtol 1e-6 with info 0."""
    import warnings

    from sciml.linalg.families import make_system
    from sciml.linalg.krylov import cg

    A, b, _ = make_system("constant", (1024, 1024), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning fails the test
        x, info = cg(A, b, rtol=1e-6)
    assert info == 0
    assert np.linalg.norm(b - A @ x) <= 1e-6 * np.linalg.norm(b) * (1 + 1e-9)


@pytest.mark.parametrize("dim", [2, 3])
def test_chebyshev_weights_are_the_reciprocal_roots_and_bounded_on_the_spectrum(dim):
    lo = HIGH_FREQUENCY_LOW[dim]
    assert chebyshev_weights(dim, 1) == pytest.approx([0.8 if dim == 2 else 6 / 7])  # classical damped Jacobi
    for sweeps in (2, 3):
        w = np.array(chebyshev_weights(dim, sweeps))
        mu = np.linspace(0.0, lo + 2, 2001)
        p = np.prod(1 - np.outer(mu, w), axis=1)
        assert np.abs(p).max() <= 1 + 1e-12  # a contraction on [0, lo + 2]: the cycle stays SPD
        high = (mu >= lo) & (mu <= 2)
        # the Chebyshev bound 1 / T_k((2 + lo) / (2 - lo)) on the high frequencies ...
        x = (2 + lo) / (2 - lo)
        bound = 1 / np.cosh(sweeps * np.arccosh(x))
        assert np.abs(p[high]).max() == pytest.approx(bound, rel=1e-3)
        # ... below what the same number of damped-Jacobi steps leaves there
        w1 = chebyshev_weights(dim, 1)[0]
        assert bound < 0.75 * np.abs(1 - w1 * mu[high]).max() ** sweeps


def test_chebyshev_steps_save_iterations_over_damped_jacobi():
    shape = (64, 64, 64)
    A, b, _ = make_system("obstacles", shape, seed=0)
    op = GridOperator.from_csr(A, shape)
    its = {}
    for name, omega in (("chebyshev", None), ("jacobi", 6 / 7)):
        hist = []
        mg_solve(op, b, rtol=1e-6, history=hist, omega=omega)
        its[name] = len(hist) - 1
    assert its["chebyshev"] <= its["jacobi"] - 2, its  # measured 9 against 11


def test_learned_weights_at_their_bound_keep_the_cycle_spd():
    """The network's smoother weights are < 1; at that bound each Chebyshev step weight is scaled by
    1 / omega. Each smoothing pass must still contract in the A-norm, which keeps the V-cycle's M^-1
    symmetric positive definite whatever the coarse-correction weights (here at their bound, 2; the
    intermediate coarse operators are rediscretised, not Galerkin, so M^-1 A's spectrum is not
    confined to (0, 1])."""
    shape = (9, 8, 7)
    A, _, _ = make_system("inclusions", shape, seed=0)
    net = build_model("mg_smoother", dim=3, channels=4, outputs=2)
    torch.nn.init.constant_(net.head.bias, 30.0)  # sigmoid -> 1 - 1e-13: w -> 1, alpha -> 2 in every cell
    mg = Multigrid(GridOperator.from_csr(A, shape), dtype=torch.float64, coarsest=4, smoother=net)
    assert len(mg.levels) >= 4 and float(mg.weights[0].min()) > 0.999 and float(mg.corrections[0].min()) > 1.999
    Minv = torch.stack([mg.vcycle(e) for e in torch.eye(A.shape[0], dtype=torch.float64)]).numpy()
    np.testing.assert_allclose(Minv, Minv.T, atol=1e-10 * np.abs(Minv).max())
    assert np.linalg.eigvalsh((Minv + Minv.T) / 2).min() > 0
    eig = np.linalg.eigvals(Minv @ A.toarray())
    assert np.abs(eig.imag).max() < 1e-8 and eig.real.min() > 0


@pytest.mark.parametrize("family, shape", [("obstacles", (20, 18, 17)), ("inclusions", (40, 36))])
def test_coarsest_matrix_is_the_galerkin_product(family, shape):
    A, _, _ = make_system(family, shape, seed=2)
    mg = Multigrid(GridOperator.from_csr(A, shape), dtype=torch.float64, coarsest=64)
    i, coarse = len(mg.levels) - 2, mg.shapes[-1]
    assert i >= 1
    nc = int(np.prod(coarse))
    P = np.stack([mg.prolong(i, e.reshape(coarse)).reshape(-1).numpy().copy()
                  for e in torch.eye(nc, dtype=torch.float64)], axis=1)  # column by column, the cycle's own path
    galerkin = P.T @ mg.levels[i].cycle_op.to_csr().toarray() @ P  # rediscretised (3-D) or Galerkin (2-D jumps)
    empty = np.abs(P).sum(axis=0) == 0
    galerkin[empty, empty] = 1.0  # coarse cells with no fine support keep an identity row
    np.testing.assert_allclose(mg._coarsest_matrix().numpy(), galerkin, rtol=1e-12, atol=1e-12)
    assert np.linalg.eigvalsh(galerkin).min() > 0  # factored by Cholesky, not the pseudo-inverse
