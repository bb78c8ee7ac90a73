import numpy as np

from sciml.data import make_dataset
from sciml.pde.wave import energy, wave_solution


def test_single_mode_is_exact_oscillator():
    m = 15
    x = np.arange(1, m + 1) / (m + 1)
    mode = np.sin(np.pi * x)[None, :] * np.sin(2 * np.pi * x)[:, None]
    t = np.array([0.0, 0.3, 1.1])
    u, v = wave_solution(mode[None], np.zeros((1, m, m)), t, c=1.0, gamma=0.0)
    w = np.pi * np.sqrt(5.0)
    np.testing.assert_allclose(u[0], np.cos(w * t)[:, None, None] * mode, atol=1e-12)
    np.testing.assert_allclose(v[0], -w * np.sin(w * t)[:, None, None] * mode, atol=1e-10)


def _bump(m):
    x = np.arange(1, m + 1) / (m + 1)
    X, Y = np.meshgrid(x, x)
    return np.exp(-((X - 0.4) ** 2 + (Y - 0.55) ** 2) / (2 * 0.08**2))[None]


def test_satisfies_the_pde_to_second_order():
    """u_tt (central difference in time) against c^2 Lap_h u (5-point): residual O(h^2) for a smooth bump."""
    res_norms = []
    for m in (31, 63):
        u0 = _bump(m)
        dt, t0 = 1e-3, 0.2
        u, _ = wave_solution(u0, np.zeros_like(u0), np.array([t0 - dt, t0, t0 + dt]), c=1.0)
        utt = (u[0, 2] - 2 * u[0, 1] + u[0, 0]) / dt**2
        h = 1.0 / (m + 1)
        up = np.pad(u[0, 1], 1)
        lap = (up[2:, 1:-1] + up[:-2, 1:-1] + up[1:-1, 2:] + up[1:-1, :-2] - 4 * u[0, 1]) / h**2
        res_norms.append(np.abs(utt - lap).max() / np.abs(lap).max())
    assert res_norms[1] < 0.02 and 3.0 < res_norms[0] / res_norms[1] < 5.0, res_norms


def test_energy_conserved_without_damping_and_decays_with():
    u0 = _bump(63)
    t = np.linspace(0, 2, 9)
    e = energy(*wave_solution(u0, np.zeros_like(u0), t, gamma=0.0))
    assert np.ptp(e) < 0.01 * e[0, 0]
    ed = energy(*wave_solution(u0, np.zeros_like(u0), t, gamma=0.5))
    assert np.all(np.diff(ed[0]) < 0) and ed[0, -1] < 0.5 * ed[0, 0]


def test_dataset():
    ds = make_dataset("wave_box", n=2, res=16, frames=4)
    assert ds["u"].dims == ("sample", "time", "y", "x") and ds.sizes["time"] == 5
    assert np.isfinite(ds["u"]).all() and float(np.abs(ds.v.isel(time=0)).max()) == 0.0
