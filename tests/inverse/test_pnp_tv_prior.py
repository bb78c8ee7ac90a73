"""TV prox vs skimage, PnP convergence monitoring, proximal matching, and prior_value against truths."""
import math
import warnings

import numpy as np
import pytest
import torch

from sciml.errors import ConvergenceError, DimensionError
from sciml.inverse import (GaussianBlur, Inpainting, PnPConvergenceWarning, gamma_schedule, make_denoiser,
                           pnp_admm, pnp_pgd, prior_value, proximal_matching_loss, total_variation, tv_prox)
from sciml.models import build_model

torch.manual_seed(0)


def test_tv_prox_optimal_and_matches_skimage():
    from skimage.restoration import denoise_tv_chambolle

    rng = np.random.default_rng(0)
    v = np.clip(np.kron(rng.random((4, 4)), np.ones((6, 6))) + 0.1 * rng.standard_normal((24, 24)), 0, 1)
    vt = torch.tensor(v)[None, None]
    ours = tv_prox(vt, 0.1, iters=2000)
    obj = lambda x: float(0.5 * ((x - vt) ** 2).sum() + 0.1 * total_variation(x).sum())
    for _ in range(5):  # no random perturbation does better
        assert obj(ours) <= obj(ours + 1e-3 * torch.randn_like(ours))
    ref = torch.tensor(denoise_tv_chambolle(v, weight=0.1, eps=1e-8, max_num_iter=2000))[None, None]
    assert abs(obj(ours) - obj(ref)) < 1e-3 * obj(ref)


def test_pnp_admm_identity_denoiser_converges_to_least_squares():
    """With D = identity, ADMM solves min ||Ax - y||^2: on an inpainting mask x -> y on kept pixels."""
    op = Inpainting((16, 16), 0.6)
    x = torch.rand(2, 1, 16, 16)
    y = op(x)
    res = pnp_admm(op, y, make_denoiser("identity"), rho=0.5, iters=200, tol=1e-7)
    assert res.converged
    assert torch.allclose(res.x * op.mask, y, atol=1e-5)


def test_pnp_callback_sees_every_iterate_and_the_last_is_the_result():
    op = GaussianBlur((16, 16), 1.0)
    y = op.measure(torch.rand(2, 1, 16, 16), 0.02)
    for solver, kw in ((pnp_admm, dict(rho=0.5)), (pnp_pgd, dict(step=1.0))):
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PnPConvergenceWarning)
            out = solver(op, y, make_denoiser("tv", weight=0.02), iters=7, tol=0.0,
                         callback=lambda k, z: seen.append((k, z.clone())), **kw)
        assert [k for k, _ in seen] == list(range(1, 8))
        assert torch.equal(seen[-1][1], out.x) and not torch.equal(seen[0][1], out.x)


def test_pnp_tv_deblur_improves_on_the_blurred_input():
    op = GaussianBlur((32, 32), 1.0)
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:24, 8:24] = 1.0
    y = op.measure(x, 0.02)
    for solver, kw in ((pnp_admm, dict(rho=1.0)), (pnp_pgd, dict(step=1.0))):
        out = solver(op, y, make_denoiser("tv", weight=0.02), iters=150, **kw)
        assert (out.x - x).norm() < 0.7 * (y - x).norm()


def test_pnp_warns_raises_and_checks_shapes():
    op = GaussianBlur((16, 16), 1.0)
    y = op(torch.rand(1, 1, 16, 16))
    with pytest.warns(PnPConvergenceWarning):
        pnp_admm(op, y, make_denoiser("tv", weight=0.05), rho=0.5, iters=2, tol=1e-12)
    with pytest.raises(ConvergenceError):
        pnp_admm(op, y, make_denoiser("tv", weight=0.05), rho=0.5, iters=2, tol=1e-12, strict=True)
    with pytest.raises(ConvergenceError, match="NaN"):
        pnp_pgd(op, y, lambda v: v * float("nan"), iters=3)
    with pytest.raises(ConvergenceError, match="diverging"):
        pnp_pgd(op, y, lambda v: 3.0 * v, iters=50)
    with pytest.raises(DimensionError):
        pnp_admm(op, torch.rand(1, 1, 16, 17), make_denoiser("identity"))


def test_proximal_matching_loss_and_schedule():
    x = torch.zeros(3, 4)
    assert proximal_matching_loss(x, x, 0.5) == 0
    far = proximal_matching_loss(x + 100, x, 0.5)
    assert math.isclose(float(far), 1.0)
    d = torch.full((1, 4), 0.5)  # ||d||^2 = 1
    assert math.isclose(float(proximal_matching_loss(d, torch.zeros(1, 4), 2.0)), 1 - math.exp(-0.25), rel_tol=1e-6)
    g = [gamma_schedule(s, 100, dim=1024) for s in (0, 30, 60, 99)]
    assert np.allclose(g, [0.08 * 32 * f for f in (8, 4, 2, 1)])


def test_prior_value_of_a_quadratic_psi_is_exact():
    """psi(y) = a ||y||^2 (all ICNN terms zeroed) -> f(y) = 2a y = prox of R(x) = (1/(4a) - 1/2)||x||^2."""
    model = build_model("lpn", kind="dense", dim=3, hidden=4, layers=2, alpha=0.3).double()
    for p in model.parameters():
        p.data.zero_()
    x = torch.randn(5, 3, dtype=torch.float64)
    r = prior_value(model, x)
    assert torch.allclose(r, (1 / 1.2 - 0.5) * (x**2).sum(1), atol=1e-6)


def test_prior_value_warns_outside_range_and_rejects_nan():
    """A tanh-like bounded prox cannot reach |x| > 1: the inversion residual triggers a warning."""
    model = build_model("lpn", kind="dense", dim=1, hidden=8, layers=2, alpha=0.0)
    with pytest.raises(ValueError):
        prior_value(model, torch.tensor([[float("nan")]]))
    for p in model.parameters():
        p.data.zero_()
    with pytest.warns(RuntimeWarning, match="residual"):  # f is constant (= skip bias 0): nothing invertible
        prior_value(model, torch.tensor([[2.0]]), iters=20)
