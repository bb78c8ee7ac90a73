"""Metrics against hand computations."""
import math

import torch

from sciml.train import metrics as M
from sciml.train.losses import H1Loss, RelLpLoss


def test_rel_l2_by_hand():
    t = torch.tensor([[[3.0, 4.0]], [[1.0, 0.0]]])  # norms 5 and 1
    p = torch.tensor([[[3.0, 5.0]], [[0.0, 0.0]]])  # errors 1 and 1
    torch.testing.assert_close(M.rel_l2(p, t), torch.tensor([0.2, 1.0]))
    torch.testing.assert_close(RelLpLoss()(p, t), torch.tensor(0.6))
    torch.testing.assert_close(M.rel_lp(p, t, 1), torch.tensor([1 / 7, 1.0]))


def test_rmse_mae_max_by_hand():
    t = torch.zeros(1, 4)
    p = torch.tensor([[1.0, -1.0, 3.0, 1.0]])
    assert float(M.mse(p, t)) == 3.0
    assert math.isclose(float(M.rmse(p, t)), math.sqrt(3.0), rel_tol=1e-6)
    assert float(M.mae(p, t)) == 1.5
    assert float(M.max_abs_error(p, t)) == 3.0


def test_h1_of_linear_field():
    """u = x on a 5x5 vertex grid of [0,1]^2: |u|^2 mean = mean(x^2), |grad u|^2 = 1."""
    x = torch.linspace(0, 1, 5)
    u = x.expand(5, 5).reshape(1, 1, 5, 5)
    expected = float((x**2).mean()) + 1.0
    torch.testing.assert_close(M.h1_norm_sq(u, 2), torch.tensor([expected]))
    # an error of constant c: H1 error^2 = c^2 (no gradient part)
    c = 0.1
    torch.testing.assert_close(M.rel_h1(u + c, u), torch.tensor([math.sqrt(c**2 / expected)]))
    torch.testing.assert_close(H1Loss()(u + c, u), torch.tensor(math.sqrt(c**2 / expected)))


def test_h1_periodic_sine_gradient():
    n = 64
    x = torch.arange(n) / n
    u = torch.sin(2 * math.pi * x).expand(n, n).reshape(1, 1, n, n)
    gx = M.grid_gradient(u, 2, periodic=True)[1]
    torch.testing.assert_close(gx[0, 0, 0], 2 * math.pi * torch.cos(2 * math.pi * x), atol=0.02, rtol=0)


def test_get_metric_binds_the_options_the_metric_takes():
    """``periodic`` reaches rel_h1 (a field with a jump at the wrapped edge scores differently) and is not
    passed to a metric that does not take it; the loss classes follow the same rule."""
    torch.manual_seed(0)
    t = torch.linspace(0, 1, 8).expand(8, 8).reshape(1, 1, 8, 8).double()  # a ramp: a jump across the edge
    p = t + 0.01 * torch.randn_like(t)
    torch.testing.assert_close(M.get_metric("rel_h1", periodic=True)(p, t), M.rel_h1(p, t, periodic=True))
    torch.testing.assert_close(M.get_metric("rel_h1", periodic=False)(p, t), M.rel_h1(p, t))
    assert not torch.equal(M.get_metric("rel_h1", periodic=True)(p, t), M.rel_h1(p, t))
    assert M.get_metric("rmse", periodic=True) is M.rmse
    assert M.accepted_options(H1Loss, periodic=True, cutoff=3) == {"periodic": True}
    assert M.accepted_options(RelLpLoss, periodic=True) == {}
