"""Gaussian random fields against their analytic covariance (sampling error bounds ~4 sigma)."""
import numpy as np
import scipy.fft
import torch

from sciml.pde.grf import grf_neumann, grf_periodic, neumann_amplitudes, periodic_spectrum


def test_neumann_amplitudes_formula():
    """sqrt of tau^(2 alpha - 2) (pi^2 |k|^2 + tau^2)^(-alpha), written out for two modes."""
    amp = neumann_amplitudes(8, alpha=2.0, tau=3.0)
    assert amp[0, 0] == 0.0
    np.testing.assert_allclose(amp[1, 2], 3.0 / (5 * np.pi**2 + 9.0))
    np.testing.assert_allclose(amp[3, 0], 3.0 / (9 * np.pi**2 + 9.0))


def test_neumann_mode_variances_match_spectrum():
    """Forward DCT-II recovers the KL coefficients; their variances are the covariance eigenvalues."""
    res, n = 16, 800
    coef = scipy.fft.dctn(grf_neumann(n, res, seed=1), type=2, norm="ortho", axes=(1, 2)) / res
    var, lam = coef.var(0), neumann_amplitudes(res, 2.0, 3.0) ** 2
    ratio = var[lam > 0] / lam[lam > 0]
    assert abs(ratio.mean() - 1) < 4 * np.sqrt(2 / n / ratio.size)
    assert np.all(np.abs(ratio - 1) < 5 * np.sqrt(2 / n))
    assert abs(coef[:, 0, 0]).max() < 1e-12  # the constant mode is removed, as in FNO


def test_neumann_pointwise_variance_and_mean():
    """Var u(x) = sum_k lambda_k phi_k(x)^2 with Neumann eigenfunctions phi_k at the DCT-II points:
    larger at the corners than in the middle, unlike a stationary field."""
    res, n = 16, 3000
    u = grf_neumann(n, res, seed=2)
    nodes = np.arange(res)
    phi2 = np.where(np.arange(res)[:, None] == 0, 1.0,
                    2 * np.cos(np.pi * np.arange(res)[:, None] * (2 * nodes + 1) / (2 * res)) ** 2)  # (k, n)
    var_exact = phi2.T @ neumann_amplitudes(res, 2.0, 3.0) ** 2 @ phi2
    var = u.var(0)
    assert np.all(np.abs(var / var_exact - 1) < 5 * np.sqrt(2 / n))
    assert var_exact[0, 0] > 4 * var_exact[res // 2, res // 2]  # ~8x: Neumann fields are not stationary
    assert np.all(np.abs(u.mean(0)) < 5 * np.sqrt(var_exact / n))


def test_neumann_seeds():
    np.testing.assert_array_equal(grf_neumann(2, 16, seed=5), grf_neumann(2, 16, seed=5))
    assert not np.allclose(grf_neumann(2, 16, seed=5), grf_neumann(2, 16, seed=6))
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(grf_neumann(2, 16, seed=rng), grf_neumann(2, 16, seed=5))


def test_periodic_spectrum_matches_fno_convention():
    """E|u_k|^2 = 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha), sigma = tau^(alpha - 1), every mode."""
    res, n = 16, 1000
    w = grf_periodic(n, res, alpha=2.5, tau=7.0, seed=0)
    power = (torch.fft.fft2(w) / res**2).abs().pow(2).mean(0)
    expected = periodic_spectrum(res, 2.5, 7.0)
    np.testing.assert_allclose(expected[1, 0], 2 * 7.0**3 * (4 * np.pi**2 + 49.0) ** -2.5)
    mask = expected > 0
    ratio = power[mask] / expected[mask]
    assert abs(float(ratio.mean()) - 1) < 0.03
    assert float((ratio - 1).abs().max()) < 6 * np.sqrt(1 / n)  # |u_k|^2 ~ Exp: relative sd 1/sqrt(n)
    assert float(w.mean(dim=(1, 2)).abs().max()) < 1e-12  # zero mode removed


def test_periodic_fields_are_periodic_and_stationary():
    """Across the wrap-around the field is as continuous as inside; a Neumann field is not."""
    def wrap_ratio(u):
        inner = (u[..., :, 1:] - u[..., :, :-1]).pow(2).mean() if torch.is_tensor(u) else ((u[..., :, 1:] - u[..., :, :-1]) ** 2).mean()
        across = (u[..., :, 0] - u[..., :, -1]) ** 2
        return float(across.mean() / inner)

    w = grf_periodic(400, 32, alpha=2.0, tau=3.0, seed=3)
    assert abs(wrap_ratio(w) - 1) < 0.2
    assert wrap_ratio(grf_neumann(400, 32, seed=3)) > 5  # the check can fail
    var = w.var(0)
    assert float(var.max() / var.min()) < 1.6  # same variance everywhere (vs corners x2+ for Neumann)


def test_periodic_seed_device_dtype():
    a = grf_periodic(2, 8, seed=1, device="cpu", dtype=torch.float32)
    assert a.dtype == torch.float32 and a.shape == (2, 8, 8)
    torch.testing.assert_close(a, grf_periodic(2, 8, seed=1, dtype=torch.float32))
    g = torch.Generator().manual_seed(1)
    torch.testing.assert_close(grf_periodic(2, 8, seed=g), grf_periodic(2, 8, seed=1))
    assert not torch.allclose(grf_periodic(2, 8, seed=2), grf_periodic(2, 8, seed=1))
