"""Gaussian embedding: closed-form derivatives against autograd, gradcheck, sigma floor, truncation."""
from __future__ import annotations

import pytest
import torch

from sciml.nn.gaussian_embedding import GaussianEmbedding


def _emb(dim=2, n=12, **kw):
    e = GaussianEmbedding(dim, n, channels=3, sigma0=0.3, generator=torch.Generator().manual_seed(0), **kw).double()
    with torch.no_grad():
        e.weights.normal_()
        e.raw_scales.add_(0.3 * torch.randn_like(e.raw_scales))
        if e.full_cov:
            e.raw_rotation.normal_()
    return e


def _autograd_jet(e, x):
    x = x.clone().requires_grad_(True)
    h = e(x)
    dh, ddh = [], []
    for c in range(h.shape[1]):
        g = torch.autograd.grad(h[:, c].sum(), x, create_graph=True)[0]
        dh.append(g)
        ddh.append(torch.stack([torch.autograd.grad(g[:, k].sum(), x, retain_graph=True)[0][:, k]
                                for k in range(x.shape[1])], 1))
    return h, torch.stack(dh, 1), torch.stack(ddh, 1)


@pytest.mark.parametrize("kw", [{}, {"full_cov": True}, {"truncate_k": 5}, {"full_cov": True, "truncate_k": 5}])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_closed_form_jet_matches_autograd(kw, dim):
    e = _emb(dim, **kw)
    x = torch.rand(40, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    h, dh, ddh = e.jet(x)
    ha, dha, ddha = _autograd_jet(e, x)
    torch.testing.assert_close(h, ha, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dh, dha, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ddh, ddha, rtol=1e-8, atol=1e-8)


class _Jet(torch.nn.Module):
    def __init__(self, e):
        super().__init__()
        self.e = e

    def forward(self, x):
        return self.e.jet(x)


@pytest.mark.parametrize("kw", [{}, {"full_cov": True}, {"truncate_k": 3}])
def test_gradcheck_jet_wrt_inputs_and_parameters(kw):
    from torch.func import functional_call

    wrapper = _Jet(_emb(2, n=4, **kw))
    names = [n for n, _ in wrapper.named_parameters()]
    leaves = [p.detach().clone().requires_grad_(True) for _, p in wrapper.named_parameters()]
    x = (torch.rand(6, 2, dtype=torch.float64) * 2 - 1).requires_grad_(True)

    def f(x, *leaves):
        return functional_call(wrapper, dict(zip(names, leaves)), (x,))

    assert torch.autograd.gradcheck(f, (x, *leaves), eps=1e-6, atol=1e-5)


def test_float32_fast_path_accuracy():
    """The expanded (matmul) exponent stays accurate in float32 at the paper's sigma."""
    e = GaussianEmbedding(2, 50, 4, sigma0=0.1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        e.weights.normal_()
    x = torch.rand(200, 2) * 2 - 1
    h32, dh32, ddh32 = e.jet(x)
    h64, dh64, ddh64 = e.double().jet(x.double())
    for a, b in [(h32, h64), (dh32, dh64), (ddh32, ddh64)]:
        assert float((a.detach().double() - b.detach()).norm() / b.detach().norm()) < 1e-4


def test_sigma_never_below_floor():
    e = GaussianEmbedding(2, 8, 2, sigma0=0.1, sigma_floor=0.02)
    with torch.no_grad():
        e.raw_scales.fill_(-1e4)
    assert float(e.sigma.detach().min()) >= 0.02 * (1 - 1e-6)
    h, dh, ddh = e.jet(torch.zeros(3, 2))
    assert torch.isfinite(ddh).all()


def test_truncation_matches_full_for_narrow_gaussians():
    e = GaussianEmbedding(2, 64, 2, sigma0=0.02, generator=torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        e.weights.normal_()
    t = GaussianEmbedding(2, 64, 2, sigma0=0.02, truncate_k=16).double()
    t.load_state_dict(e.state_dict())
    x = torch.rand(100, 2, dtype=torch.float64) * 2 - 1
    for a, b in zip(e.jet(x), t.jet(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-8)


def test_full_cov_with_zero_rotation_equals_diagonal():
    d = GaussianEmbedding(2, 10, 3, generator=torch.Generator().manual_seed(0)).double()
    f = GaussianEmbedding(2, 10, 3, full_cov=True).double()
    f.load_state_dict({**d.state_dict(), "raw_rotation": torch.zeros(3, 10, 2, 2, dtype=torch.float64)})
    x = torch.rand(20, 2, dtype=torch.float64)
    for a, b in zip(d.jet(x), f.jet(x)):
        torch.testing.assert_close(a, b)
