"""The fused CPU kernels (sciml.linalg.stencil_kernels) against the torch loops they replace on the CPU."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sciml.errors import DimensionError, LinearSystemError
from sciml.linalg import GridOperator, Multigrid, stencil_kernels
from sciml.linalg.families import FAMILIES, make_system
from sciml.linalg.smoother_weights import level_features
from sciml.linalg.stencil import from_coefficients

pytestmark = pytest.mark.skipif(stencil_kernels.numba is None, reason="numba is not installed")


@pytest.fixture
def torch_loops(monkeypatch):
    """Run a block on the torch implementation (as on a GPU or under autograd)."""
    def use_torch():
        monkeypatch.setattr(stencil_kernels, "available", lambda *t: False)
    return use_torch


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-13), (torch.float32, 1e-5)])
@pytest.mark.parametrize("family, shape", [("obstacles", (13, 18, 11)), ("inclusions", (17, 9, 20)),
                                           ("obstacles_dirichlet", (37, 50)), ("lognormal", (31, 24))])
def test_fused_cycle_equals_the_torch_cycle(family, shape, dtype, tol, torch_loops):
    A, b, _ = make_system(family, shape, seed=3)
    op = GridOperator.from_csr(A, shape)
    mg = Multigrid(op, dtype=dtype)
    r = torch.as_tensor(b)
    coarse = torch.randn(mg.shapes[1], dtype=dtype, generator=torch.Generator().manual_seed(0))
    fine = r.reshape(shape).to(dtype)
    fused = [mg.vcycle(r), op.apply(r), mg.prolong(0, coarse).clone(), mg.restrict(0, fine).clone()]
    out = torch.empty(shape, dtype=torch.float64)
    op.apply(r.reshape(shape), out=out)
    torch_loops()
    ref = [mg.vcycle(r), op.apply(r), mg.prolong(0, coarse).clone(), mg.restrict(0, fine).clone()]
    for name, got, want in zip(("vcycle", "apply", "prolong", "restrict"), fused, ref):
        assert _rel(got, want) < tol, name
    assert _rel(out, ref[1].reshape(shape)) < 1e-13


def test_fused_transfers_are_adjoint_on_odd_grids():
    A, _, _ = make_system("inclusions", (15, 21, 9), seed=1)
    mg = Multigrid(GridOperator.from_csr(A, (15, 21, 9)), dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    u = torch.randn(mg.shapes[1], dtype=torch.float64, generator=gen)
    v = torch.randn(mg.shapes[0], dtype=torch.float64, generator=gen) * mg.levels[0].active
    lhs = float((mg.prolong(0, u) * v).sum())
    rhs = float((u * mg.restrict(0, v)).sum())
    assert abs(lhs - rhs) < 1e-12 * abs(lhs)


def test_the_cycle_does_not_depend_on_the_torch_thread_count():
    A, b, _ = make_system("lognormal", (24, 20, 22), seed=2)
    mg = Multigrid(GridOperator.from_csr(A, (24, 20, 22)))
    r = torch.as_tensor(b)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = mg.vcycle(r)
        torch.set_num_threads(2)
        two = mg.vcycle(r)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)  # the kernels are serial loops: the same result bit for bit


def test_autograd_and_other_dtypes_take_the_torch_loops():
    x = torch.ones(4, 5, requires_grad=True)
    assert not stencil_kernels.available(x)
    assert not stencil_kernels.available(torch.ones(3, dtype=torch.float16))
    assert not stencil_kernels.available(torch.ones(3), torch.ones(3, dtype=torch.float64))
    assert stencil_kernels.available(torch.ones(3), torch.ones(3))
    op = GridOperator(torch.full((4, 5), 4.0), (torch.ones(3, 5), torch.ones(4, 4)))
    y = op.apply(x)
    y.sum().backward()  # the torch loop keeps the graph
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("family, distinct", [("obstacles", True), ("lognormal", False)])
def test_learned_weights_per_distinct_stencil_equal_the_full_pass(family, distinct, monkeypatch):
    from sciml.linalg import smoother_weights
    from sciml.linalg.learned_vcycle import load_shipped_smoother

    shape = (18, 20, 16)
    A, _, _ = make_system(family, shape, seed=5)
    op = GridOperator.from_csr(A, shape)
    feats = smoother_weights.level_features(op.to(dtype=torch.float32), op.coupled())
    rows = feats.movedim(0, -1).reshape(-1, feats.shape[0]).numpy().view(np.uint32)
    _, first, count = stencil_kernels.distinct_rows(rows, rows.shape[0] // smoother_weights.DISTINCT_SHARE)
    assert (count > 0) == distinct  # obstacles: a few hundred stencils; log-normal: one per cell
    if distinct:
        assert len(np.unique(rows, axis=0)) == count == len(first)
    net = load_shipped_smoother(3)
    grouped = Multigrid(op, smoother=net).weights
    monkeypatch.setattr(smoother_weights, "DISTINCT_SHARE", 10**12)  # every level takes the full pass
    full = Multigrid(op, smoother=net).weights
    for g, f in zip(grouped, full):
        torch.testing.assert_close(g, f, rtol=0, atol=1e-6)


def _detected(A, shape):
    """What from_csr makes of A: the operator's arrays as raw bits (signed zeros included), or the error."""
    try:
        op = GridOperator.from_csr(A, shape)
    except (DimensionError, LinearSystemError) as e:
        return type(e), str(e)
    return [(t.dtype, t.shape, t.numpy().tobytes()) for t in (op.diag, *op.off)]


def _with(A, *entries):
    """A plus the entries (i, j, v), as CSR (a repeated position sums)."""
    C = A.tocoo()
    i, j, v = zip(*entries)
    return sp.csr_matrix((np.r_[C.data, v], (np.r_[C.row, i], np.r_[C.col, j])), shape=A.shape)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(37, 50), (13, 18, 11)])
def test_csr_detection_equals_the_numpy_path(family, shape, torch_loops):
    A, _, _ = make_system(family, shape, seed=4)
    fused = _detected(A, shape)
    torch_loops()
    assert fused == _detected(A, shape)


@pytest.mark.parametrize("shape", [(1, 9, 7), (6, 1, 7), (6, 5, 1), (4, 1, 1), (1, 9), (9, 1)])
def test_csr_detection_with_an_axis_of_length_one(shape, torch_loops):
    rng = np.random.default_rng(0)
    A = from_coefficients(np.exp(rng.standard_normal(shape)), rng.random(shape) < 0.2, dirichlet=("x-",)).to_csr()
    fused = _detected(A, shape)
    torch_loops()
    assert fused == _detected(A, shape)
    assert all(w.numel() == 0 for w, s in zip(GridOperator.from_csr(A, shape).off, shape) if s == 1)


def _csr_cases():
    shape = (4, 5, 6)
    A = from_coefficients(np.exp(np.random.default_rng(1).standard_normal(shape))).to_csr()
    x, y = 5, 4 * 6 + 2  # a cell on the last x layer, and one on the last y layer (not the last z layer)
    return shape, {
        "asymmetric": _with(A, (7, 8, A[7, 8] * 1e-9)),
        "asymmetric below": _with(A, (14, 8, A[14, 8] * 1e-9)),
        "asymmetric along z": _with(A, (3, 33, 1e-3)),
        "symmetric to 1e-14": _with(A, (7, 8, A[7, 8] * 1e-14), (9, 3, A[9, 3] * 1e-14)),
        "diagonal neighbour": _with(A, (0, 7, -0.5), (7, 0, -0.5)),
        "wrap-around along x": _with(A, (x, x + 1, -1.0), (x + 1, x, -1.0)),
        "wrap-around along y": _with(A, (y, y + 6, -1.0), (y + 6, y, -1.0)),
        "wrap along x one-sided": _with(A, (x, x + 1, -1.0)),
        "wrap along y, asymmetric along x": _with(A, (y, y + 6, -1.0), (y + 6, y, -1.0), (7, 8, 1.0)),
        "infinite upper": _with(A, (7, 8, np.inf)),
        "nan pair": _with(A, (7, 8, np.nan), (8, 7, np.nan)),
        "explicit zeros": _with(A, (0, 7, 0.0), (x, x + 1, 0.0), (3, 3, -A[3, 3])),
        "float32": A.astype(np.float32),
        "wrong size": A[:-1, :-1],
    }


@pytest.mark.parametrize("case", list(_csr_cases()[1]))
def test_csr_errors_equal_the_numpy_path(case, torch_loops):
    shape, cases = _csr_cases()
    fused = _detected(cases[case], shape)
    torch_loops()
    assert fused == _detected(cases[case], shape)
    if case in ("symmetric to 1e-14", "explicit zeros", "float32"):
        assert isinstance(fused, list)
    else:
        assert isinstance(fused, tuple) and fused[0] is (DimensionError if case == "wrong size" else LinearSystemError)


def test_csr_duplicates_are_summed_on_a_copy(torch_loops):
    shape = (13, 18, 11)
    A, _, _ = make_system("inclusions", shape, seed=2)
    C = A.tocoo()
    twice = np.arange(0, C.nnz, 3)  # store every third entry as two halves
    rows, cols = np.r_[C.row, C.row[twice]], np.r_[C.col, C.col[twice]]
    vals = np.r_[C.data, C.data[twice] / 2]
    vals[twice] /= 2
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=A.shape[0]))]
    D = sp.csr_matrix((vals[order], cols[order], indptr), shape=A.shape)
    assert not D.has_canonical_format
    given = [a.copy() for a in (D.data, D.indices, D.indptr)]
    want = _detected(A, shape)
    assert _detected(D, shape) == want
    torch_loops()
    assert _detected(D, shape) == want
    assert all(np.array_equal(a, b) for a, b in zip((D.data, D.indices, D.indptr), given))  # A stays as given


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("family, shape", [("obstacles", (13, 18, 11)), ("lognormal", (17, 9, 20)),
                                           ("obstacles_dirichlet", (21, 30)), ("inclusions", (3, 9, 7))])
def test_cell_features_equal_the_torch_construction_bit_for_bit(family, shape, dtype, torch_loops):
    A, _, _ = make_system(family, shape, seed=3)
    levels = Multigrid(GridOperator.from_csr(A, shape), dtype=dtype, coarsest=8).levels[:-1]
    fused = [(level_features(lv.op, lv.active), level_features(lv.op, lv.active, torch.float32)) for lv in levels]
    torch_loops()
    bits = {torch.float32: np.uint32, torch.float64: np.uint64}
    for lv, got in zip(levels, fused):  # the hash of distinct stencils compares bits, so bits must agree
        for g, ref in zip(got, (level_features(lv.op, lv.active), level_features(lv.op, lv.active, torch.float32))):
            assert g.dtype == ref.dtype
            assert np.array_equal(g.contiguous().numpy().view(bits[g.dtype]), ref.contiguous().numpy().view(bits[g.dtype]))
