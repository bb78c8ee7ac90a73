import math

import numpy as np
import pytest
import torch

from sciml.data import make_dataset
from sciml.pde.grf import grf_periodic
from sciml.pde.navier_stokes import NavierStokes2D, kolmogorov_forcing


def _taylor_green(res):
    x = torch.arange(res, dtype=torch.float64) / res
    return (torch.cos(2 * math.pi * x)[None, :] * torch.cos(2 * math.pi * x)[:, None])[None]


def test_taylor_green_exact_decay_second_order_in_time():
    """A single Laplacian eigenmode has zero advection: w(t) = w0 exp(-8 pi^2 nu t) exactly."""
    nu, w0 = 0.01, _taylor_green(32)
    exact = w0 * math.exp(-8 * math.pi**2 * nu)
    errs = [float((NavierStokes2D(32, nu, dt).solve(w0, 1.0, 1)[:, -1] - exact).abs().max()) for dt in (0.02, 0.01)]
    assert errs[1] < 1e-5 and 3.6 < errs[0] / errs[1] < 4.4


def test_spectral_convergence_in_space():
    """A smooth nonlinear flow: the error against a 128^2 run falls by orders of magnitude from 32^2 to 64^2."""
    def run(res):
        w0 = torch.fft.irfft2(torch.fft.rfft2(grf_periodic(1, 128, 2.5, 7.0, seed=3)), s=(128, 128))
        w0_hat = torch.fft.rfft2(w0) / 128**2
        # spectral restriction of the same initial condition to res x res
        keep = torch.zeros(res, res // 2 + 1, dtype=w0_hat.dtype)
        h = res // 2
        keep[:h, :h] = w0_hat[0, :h, :h]
        keep[-h:, :h] = w0_hat[0, -h:, :h]
        w0r = torch.fft.irfft2(keep * res**2, s=(res, res))[None]
        w = NavierStokes2D(res, 1e-3, 2e-3, kolmogorov_forcing(res)).solve(w0r, 0.5, 1)[0, -1]
        return w[:: res // 32, :: res // 32]

    ref = run(128)
    e32, e64 = float((run(32) - ref).abs().max()), float((run(64) - ref).abs().max())
    assert e64 < 1e-3 * e32 or e64 < 1e-9


def test_batched_equals_single_and_device_agnostic():
    w0 = grf_periodic(3, 32, seed=1)
    s = NavierStokes2D(32, 1e-3, 5e-3, kolmogorov_forcing(32))
    batch = s.solve(w0, 0.1, 2)
    torch.testing.assert_close(batch[1:2], s.solve(w0[1:2], 0.1, 2))
    assert batch.shape == (3, 3, 32, 32) and batch.device == w0.device


def test_dataset_dims_and_motion():
    ds = make_dataset("ns_vorticity", n=2, res=32, frames=3, burn_in=0.5)
    assert ds["w"].dims == ("sample", "time", "y", "x") and ds.sizes["time"] == 4
    assert ds["w"].attrs["units"] == "1 / s" and np.isfinite(ds["w"].values).all()
    change = float(np.abs(ds.w.isel(time=1) - ds.w.isel(time=0)).mean() / np.abs(ds.w.isel(time=0)).mean())
    assert change > 0.05  # frames differ: features move between frames


def test_second_order_in_time_on_a_nonlinear_forced_flow():
    """Self-convergence of Heun/CN on a GRF flow with advection: error ratio ~4 per halving of dt."""
    w0 = grf_periodic(1, 32, seed=2)
    run = lambda dt: NavierStokes2D(32, 1e-3, dt, kolmogorov_forcing(32)).solve(w0, 1.0, 1)[0, -1]  # noqa: E731
    ref, w1, w2 = run(0.0025), run(0.04), run(0.02)
    e1, e2 = float((w1 - ref).abs().max()), float((w2 - ref).abs().max())
    assert e2 < 1e-3 * float(ref.abs().max()) and 3.3 < e1 / e2 < 5.0, (e1, e2)


def test_frames_land_on_exact_times_and_cfl_steps_agree():
    """t_out / frames need not be a multiple of dt; the CFL-chosen steps match a fine fixed step."""
    nu, w0 = 0.01, _taylor_green(16)
    w = NavierStokes2D(16, nu, 0.03).solve(w0, 0.1, 1)[:, -1]  # 4 steps of 0.025, not 3 of 0.03
    torch.testing.assert_close(w, w0 * math.exp(-8 * math.pi**2 * nu * 0.1), atol=1e-4, rtol=0)  # a 0.09 end time would miss by 7e-3
    g = grf_periodic(2, 32, seed=4)
    auto = NavierStokes2D(32, 1e-3, None, kolmogorov_forcing(32)).solve(g, 1.0, 2)
    fine = NavierStokes2D(32, 1e-3, 0.005, kolmogorov_forcing(32)).solve(g, 1.0, 2)
    assert float((auto - fine).abs().max()) < 1e-3 * float(fine.abs().max())  # CFL 0.25: 6e-4
