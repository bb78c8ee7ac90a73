"""MEDIDA pieces: observation operators, regression, EnKF, interpolators, end-to-end discovery."""
import math

import numpy as np
import pytest
import torch

from sciml.discovery.enkf import StochasticEnKF, gaspari_cohn
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import (rff_interpolate, rff_kernel, rff_ridge_interpolate, rff_select_sigma,
                                         scipy_interpolate, spectral_interpolate)
from sciml.discovery.library import TERMS, increments, lowpass
from sciml.discovery.observe import add_noise, observe, random_mask
from sciml.discovery.regression import sparse_fit
from tests.discovery.conftest import qg_trajectory


@pytest.fixture(scope="module")
def qg_states():
    return qg_trajectory(16, 1500, 8, seed=3)


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


def test_fixed_observation_mask_is_shared_over_time():
    q = torch.randn(5, 2, 16, 16, dtype=torch.float64)
    _, fixed = observe(q, 0.25, seed=0, fixed=True)
    _, moving = observe(q, 0.25, seed=0)
    assert (fixed == fixed[:1]).all() and int(fixed[0, 0].sum()) == 64
    assert not (moving == moving[:1]).all() and torch.equal(moving[:, 0], moving[:, 1])


def test_spectral_interpolate_is_exact_for_band_limited_fields():
    n, g = 32, torch.Generator().manual_seed(1)
    k = torch.fft.fftfreq(n, 1 / n)
    band = (k[:, None] ** 2 + k[None, :] ** 2 <= 8 ** 2)
    spec = torch.randn(3, 2, n, n, dtype=torch.complex128, generator=g) * band
    f = torch.fft.ifft2(spec).real                                     # real, band-limited to |k| <= 8
    mask = random_mask((1, n, n), 0.5, seed=0).expand(3, n, n)
    out = spectral_interpolate(f, mask, kmax=8)
    assert float((out - f).abs().max() / f.abs().max()) < 1e-8
    # auto radius: unknowns below the number of points; still exact here (radius >= 8)
    assert float((spectral_interpolate(f, mask) - f).abs().max() / f.abs().max()) < 1e-8
    # a wrong band limit is not exact: the test can fail
    assert float((spectral_interpolate(f, mask, kmax=5) - f).abs().max() / f.abs().max()) > 1e-2


def test_lowpass_keeps_exact_recovery_and_removes_high_wavenumbers(qg_states):
    truth, states = qg_states
    med = ModelErrorDiscovery(truth.replace(rek=0.0), kcut=0.5).fit(states)
    true = np.zeros((2, len(TERMS)))
    true[1, TERMS.index("lap_psi2")] = -truth.rek
    s = score(med.coef_, true)
    assert s["correct_terms"] == 1.0 and s["coef_rel_err"] < 1e-6
    x = 2 * math.pi * torch.arange(16, dtype=torch.float64) / 16
    hi, lo = torch.cos(6 * x)[None, :].expand(16, 16), torch.cos(2 * x)[:, None].expand(16, 16)
    out = lowpass(truth, hi + lo, 0.5)                                  # keeps |k| <= 4 of 16 points
    assert torch.allclose(out, lo, atol=1e-12)


def test_observation_minus_forecast_increments(qg_states):
    truth, states = qg_states
    bad = truth.replace(rek=0.0)
    h0, th0 = increments(bad, states)
    h1, th1 = increments(bad, states, targets=states)
    assert torch.equal(h0, h1) and torch.equal(th0, th1)
    # An analysis shrunk toward the imperfect forecast biases analysis increments by the gain;
    # comparing the forecast with the observations does not.
    hist = torch.stack([states[2:-1], states[1:-2], states[:-3]])
    fc = bad.step_from_history(hist)
    analysis = states.clone()
    analysis[3:] = 0.5 * states[3:] + 0.5 * fc                          # gain 0.5 at the last step only
    med_a = ModelErrorDiscovery(bad).fit(analysis[:4])
    med_o = ModelErrorDiscovery(bad).fit(analysis[:4], targets=states[:4])
    true = np.zeros((2, len(TERMS)))
    true[1, TERMS.index("lap_psi2")] = -truth.rek
    assert abs(score(med_a.coef_, true)["coef_rel_err"] - 0.5) < 1e-3
    assert score(med_o.coef_, true)["coef_rel_err"] < 1e-6


def test_rff_shared_network_for_a_fixed_mask():
    n = 16
    x = 2 * math.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n
    f = torch.sin(x)[None, :] * torch.cos(x)[:, None]
    vals = torch.stack([torch.stack([f * (1 + 0.1 * t), -f]) for t in range(3)])   # (3, 2, n, n)
    mask = random_mask((1, n, n), 0.5, seed=0).expand(3, n, n)
    out = rff_interpolate(vals, mask, steps=400, width=64, n_freq=32, sigma=1.5, lr=1e-2)
    assert out.shape == vals.shape
    assert float((out - vals).pow(2).mean().sqrt() / vals.pow(2).mean().sqrt()) < 0.05


def test_sparse_fit_per_equation_scaling():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4000, 5, dtype=torch.float64, generator=g)
    noise = torch.randn(4000, dtype=torch.float64, generator=g)
    y_big = 10.0 * X[:, 0]                                   # loud equation
    y_quiet = 0.3 * X[:, 1] + 0.2 * noise                    # quiet: the term explains ~70 % of it
    y_zero = 1e-12 * noise                                   # no missing term at all
    systems = [(X, y_big), (X, y_quiet), (X, y_zero)]
    common, _ = sparse_fit(systems, "stlsq", threshold=0.2, scale="common")
    per_eq, _ = sparse_fit(systems, "stlsq", threshold=0.2, scale="equation")
    assert common[1, 1] == 0                                 # dropped: small against the common RMS
    assert per_eq[1, 1] != 0 and abs(per_eq[1, 1] - 0.3) < 0.02
    assert (per_eq[1] != 0).sum() == 1 and (per_eq[2] == 0).all() and per_eq[0, 0] != 0
    with pytest.raises(ValueError):
        sparse_fit(systems, "stlsq", scale="nope")


def test_rff_kernel_is_the_inner_product_of_the_random_features():
    n, sigma, nf = 16, 3.0, 40
    g = torch.Generator().manual_seed(0)
    B = torch.round(sigma * torch.randn(nf, 2, generator=g, dtype=torch.float64))    # same draw as rff_kernel
    c = -math.pi + 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    z = torch.stack([yy, xx], -1).reshape(-1, 2) @ B.T
    phi = torch.cat([torch.cos(z), torch.sin(z)], 1)
    gram = phi @ phi.T
    kern = rff_kernel(n, sigma, nf, seed=0)
    i = torch.arange(n * n)
    expect = kern[(i[:, None] // n - i[None] // n) % n, (i[:, None] % n - i[None] % n) % n]
    assert torch.allclose(gram, expect, atol=1e-9)


def test_rff_ridge_interpolates_and_cross_validation_picks_a_scale_that_resolves_the_field():
    n = 32
    x = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    f = torch.sin(6 * x)[None, :] * torch.cos(5 * x)[:, None] + torch.cos(7 * x)[:, None]   # |k| ~ 7
    vals = torch.stack([f, 0.5 * f.T])[None]
    mask = random_mask((1, n, n), 0.5, seed=0)
    idx = torch.nonzero(mask[0].reshape(-1)).squeeze(1)
    sigma = rff_select_sigma(vals.reshape(2, -1)[:, idx].T, idx, n, (1.0, 3.0, 8.0))
    assert sigma == 3.0          # 1: cannot reach |k| = 7; 8: correlation length below the grid spacing
    out = rff_ridge_interpolate(vals, mask, sigma)
    assert float((out - vals).pow(2).mean().sqrt() / vals.pow(2).mean().sqrt()) < 2e-2
    assert torch.equal(rff_interpolate(vals, mask, depth=0, sigma=3.0, n_freq=2 ** 20), out)
