"""MEDIDA pieces: observation operators, regression, EnKF, interpolators, end-to-end discovery."""
import math

import numpy as np
import pytest
import torch

from sciml.discovery.enkf import StochasticEnKF, gaspari_cohn
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import rff_interpolate, scipy_interpolate
from sciml.discovery.library import TERMS
from sciml.discovery.observe import add_noise, observe, random_mask
from sciml.discovery.regression import sparse_fit
from sciml.pde.qg import QGModel, spin_up


@pytest.fixture(scope="module")
def qg_states():
    m = QGModel(nx=16)
    q0, hist = spin_up(m, 1500, seed=3)
    traj, _ = m.run(q0, 8, history=hist)
    return m, traj[:, 0]


def test_random_mask_density_and_noise_level():
    mask = random_mask((3, 32, 32), 0.25, seed=1)
    assert mask.sum((-2, -1)).tolist() == [256, 256, 256]
    q = torch.randn(4, 2, 32, 32, dtype=torch.float64)
    noisy = add_noise(q, 1e-3, seed=0)
    ratio = (noisy - q).pow(2).mean().sqrt() / q.pow(2).mean().sqrt()
    assert abs(float(ratio) - 1e-3) < 1e-4
    vals, m = observe(q, 0.5, seed=0)
    assert torch.equal(m[:, 0], m[:, 1]) and torch.isnan(vals[~m]).all()


@pytest.mark.parametrize("method", ["stlsq", "ssr", "ard"])
def test_sparse_fit_recovers_synthetic_sparse_model(method):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2000, 6, dtype=torch.float64, generator=g) * torch.tensor([1, 1e3, 1e-3, 1, 1, 1.0])
    true = np.array([[0, 2e-3, 0, 0, 0.5, 0], [0, 0, 0, 0, 0, 0]])
    ys = [X @ torch.as_tensor(t) + 1e-4 * torch.randn(2000, dtype=torch.float64, generator=g) for t in true]
    coef, err = sparse_fit([(X, y) for y in ys], method, threshold=0.05)
    assert np.array_equal(coef != 0, true != 0)
    assert np.allclose(coef, true, rtol=1e-3, atol=0) or np.abs(coef - true).max() < 1e-3 * np.abs(true).max()
    assert (err[true != 0] > 0).all()


@pytest.mark.parametrize("err,changes,terms", [
    ("drag", dict(rek=0.0), {(1, "lap_psi2"): -5.787e-7}),
    ("beta", dict(beta=0.0), {(0, "dx_psi1"): -1.5e-11, (1, "dx_psi2"): -1.5e-11}),
    ("jac", dict(jacobian_scale=0.8), {(0, "J(psi1,q1)"): -0.2, (1, "J(psi2,q2)"): -0.2}),
])
def test_full_observations_recover_exact_terms(qg_states, err, changes, terms):
    truth, states = qg_states
    med = ModelErrorDiscovery(truth.replace(**changes)).fit(states)
    true = np.zeros((2, len(TERMS)))
    for (eq, t), v in terms.items():
        true[eq, TERMS.index(t)] = v
    s = score(med.coef_, true)
    assert s["correct_terms"] == 1.0 and s["coef_rel_err"] < 1e-6
    table = med.report()
    assert len(table) == len(terms) and set(table.columns) == {"equation", "term", "coefficient", "stderr"}


def test_corrected_model_forecasts_better(qg_states):
    truth, states = qg_states
    bad = truth.replace(beta=0.0)
    fixed = ModelErrorDiscovery(bad).fit(states[:5]).corrected_model()
    hist = torch.stack([states[4], states[3], states[2]])
    e_bad = (bad.step_from_history(hist) - states[5]).abs().max()
    e_fix = (fixed.step_from_history(hist) - states[5]).abs().max()
    assert e_fix < 1e-6 * e_bad


def test_gaspari_cohn_shape():
    r = torch.linspace(0, 3, 301, dtype=torch.float64)
    g = gaspari_cohn(r)
    assert g[0] == 1 and (g[r >= 2] == 0).all() and (g.diff() <= 1e-12).all()
    assert abs(float(gaspari_cohn(torch.tensor(1 - 1e-9)) - gaspari_cohn(torch.tensor(1 + 1e-9)))) < 1e-6


def test_enkf_analysis_pulls_ensemble_to_accurate_observations(qg_states):
    truth, states = qg_states
    g = torch.Generator().manual_seed(0)
    xf = states[0] + 0.05 * states[0].std() * torch.randn(12, *states[0].shape, generator=g, dtype=torch.float64)
    # White-noise ensemble: only the co-located observation is informative, so a radius that
    # tapers neighbours to zero (GC(2) = 0) must give a pointwise Kalman update.
    y, _ = observe(states[0], 1.0, 0.0, seed=0)
    std = torch.full((2,), 1e-4 * float(states[0].std()), dtype=torch.float64)
    xa = StochasticEnKF(truth, 12, loc_radius=0.5, inflation=1.0).analysis(xf, y, std)
    def err(x):
        return float((x.mean(0) - states[0]).pow(2).mean().sqrt())
    assert err(xa) < 0.1 * err(xf)
    assert xa.std(0).mean() < xf.std(0).mean()


def test_interpolators_on_smooth_periodic_field():
    n = 32
    x = 2 * math.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n
    f = torch.sin(2 * x)[None, :] * torch.cos(x)[:, None] + 0.5 * torch.cos(3 * x)[:, None]
    vals = torch.stack([f, -f])[None]                               # (1, 2, n, n)
    mask = random_mask((1, n, n), 0.5, seed=0)
    def rel(a):
        return float((a - vals).pow(2).mean().sqrt() / vals.pow(2).mean().sqrt())
    assert rel(scipy_interpolate(vals, mask, "cubic")) < 0.02
    assert rel(scipy_interpolate(vals, mask, "rbf")) < 0.02
    assert rel(rff_interpolate(vals, mask, steps=300, width=64, n_freq=32, sigma=1.5, lr=1e-2)) < 0.05
