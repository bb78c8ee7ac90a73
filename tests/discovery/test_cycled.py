"""Cycled analysis of sparse observations, window-summed increments, observation-space regression."""
import math

import numpy as np
import pytest
import torch

from sciml.discovery.cycled import cycled_analysis, observation_space_fit
from sciml.discovery.interpolate import CubicFill, RidgeFill, rff_ridge_interpolate, scipy_interpolate
from sciml.discovery.library import TERMS, window_sums
from sciml.discovery.observe import observe
from sciml.discovery.regression import sparse_fit
from tests.discovery.conftest import qg_trajectory


@pytest.fixture(scope="module")
def qg_run():
    return qg_trajectory(32, 3000, 60, seed=1)


def rel(a, b):
    return float((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt())


def test_ridge_fill_is_the_primal_ridge_regression_on_the_random_features():
    """Truth in the primal: with few features (2 x 40 < 256 observed points) the ridge readout
    solved on explicit [cos, sin] features equals the dual solve with the FFT extension, for a new
    mask (refactor) and the same mask again (cached factor)."""
    n, sigma, nf, ridge = 32, 3.0, 40, 1e-3
    g = torch.Generator().manual_seed(0)
    B = torch.round(sigma * torch.randn(nf, 2, generator=g, dtype=torch.float64))    # same draw as rff_kernel
    c = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    z = torch.stack([yy, xx], -1).reshape(-1, 2) @ B.T
    phi = torch.cat([torch.cos(z), torch.sin(z)], 1)                                  # (n*n, 2 nf)
    fill = RidgeFill(n, sigma, nf, ridge)
    vals = torch.randn(2, 3, n, n, dtype=torch.float64, generator=g)
    masks = torch.rand(2, n, n, generator=g) < 0.25
    for t in (0, 1, 1):
        idx = torch.nonzero(masks[t].reshape(-1)).squeeze(1)
        P = phi[idx]
        lam = ridge * P.pow(2).sum(1).mean()                                         # ridge x mean(diag K)
        w = torch.linalg.solve(P.T @ P + lam * torch.eye(2 * nf, dtype=P.dtype), P.T @ vals[t].reshape(3, -1)[:, idx].T)
        expect = (phi @ w).T.reshape(3, n, n)
        assert torch.allclose(fill(vals[t], masks[t]), expect, rtol=0, atol=1e-9 * float(expect.abs().max()))
    both = rff_ridge_interpolate(vals, masks, sigma, nf, ridge)                      # one fill per mask group
    assert torch.allclose(both[1], fill(vals[1], masks[1]), rtol=0, atol=1e-12)


def test_cubic_fill_equals_the_snapshot_interpolator(qg_run):
    m, traj = qg_run
    vals, mask = observe(m.psi(traj[:1]), 0.25, seed=0, fixed=False)
    vals = vals.nan_to_num()
    ref = scipy_interpolate(vals[:1], mask[:1, 0], "cubic")[0]
    assert torch.allclose(CubicFill()(vals[0], mask[0, 0]), ref)


def test_cycled_analysis_at_25_percent_beats_snapshot_interpolation(qg_run):
    """The dynamics carry the points observed earlier: with a new 25 % mask per step the analysis
    error falls far below one snapshot's interpolation error (perfect model here)."""
    m, traj = qg_run
    psi = m.psi(traj)
    vals, mask = observe(psi, 0.25, seed=2, fixed=False)
    fill = RidgeFill(32, 4.0, 2 ** 16)
    xa, xb = cycled_analysis(m, vals, mask[:, 0], fill)
    snapshot = rel(xa[0], traj[0])
    assert snapshot > 0.1
    assert rel(xa[-1], traj[-1]) < 0.1 * snapshot
    assert rel(xb[-1], traj[-1]) < 0.1 * snapshot                # the forecast, too
    # at the observed points the analysis reproduces the observations (ridge 1e-6)
    got = m.psi(xa[-1])[mask[-1]]
    assert rel(got, psi[-1][mask[-1]]) < 1e-3
    # several models are cycled side by side, each as if alone
    both, _ = cycled_analysis([m, m.replace(rek=0.0)], vals[:10], mask[:10, 0], fill)
    alone, _ = cycled_analysis(m.replace(rek=0.0), vals[:10], mask[:10, 0], fill)
    assert torch.allclose(both[:, 0], xa[:10]) and torch.allclose(both[:, 1], alone)


def test_window_sums_telescope_state_errors():
    x = torch.arange(10.0)[:, None]
    assert window_sums(x, 3)[:, 0].tolist() == [1 + 2 + 3, 4 + 5 + 6, 7 + 8 + 9]     # aligned to the end
    with pytest.raises(ValueError):
        window_sums(x, 11)
    # h = theta * xi + (e(t+1) - e(t)) / dt with a slowly varying theta: per step the signal explains
    # too little of h to pass the threshold; summed over 20 steps the signal grows 20x and the
    # state-error part does not, so the term is selected with an accurate coefficient
    g = torch.Generator().manual_seed(0)
    T, P, xi = 40, 2000, 0.3
    theta = torch.randn(1, 1, P, generator=g) + 0.1 * torch.randn(T, 1, P, generator=g)
    e = torch.randn(T + 1, P, generator=g)
    h = theta[:, 0] * xi + 5 * (e[1:] - e[:-1])
    coefs = [sparse_fit([(window_sums(theta, w).movedim(1, -1).reshape(-1, 1), window_sums(h, w).reshape(-1))],
                        "stlsq", 0.2)[0][0, 0] for w in (1, 20)]
    assert coefs[0] == 0.0
    assert coefs[1] == pytest.approx(xi, rel=0.05)


def test_observation_space_fit_recovers_a_missing_drag_exactly():
    """Perfect analyses (the true states) and psi observed at half the points: the joint
    psi-space regression finds the missing bottom drag and nothing else."""
    truth, states = qg_trajectory(16, 1500, 8, seed=3)
    states = states[:6]
    vals, mask = observe(truth.psi(states), 0.5, seed=1, fixed=True)
    coef, err = observation_space_fit(truth.replace(rek=0.0), states, vals, mask[0, 0], "psi", "stlsq", 0.2)
    expect = np.zeros_like(coef)
    expect[1, TERMS.index("lap_psi2")] = -truth.rek
    assert np.array_equal(coef != 0, expect != 0)
    assert coef[1, TERMS.index("lap_psi2")] == pytest.approx(-truth.rek, rel=1e-8)
    # with a wrong imperfect model the drag coefficient comes out wrong: the test can fail
    wrong, _ = observation_space_fit(truth.replace(rek=0.5 * truth.rek), states, vals, mask[0, 0], "psi",
                                     "stlsq", 0.2)
    assert wrong[1, TERMS.index("lap_psi2")] == pytest.approx(-0.5 * truth.rek, rel=1e-8)
