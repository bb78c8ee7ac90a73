import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
import xarray as xr

from sciml.data import make_dataset, open_dataset, save_dataset
from sciml.pde.darcy import darcy_matrix, solve_darcy
from sciml.pde.grf import grf_neumann, grf_periodic, neumann_amplitudes


def _manufactured(res):
    """a = 1 + sin(2 pi x) sin(2 pi y) / 2, u = sin(pi x) sin(pi y), f = -div(a grad u)."""
    x = np.linspace(0, 1, res)
    X, Y = np.meshgrid(x, x, indexing="xy")
    a = 1 + 0.5 * np.sin(2 * np.pi * X) * np.sin(2 * np.pi * Y)
    u = np.sin(np.pi * X) * np.sin(np.pi * Y)
    ax, ay = np.pi * np.cos(2 * np.pi * X) * np.sin(2 * np.pi * Y), np.pi * np.sin(2 * np.pi * X) * np.cos(2 * np.pi * Y)
    ux, uy = np.pi * np.cos(np.pi * X) * np.sin(np.pi * Y), np.pi * np.sin(np.pi * X) * np.cos(np.pi * Y)
    f = -(ax * ux + ay * uy - 2 * np.pi**2 * a * u)
    return a, f, u


def test_second_order_convergence():
    errs = []
    for res in (17, 33, 65):
        a, f, u = _manufactured(res)
        errs.append(np.abs(solve_darcy(a, f) - u).max())
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_constant_coefficient_is_poisson():
    """a = 1, u = x(1-x)y(1-y) has f = 2[x(1-x) + y(1-y)]; the 5-point scheme is exact for this quadratic-in-each-axis u."""
    res = 21
    x = np.linspace(0, 1, res)
    X, Y = np.meshgrid(x, x)
    u = X * (1 - X) * Y * (1 - Y)
    f = 2 * (X * (1 - X) + Y * (1 - Y))
    np.testing.assert_allclose(solve_darcy(np.ones((res, res)), f), u, atol=1e-12)


def test_operator_is_spd():
    a = np.where(grf_neumann(1, 12, seed=1)[0] >= 0, 12.0, 3.0)
    A = darcy_matrix(a).toarray()
    np.testing.assert_allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0


def test_direct_and_amg_agree():
    a = np.where(grf_neumann(2, 24, seed=2) >= 0, 12.0, 3.0)
    np.testing.assert_allclose(solve_darcy(a, solver="amg"), solve_darcy(a), rtol=1e-6, atol=1e-9)


def test_bad_coefficient():
    with pytest.raises(ValueError, match="strictly positive"):
        solve_darcy(np.zeros((8, 8)))


def test_grf_neumann_variance_matches_spectrum():
    """Var of each sample = sum of squared mode amplitudes * res^2 / res^2 (orthonormal DCT)."""
    res, n = 32, 400
    fields = grf_neumann(n, res, alpha=2.0, tau=3.0, seed=0)
    expected = (neumann_amplitudes(res, 2.0, 3.0) ** 2).sum()  # mean over grid of u^2, in expectation
    measured = (fields**2).mean()
    assert abs(measured / expected - 1) < 0.1
    assert abs(fields.mean()) < 0.05 * np.sqrt(expected)
    np.testing.assert_array_equal(grf_neumann(2, res, seed=5), grf_neumann(2, res, seed=5))


def test_grf_periodic_is_periodic_and_seeded():
    w = grf_periodic(3, 32, seed=1)
    assert w.shape == (3, 32, 32)
    torch.testing.assert_close(w, grf_periodic(3, 32, seed=1))
    # spectral content: smooth (decaying spectrum), zero mean
    assert abs(float(w.mean())) < 1e-10
    spec = torch.fft.fft2(w).abs().mean(0)
    assert spec[1, 0] > 10 * spec[8, 8]


def test_darcy_file_is_cf_and_reopens_with_plain_xarray(tmp_path):
    ds = make_dataset("darcy", n=6, res=16, seed=3)
    assert set(np.unique(ds["a"])) == {3.0, 12.0}
    assert np.all(ds["u"].values[:, 0, :] == 0) and np.all(ds["u"].values[:, :, -1] == 0)
    assert ds.attrs["Conventions"].startswith("CF") and '"tau": 3.0' in ds.attrs["generator_params"]
    save_dataset(ds, tmp_path / "d.nc")
    plain = xr.open_dataset(tmp_path / "d.nc")
    assert plain["u"].attrs["units"] == "1" and plain["x"].attrs["axis"] == "X"
    xr.testing.assert_allclose(plain.load(), open_dataset(tmp_path / "d.nc").load())


def test_rough_is_rougher():
    smooth = make_dataset("darcy", n=8, res=32, seed=0)["a"].values
    rough = make_dataset("darcy_rough", n=8, res=32, seed=0)["a"].values
    jumps = lambda a: np.abs(np.diff(a, axis=-1)).mean()  # noqa: E731
    assert jumps(rough) > 1.2 * jumps(smooth)
