"""The 2-D Galerkin coarse operators: the 5x5 operator's products, the Galerkin product against a dense
P^T A P, the smoothing diagonal's spectrum bound, and the hierarchy that uses them where coefficients jump."""
import numpy as np
import pytest
import torch

from sciml.linalg import GridOperator, Multigrid, stencil_kernels
from sciml.linalg.box_stencil import BLOCK, OFFSETS, BoxOperator, galerkin
from sciml.linalg.families import make_system
from sciml.linalg.krylov import pcg
from sciml.linalg.learned_vcycle import functional_cycle, load_shipped_smoother
from sciml.linalg.multigrid import JUMP_GALERKIN, coefficient_jump


def _dense_prolongation(transfer, coarse_shape):
    nc = int(np.prod(coarse_shape))
    basis = torch.eye(nc, dtype=transfer.active.dtype).reshape(nc, *coarse_shape)
    return transfer.prolong_functional(basis).reshape(nc, -1).double().numpy().T  # (fine, coarse)


def _hierarchy(family, shape, seed=1, **kw):
    A, b, _ = make_system(family, shape, seed=seed)
    return A, b, Multigrid(GridOperator.from_csr(A, shape), dtype=torch.float64, coarsest=4, **kw)


@pytest.mark.parametrize("family, shape", [("inclusions", (13, 11)), ("obstacles_dirichlet", (16, 20)),
                                           ("lognormal", (9, 14)), ("obstacles", (6, 2 * BLOCK + 13))])
def test_galerkin_operator_is_the_dense_product_on_every_level(family, shape):
    """Odd sizes, solids with both wall types, and more coarse columns than one kernel block."""
    _, _, mg = _hierarchy(family, shape, coarse="galerkin")
    assert len(mg.levels) >= 3
    for fine, coarse in zip(mg.levels[:-1], mg.levels[1:]):
        P = _dense_prolongation(fine.transfer, coarse.op.shape)
        expected = P.T @ fine.cycle_op.to_csr().toarray() @ P
        empty = np.diag(expected) == 0
        expected[empty, empty] = 1.0  # a coarse cell with no fine support keeps an identity row
        got = galerkin(fine.cycle_op, fine.transfer, coarse.op.shape, torch.float64)
        assert isinstance(got, BoxOperator) and isinstance(coarse.cycle_op, BoxOperator)
        np.testing.assert_allclose(got.to_csr().toarray(), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_galerkin_hierarchy_takes_the_nets_smoother_weights_only():
    """Its coarse corrections are already A-orthogonal projections: the correction weights, learned
    to repair rediscretised operators, are not applied (ADR 0106)."""
    net = load_shipped_smoother(2)
    _, _, mg = _hierarchy("inclusions", (24, 20), smoother=net, coarse="galerkin")
    assert mg.corrections is None and float(mg.weights[0].std()) > 1e-3
    torch.testing.assert_close(mg.levels[0].transfer.active, mg.levels[0].active.double())
    _, _, rediscretised = _hierarchy("inclusions", (24, 20), smoother=net, coarse="rediscretised")
    assert rediscretised.corrections is not None
    torch.testing.assert_close(mg.weights[0], rediscretised.weights[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_box_operator_products_agree(dtype):
    torch.manual_seed(0)
    shape = (9, 12)
    B = BoxOperator(torch.rand(shape, dtype=dtype) + 4.0, torch.randn(len(OFFSETS), *shape, dtype=dtype))
    M = B.to_csr()
    np.testing.assert_allclose(M.toarray(), M.toarray().T)  # symmetric by construction
    x, b, w = (torch.randn(shape, dtype=dtype) for _ in range(3))
    Ax = torch.as_tensor(M @ x.double().numpy().ravel()).reshape(shape)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(B.apply(x).double(), Ax, **tol)
    with torch.no_grad():
        x_grad = x.clone().requires_grad_()
    assert B.apply(x_grad).requires_grad  # the torch loop keeps autograd
    for mode, expected in [(stencil_kernels.APPLY, Ax), (stencil_kernels.RESIDUAL, b.double() - Ax),
                           (stencil_kernels.JACOBI, x.double() + w.double() * (b.double() - Ax))]:
        y = torch.empty_like(x)
        B.pass_into(mode, x, y, b, w)
        torch.testing.assert_close(y.double(), expected, **tol)


def test_smoothing_diagonal_bounds_the_jacobi_spectrum_by_two():
    """Galerkin operators at 1e8 contrast have positive off-diagonal entries, so D^-1 A can exceed 2;
    the smoothing diagonal keeps it in [0, 2], where the Chebyshev weights assume it."""
    _, _, mg = _hierarchy("inclusions", (32, 28), coarse="galerkin")
    B = mg.levels[1].cycle_op
    A = B.to_csr().toarray()
    assert (A - np.diag(np.diag(A))).max() > 0  # positive couplings exist
    assert np.linalg.eigvals(A / np.diag(A)[:, None]).real.max() > 2.0  # plain Jacobi would amplify
    D = B.smoothing_diagonal().numpy().ravel()
    assert (D >= np.diag(A) - 1e-15).all()
    lam = np.linalg.eigvals(A / D[:, None]).real
    assert lam.min() > -1e-10 and lam.max() <= 2.0 + 1e-10


def test_default_coarse_operators_follow_the_coefficient_jump():
    constant = GridOperator.from_csr(make_system("obstacles_dirichlet", (40, 36))[0], (40, 36))
    smooth = GridOperator.from_csr(make_system("lognormal", (64, 64))[0], (64, 64))
    jumps = GridOperator.from_csr(make_system("inclusions", (40, 36))[0], (40, 36))
    assert coefficient_jump(constant) == 1.0 and coefficient_jump(smooth) < JUMP_GALERKIN < coefficient_jump(jumps)
    assert Multigrid(constant).coarse == Multigrid(smooth).coarse == "rediscretised"
    assert Multigrid(jumps).coarse == "galerkin"
    cube = GridOperator.from_csr(make_system("inclusions", (12, 10, 8))[0], (12, 10, 8))
    assert Multigrid(cube).coarse == "rediscretised"
    with pytest.raises(ValueError, match="2-D only"):
        Multigrid(cube, coarse="galerkin")
    with pytest.raises(ValueError, match="coarse must be one of"):
        Multigrid(constant, coarse="algebraic")


@pytest.mark.parametrize("smoother", [False, True])
def test_galerkin_cycle_is_a_symmetric_positive_definite_preconditioner(smoother):
    A, _, mg = _hierarchy("inclusions", (18, 16), coarse="galerkin",
                          smoother=load_shipped_smoother(2) if smoother else None)
    assert len(mg.levels) >= 3
    Minv = torch.stack([mg.vcycle(e) for e in torch.eye(A.shape[0], dtype=torch.float64)]).numpy()
    np.testing.assert_allclose(Minv, Minv.T, atol=1e-10 * np.abs(Minv).max())
    assert np.linalg.eigvalsh((Minv + Minv.T) / 2).min() > 0


def test_galerkin_keeps_the_inclusion_count_flat_where_rediscretisation_grows():
    """The 1e8-contrast inclusions: the rediscretised hierarchy's count grows with the grid; the
    Galerkin one stays a V-cycle's (ADR 0106)."""
    counts = {}
    for n in (64, 256):
        A, b, _ = make_system("inclusions", (n, n), seed=0)
        op = GridOperator.from_csr(A, (n, n))
        for coarse in ("galerkin", "rediscretised"):
            mg = Multigrid(op, coarse=coarse)
            history = []
            _, info = pcg(A, b, M=lambda r, mg=mg: mg.vcycle(torch.as_tensor(r)).numpy(), rtol=1e-6, maxiter=200,
                          history=history)
            assert info == 0
            counts[coarse, n] = len(history)
    assert counts["galerkin", 256] <= 10 and counts["galerkin", 256] <= counts["galerkin", 64] + 2
    assert counts["rediscretised", 256] >= 2 * counts["galerkin", 256]


def test_functional_cycle_refuses_a_galerkin_hierarchy():
    _, b, mg = _hierarchy("inclusions", (16, 16), coarse="galerkin")
    with pytest.raises(ValueError, match="rediscretised"):
        functional_cycle(mg, mg.weights, torch.as_tensor(b).reshape(16, 16))


def test_galerkin_cycle_torch_path_equals_the_fused_kernels(monkeypatch):
    """The torch loops (the path on CUDA, and without numba's kernels) give the fused CPU cycle."""
    _, _, mg = _hierarchy("inclusions", (30, 26), coarse="galerkin")
    r = torch.randn(30, 26, dtype=torch.float64)
    fused = mg.vcycle(r)
    monkeypatch.setattr(stencil_kernels, "available", lambda *tensors: not tensors)  # no kernel serves a tensor
    torch.testing.assert_close(mg.vcycle(r), fused, rtol=1e-10, atol=1e-12)
