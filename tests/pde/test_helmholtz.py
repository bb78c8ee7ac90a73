import numpy as np

from sciml.data import make_dataset
from sciml.pde.helmholtz import gaussian_source, helmholtz_matrix, solve_helmholtz


def _mms(res, omega=5.0):
    """u = sin(pi x) sin(2 pi y), variable c; f = (5 pi^2 - (omega/c)^2) u, Dirichlet."""
    x = np.linspace(0, 1, res)
    X, Y = np.meshgrid(x, x)
    c = 1 + 0.2 * np.sin(np.pi * X) * np.cos(np.pi * Y)
    u = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
    f = (5 * np.pi**2 - (omega / c) ** 2) * u
    return c, f, u


def test_dirichlet_second_order():
    errs = []
    for res in (17, 33, 65):
        c, f, u = _mms(res)
        errs.append(np.abs(solve_helmholtz(c[None], 5.0, f, "dirichlet")[0] - u).max())
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_absorbing_plane_wave_on_outflow_side():
    """A wave u = exp(i k x) leaving through x = 1 satisfies the absorbing condition there: the discrete
    residual on the x = 1 column vanishes as h -> 0, while on the inflow column x = 0 it grows like 1/h."""
    k, out, inn = 8.0, [], []
    for res in (65, 129):
        x = np.linspace(0, 1, res)
        u = np.exp(1j * k * x)[None, :].repeat(res, 0)
        r = (helmholtz_matrix(np.full((res, res), k**2), "absorbing") @ u.ravel()).reshape(res, res)
        assert np.abs(r[5:-5, 5:-5]).max() < 1e-2 * k**2  # interior: second-order consistent
        out.append(np.abs(r[5:-5, -1]).max())
        inn.append(np.abs(r[5:-5, 0]).max())
    assert 1.8 < out[0] / out[1] < 2.2 and 1.8 < inn[1] / inn[0] < 2.2 and inn[1] > 100 * out[1]


def test_absorbing_symmetric_source_gives_symmetric_field():
    res = 33
    c = np.ones((1, res, res))
    u = solve_helmholtz(c, 6 * np.pi, gaussian_source(res), "absorbing")[0]
    np.testing.assert_allclose(u, u[:, ::-1], atol=1e-10)
    np.testing.assert_allclose(u, u.T, atol=1e-10)
    assert np.isfinite(u).all() and np.abs(u).max() > 0


def test_dataset():
    ds = make_dataset("helmholtz", n=3, res=24, seed=1)
    assert set(ds.data_vars) == {"c", "u", "u_imag"}
    assert 0.75 <= float(ds.c.min()) and float(ds.c.max()) <= 1.25
    assert ds["u"].attrs["units"] == "1"
