"""Darcy solver against exact solutions: convergence order, layered media, Poisson, SPD, the dataset."""
import numpy as np
import pytest
import torch
import xarray as xr

from sciml.data import make_dataset, open_dataset, save_dataset
from sciml.pde.darcy import darcy_banded, darcy_coefficient, darcy_matrix, solve_darcy
from sciml.pde.grf import grf_neumann

PI = np.pi


def _grid(res):
    x = np.linspace(0, 1, res)
    return np.meshgrid(x, x, indexing="xy")  # X varies along axis -1, Y along axis -2


def _manufactured(res):
    """Not symmetric in x <-> y, so a transposed stencil would show:
    a = 1 + sin(2 pi x) cos(3 pi y) / 2, u = sin(pi x) sin(2 pi y), f = -(a_x u_x + a_y u_y + a Lap u)."""
    X, Y = _grid(res)
    a = 1 + 0.5 * np.sin(2 * PI * X) * np.cos(3 * PI * Y)
    a_x, a_y = PI * np.cos(2 * PI * X) * np.cos(3 * PI * Y), -1.5 * PI * np.sin(2 * PI * X) * np.sin(3 * PI * Y)
    u = np.sin(PI * X) * np.sin(2 * PI * Y)
    u_x, u_y = PI * np.cos(PI * X) * np.sin(2 * PI * Y), 2 * PI * np.sin(PI * X) * np.cos(2 * PI * Y)
    f = -(a_x * u_x + a_y * u_y - 5 * PI**2 * a * u)
    return a, f, u


def _orders(resolutions, errors):
    h = 1.0 / (np.array(resolutions) - 1)
    e = np.array(errors)
    return np.log(e[:-1] / e[1:]) / np.log(h[:-1] / h[1:])


def test_second_order_convergence_smooth_coefficient():
    res_list, e_max, e_l2 = (17, 33, 65, 129), [], []
    for res in res_list:
        a, f, u = _manufactured(res)
        err = solve_darcy(a, f) - u
        e_max.append(np.abs(err).max())
        e_l2.append(np.sqrt((err**2).mean()))
    for orders in (_orders(res_list, e_max), _orders(res_list, e_l2)):
        assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_layered_medium_second_order():
    """a = a1 (x < 1/2), a2 (x > 1/2) with the jump on a face midpoint (res even).
    u = sin(2 pi x) sin(pi y) / a(x) has continuous flux; f = 5 pi^2 sin(2 pi x) sin(pi y).
    Harmonic face averages keep order 2; arithmetic ones would give order 1 (checked by hand)."""
    res_list, errs = (16, 32, 64, 128), []
    for res in res_list:
        X, Y = _grid(res)
        a = np.where(X < 0.5, 1.0, 10.0)
        u = np.sin(2 * PI * X) * np.sin(PI * Y) / a
        f = 5 * PI**2 * np.sin(2 * PI * X) * np.sin(PI * Y)
        errs.append(np.abs(solve_darcy(a, f) - u).max())
    orders = _orders(res_list, errs)
    assert np.all(orders > 1.8), orders


def test_constant_coefficient_is_poisson():
    """a = c, u = x(1-x)y(1-y)/c has f = 2[x(1-x) + y(1-y)]; the 5-point scheme is exact for it."""
    X, Y = _grid(21)
    u = X * (1 - X) * Y * (1 - Y)
    f = 2 * (X * (1 - X) + Y * (1 - Y))
    for c in (1.0, 3.0, 12.0):
        np.testing.assert_allclose(solve_darcy(np.full((21, 21), c), f), u / c, atol=1e-13)


def test_unit_forcing_matches_torsion_series():
    """-Lap u = 1: u(1/2, 1/2) = sum over odd m, n of 16 / (pi^4 m n (m^2 + n^2)) (-1)^((m+n)/2 - 1)."""
    k = np.arange(1, 400, 2)
    m, n = np.meshgrid(k, k)
    centre = (16 / (PI**4 * m * n * (m**2 + n**2)) * (-1.0) ** ((m + n) // 2 - 1)).sum()
    assert abs(centre - 0.0736713) < 1e-7  # the series itself (St-Venant torsion of a square)
    errs = [abs(3.0 * solve_darcy(np.full((r, r), 3.0))[r // 2, r // 2] - centre) for r in (17, 33, 65)]
    orders = _orders((17, 33, 65), errs)
    assert errs[-1] < 2e-4 * centre and np.all((orders > 1.9) & (orders < 2.1)), (errs, orders)


def test_operator_is_spd_and_banded_form_agrees():
    res = 12
    a = darcy_coefficient(grf_neumann(1, res, seed=1)[0])
    A = darcy_matrix(a).toarray()
    np.testing.assert_allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0
    ab, m = darcy_banded(a), res - 2
    B = sum(np.diag(ab[m - d, d:], d) + (np.diag(ab[m - d, d:], -d) if d else 0) for d in range(m + 1))
    np.testing.assert_allclose(B, A / (res - 1) ** 2, atol=1e-12)


def test_solvers_agree_and_accept_torch():
    a = darcy_coefficient(grf_neumann(2, 24, seed=2))
    ref = solve_darcy(a, solver="splu")
    np.testing.assert_allclose(solve_darcy(a, solver="banded"), ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(solve_darcy(torch.from_numpy(a), solver="amg"), ref, rtol=1e-6, atol=1e-9)
    assert set(np.unique(darcy_coefficient(torch.tensor([-0.1, 0.0, 0.2])))) == {3.0, 12.0}


def test_bad_input():
    with pytest.raises(ValueError, match="strictly positive"):
        solve_darcy(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        solve_darcy(np.ones((2, 8, 9)))
    with pytest.raises(ValueError, match="solver"):
        solve_darcy(np.ones((8, 8)), solver="cg")


def test_darcy_file_is_cf_and_reopens_with_plain_xarray(tmp_path):
    ds = make_dataset("darcy", n=6, res=16, seed=3)
    assert set(np.unique(ds["a"])) == {3.0, 12.0}
    u = ds["u"].values
    assert np.all(u[:, 0, :] == 0) and np.all(u[:, :, -1] == 0) and np.all(u[:, 1:-1, 1:-1] > 0)  # max principle
    assert ds.attrs["Conventions"].startswith("CF") and '"tau": 3.0' in ds.attrs["generator_params"]
    save_dataset(ds, tmp_path / "d.nc")
    plain = xr.open_dataset(tmp_path / "d.nc")
    assert plain["u"].attrs["units"] == "1" and plain["x"].attrs["axis"] == "X"
    assert float(plain["x"][-1]) == 1.0 and plain["a"].attrs["long_name"] == "permeability coefficient"
    xr.testing.assert_allclose(plain.load(), open_dataset(tmp_path / "d.nc").load())


def test_rough_is_rougher_and_seeds_reproduce():
    smooth = make_dataset("darcy", n=8, res=32, seed=0)["a"].values
    rough = make_dataset("darcy_rough", n=8, res=32, seed=0)["a"].values
    jumps = lambda a: np.abs(np.diff(a, axis=-1)).mean()  # noqa: E731
    assert jumps(rough) > 1.2 * jumps(smooth)
    np.testing.assert_array_equal(make_dataset("darcy", n=8, res=32, seed=0)["u"].values,
                                  make_dataset("darcy", n=8, res=32, seed=0)["u"].values)


def test_threaded_solves_match_serial():
    a = darcy_coefficient(grf_neumann(4, 21, 2.0, 3.0, seed=3))
    serial = solve_darcy(a, solver="splu", workers=1)
    np.testing.assert_array_equal(solve_darcy(a, solver="splu", workers=3), serial)
    np.testing.assert_array_equal(solve_darcy(a, solver="banded", workers=2), solve_darcy(a, solver="banded"))
