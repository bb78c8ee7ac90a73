"""The learned V-cycle: same cycle as the fixed one with learned weights, SPD, converging solves,
and the warnings for matrices outside its training families."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.errors import ConvergenceWarning
from sciml.linalg import GridOperator, LearnedSolver, Multigrid
from sciml.linalg.families import make_system
from sciml.linalg.learned_vcycle import functional_cycle, load_shipped_smoother
from sciml.models import build_model


@pytest.mark.parametrize("outputs", [1, 2])
def test_functional_cycle_equals_the_in_place_cycle(outputs):
    shape = (13, 11, 9)
    A, _, _ = make_system("obstacles_dirichlet", shape, seed=2)
    torch.manual_seed(0)
    net = build_model("mg_smoother", dim=3, channels=4, outputs=outputs)
    torch.nn.init.normal_(net.head.weight, std=3.0)  # weights that vary from cell to cell
    torch.nn.init.normal_(net.body[0].weight, std=3.0)
    mg = Multigrid(GridOperator.from_csr(A, shape), dtype=torch.float64, coarsest=8, smoother=net)
    assert float(mg.weights[0].std()) > 1e-3
    if outputs == 2:
        assert len(mg.corrections) == len(mg.levels) - 2 >= 2 and float(mg.corrections[0].std()) > 1e-3
    else:
        assert mg.corrections is None
    b = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(functional_cycle(mg, mg.weights, b, mg.corrections), mg.vcycle(b),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dim, outputs", [(2, 1), (3, 2)])
def test_per_cell_rows_equal_the_net_bit_for_bit(dim, outputs):
    """The chunked per-cell evaluation the setup uses is the forward pass, chunk boundaries included."""
    torch.manual_seed(1)
    net = build_model("mg_smoother", dim=dim, channels=6, outputs=outputs)
    torch.nn.init.normal_(net.head.weight, std=3.0)
    rows = torch.rand(1000, 2 * dim + 2)
    with torch.no_grad():
        full = net(rows.T.reshape(1, 2 * dim + 2, 1000, *([1] * (dim - 1))))[0].reshape(outputs, 1000).T
    chunked = net.per_cell(rows, chunk=96)  # 1000 = 10 full chunks and a partial one
    assert chunked.shape == (1000, outputs) and float(chunked.std()) > 1e-3
    assert torch.equal(chunked, full)
    with pytest.raises(ValueError, match="kernel=1"):
        build_model("mg_smoother", dim=dim, kernel=3).per_cell(rows)


@pytest.mark.parametrize("dim, shape", [(2, (60, 52)), (3, (20, 18, 22))])
def test_shipped_learned_vcycle_is_spd_and_solves(dim, shape):
    A, b, _ = make_system("inclusions", shape, seed=4)
    op = GridOperator.from_csr(A, shape)
    mg = Multigrid(op, dtype=torch.float64, smoother=load_shipped_smoother(dim))
    assert all(float(w.min()) > 0 and float(w.max()) < 1 for w in mg.weights)
    g = torch.Generator().manual_seed(1)
    u, v = (torch.randn(A.shape[0], dtype=torch.float64, generator=g) for _ in range(2))
    assert abs(u @ mg.vcycle(v) - v @ mg.vcycle(u)) <= 1e-10 * abs(u @ mg.vcycle(v))
    assert u @ mg.vcycle(u) > 0
    x, info = LearnedSolver(A, grid_shape=shape, method="learned").solve(b, rtol=1e-9)
    assert info == 0
    x_ref = spla.spsolve(A.tocsc(), b)
    assert np.linalg.norm(x - x_ref) <= 1e-6 * np.linalg.norm(x_ref)


def test_matrix_outside_training_warns_and_still_converges():
    shape = (24, 24)
    A, b, _ = make_system("constant", shape, seed=0)
    shifted = A + 8.0 * sp.identity(A.shape[0], format="csr")  # a reaction-dominated (Helmholtz-like) operator
    with pytest.warns(ConvergenceWarning, match="outside the learned V-cycle's training"):
        solver = LearnedSolver(shifted, grid_shape=shape, method="learned")
    x, info = solver.solve(b)
    assert info == 0 and np.linalg.norm(shifted @ x - b) <= 1e-6 * np.linalg.norm(b)


def test_dcdm_method_warns_on_variable_coefficients():
    shape = (12, 12, 12)
    A, b, _ = make_system("lognormal", shape, seed=0)
    with pytest.warns(ConvergenceWarning, match="variable coefficients"):
        LearnedSolver(A, grid_shape=shape, method="dcdm")
