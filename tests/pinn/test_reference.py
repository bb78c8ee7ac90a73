"""Reference solvers converge under refinement at their design orders."""
from __future__ import annotations

import math

import numpy as np

from sciml.pinn.reference import allen_cahn_etdrk4, nonlinear_diffusion_fd, nonlinear_diffusion_ic


def test_allen_cahn_etdrk4_fourth_order_in_time():
    t = np.array([0.2])
    errs = []
    _, _, fine = allen_cahn_etdrk4(128, 1.25e-3 / 8, t_out=t)
    for dt in (1e-2, 5e-3, 2.5e-3):
        _, _, u = allen_cahn_etdrk4(128, dt, t_out=t)
        errs.append(np.abs(u - fine).max())
    rates = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(r > 3.5 for r in rates), (errs, rates)


def test_allen_cahn_spatial_refinement_and_physics():
    t = np.array([0.5, 1.0])
    _, _, u256 = allen_cahn_etdrk4(256, 1e-3, t_out=t)
    _, _, u512 = allen_cahn_etdrk4(512, 1e-3, t_out=t)
    _, _, u1024 = allen_cahn_etdrk4(1024, 1e-3, t_out=t)
    e1, e2 = np.abs(u256 - u1024[:, ::4]).max(), np.abs(u512 - u1024[:, ::2]).max()
    assert e2 < 1e-5 and e2 < e1
    assert np.abs(u1024).max() < 1.0 + 1e-6  # the maximum principle of Allen-Cahn
    # u(0) = x^2 cos(pi x) is even in x, and so is the solution
    assert np.abs(u512[:, 1:] - u512[:, 1:][:, ::-1]).max() < 1e-8


def test_nonlinear_diffusion_second_order_in_space():
    t = np.array([0.0, 0.3])
    sols = {n: nonlinear_diffusion_fd(n, t_out=t)[2][-1] for n in (17, 33, 65, 129)}
    errs = [np.abs(sols[n] - sols[129][:: (128 // (n - 1)), :: (128 // (n - 1))]).max() for n in (17, 33)]
    e65 = np.abs(sols[65] - sols[129][::2, ::2]).max()
    rates = [math.log2(errs[0] / errs[1]), math.log2(errs[1] / e65)]
    assert all(1.6 < r < 2.6 for r in rates), (errs, e65, rates)


def test_nonlinear_diffusion_initial_condition_and_decay():
    x, t, u = nonlinear_diffusion_fd(65, t_out=np.array([0.0, 0.5, 1.0]))
    X, Y = np.meshgrid(x, x, indexing="ij")
    inner = nonlinear_diffusion_ic(X, Y)[1:-1, 1:-1]
    np.testing.assert_allclose(u[0][1:-1, 1:-1], inner)
    assert (u[:, 0, :] == 0).all() and (u[:, :, -1] == 0).all()
    assert u.min() > -1e-12  # stays non-negative (porous-medium equation)
    assert u[2].max() < u[1].max() < u[0].max()  # the peak decays
