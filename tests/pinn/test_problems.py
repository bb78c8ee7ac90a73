"""Problem library: exact solutions satisfy their PDEs and BC/IC; samplers respect the domain."""
from __future__ import annotations

import pytest
import torch

from sciml.pinn.jet import Jet, autograd_jet
from sciml.pinn.problems import get_problem, problem_names
from sciml.pinn.sampling import CollocationSampler

EXACT = ["helmholtz2d", "helmholtz2d_hf", "klein_gordon", "flow_mixing", "poisson_sharp"]


def test_all_issue_problems_registered():
    assert set(EXACT + ["nonlinear_diffusion", "allen_cahn"]) <= set(problem_names())


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_residual_vanishes(name):
    p = get_problem(name)
    x = p.sample_interior(500, torch.Generator().manual_seed(0)).double()
    r = p.residual(x, autograd_jet(p.exact, x)).detach()
    scale = p.residual(x, Jet(torch.zeros_like(x[:, 0]), torch.zeros_like(x), torch.zeros_like(x))).abs().max().detach()
    assert float(r.abs().max()) < 1e-11 * max(float(scale), 1.0)
    # and a wrong field does not satisfy it (the check can fail)
    wrong = p.residual(x, autograd_jet(lambda z: p.exact(z) + 0.01 * z[:, 0] ** 2, x))
    assert float(wrong.detach().abs().max()) > 1e-3


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_constraints(name):
    p = get_problem(name)

    def ev(x, order):
        x = x.double()
        return Jet(p.exact(x), None) if order == 0 else autograd_jet(p.exact, x, order)

    cons = p.constraints(ev, 400, torch.Generator().manual_seed(0))
    assert cons
    for k, v in cons.items():
        assert v.numel() > 0 and float(v.detach().abs().max()) < 1e-5, k


def test_boundary_points_lie_on_faces():
    p = get_problem("klein_gordon")
    xb = p.sample_faces(300, [1, 2], torch.Generator().manual_seed(0))
    on = ((xb[:, 1:].abs() - 1).abs() < 1e-6).any(dim=1)
    assert bool(on.all())
    assert float(xb[:, 0].min()) >= 0 and float(xb[:, 0].max()) <= 10


def test_nonlinear_diffusion_residual_is_the_conservative_form():
    """0.05 (|grad u|^2 + u Lap u) == 0.025 Lap(u^2): the FD reference solves the same PDE."""
    p = get_problem("nonlinear_diffusion")
    f = lambda z: torch.sin(2 * z[:, 1] + z[:, 0]) * torch.exp(z[:, 2]) + z[:, 1] * z[:, 2] ** 2  # noqa: E731
    x = p.sample_interior(200, torch.Generator().manual_seed(0)).double()
    j = autograd_jet(f, x)
    j2 = autograd_jet(lambda z: f(z) ** 2, x)
    lhs = p.residual(x, j) - j.d(0)  # = -0.05 (...)
    torch.testing.assert_close(lhs, -0.025 * (j2.dd(1) + j2.dd(2)))


def test_allen_cahn_periodic_constraint_detects_nonperiodic_field():
    p = get_problem("allen_cahn")
    ev_per = lambda x, o: autograd_jet(lambda z: torch.cos(torch.pi * z[:, 1]) * (1 + z[:, 0]), x.double(), max(o, 1))  # noqa: E731
    ev_bad = lambda x, o: autograd_jet(lambda z: z[:, 1] + z[:, 0], x.double(), max(o, 1))  # noqa: E731
    per = p.constraints(ev_per, 100, torch.Generator().manual_seed(0))
    bad = p.constraints(ev_bad, 100, torch.Generator().manual_seed(0))
    assert float(per["periodic"].detach().abs().max()) < 1e-12 and float(per["periodic_x"].detach().abs().max()) < 1e-10
    assert float(bad["periodic"].detach().abs().min()) > 1.0


def test_samplers_uniform_resampled_and_residual_adaptive():
    p = get_problem("poisson_sharp")
    fixed = CollocationSampler(p, 100, "uniform")
    assert torch.equal(fixed(0), fixed(5))
    res = CollocationSampler(p, 100, "resampled", every=2)
    a, b, c = res(0), res(1), res(2)
    assert torch.equal(a, b) and not torch.equal(b, c)
    # RAD with the "model" u = 0 concentrates points where |f| is large: near the sharp bump
    zero = torch.nn.Linear(2, 1)
    torch.nn.init.zeros_(zero.weight), torch.nn.init.zeros_(zero.bias)
    rad = CollocationSampler(p, 400, "rad", every=1, c=0.0, k=1.0)
    rad(0, zero)
    pts = rad(1, zero)
    near = ((pts - torch.tensor(p.centre)).norm(dim=1) < 0.15).float().mean()
    uniform_share = torch.pi * 0.15**2 / 4
    assert float(near) > 5 * uniform_share
    for x in (a, pts):
        assert float(x.min()) >= -1 and float(x.max()) <= 1
