"""PIG and PINN baselines: registry, closed-form jets in physical units, and PIG's edge on high frequencies."""
from __future__ import annotations

import math

import pytest
import torch

from sciml.models import build_model
from sciml.pinn.jet import autograd_jet
from sciml.utils.floating_point import flush_denormals


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name,kw", [("pig", {"n_gaussians": 10}), ("pig", {"n_gaussians": 10, "full_cov": True}),
                                     ("pig", {"n_gaussians": 10, "truncate_k": 4}), ("pinn", {"width": 8}),
                                     ("pinn_fourier", {"n_freq": 8, "width": 8})])
def test_model_jet_matches_autograd_in_physical_coordinates(name, kw):
    lower, upper = [0.0, -4.0, -1.0], [10.0, 4.0, 1.0]  # anisotropic box: checks the chain rule
    m = build_model(name, lower=lower, upper=upper, **kw).double()
    if name == "pig":
        with torch.no_grad():
            m.embed.weights.normal_()
    x = torch.rand(30, 3, dtype=torch.float64) * (torch.tensor(upper) - torch.tensor(lower)).double() + torch.tensor(lower).double()
    u, du, ddu = m.jet(x)
    ref = autograd_jet(m, x)
    torch.testing.assert_close(u, ref.u)
    torch.testing.assert_close(du, ref.du)
    torch.testing.assert_close(ddu, ref.ddu)
    assert u.shape == (30,) and du.shape == ddu.shape == (30, 3)


def test_pig_gaussian_centres_in_physical_box():
    m = build_model("pig", lower=[0.0, -4.0], upper=[4.0, 4.0], n_gaussians=50)
    c = m.gaussian_centres()
    assert c.shape == (200, 2)
    assert float(c[:, 0].min()) >= 0 and float(c[:, 0].max()) <= 4 and float(c[:, 1].abs().max()) <= 4


def _fit(model, x, y, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((model(x) - y).norm() / y.norm())


def test_small_pig_fits_high_frequency_function_an_equal_size_mlp_cannot():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 256)[:, None]
    y = torch.sin(12 * math.pi * x[:, 0]) * torch.exp(-x[:, 0] ** 2)
    pig = build_model("pig", lower=[-1.0], upper=[1.0], n_gaussians=24, channels=4, sigma0=0.05)
    mlp = build_model("pinn", lower=[-1.0], upper=[1.0], width=17, depth=2)
    assert abs(n_params(pig) - n_params(mlp)) < 0.1 * n_params(pig)
    with flush_denormals():
        err_pig = _fit(pig, x, y, 200, 1e-2)
        torch.manual_seed(0)
        err_mlp = _fit(mlp, x, y, 200, 1e-2)
    assert err_pig < 0.1 and err_mlp > 0.5, (err_pig, err_mlp)
