"""Causal weighting (Wang, Sankaran, Perdikaris 2022) against a hand computation."""
from __future__ import annotations

import math

import pytest
import torch

from sciml.models import build_model
from sciml.pinn.causal import causal_residual_loss, causal_weights, slice_losses
from sciml.pinn.problems import get_problem
from sciml.pinn.sampling import CollocationSampler
from sciml.pinn.physics_training import PhysicsLoss


def test_weights_by_hand():
    w = causal_weights(torch.tensor([0.5, 1.0, 2.0, 0.25]), eps=2.0)
    # w_0 = 1, w_1 = exp(-2 * 0.5), w_2 = exp(-2 * 1.5), w_3 = exp(-2 * 3.5)
    expected = torch.tensor([1.0, math.exp(-1.0), math.exp(-3.0), math.exp(-7.0)])
    torch.testing.assert_close(w, expected)


def test_slices_and_loss_by_hand():
    # times in [0, 1], 4 slices of width 0.25; the last point sits at t1 and belongs to the last slice
    t = torch.tensor([0.1, 0.2, 0.3, 0.6, 0.7, 1.0])
    r = torch.tensor([1.0, 3.0, 2.0, 1.0, 1.0, 4.0], requires_grad=True)
    torch.testing.assert_close(slice_losses(t, r.detach() ** 2, 0.0, 1.0, 4), torch.tensor([5.0, 4.0, 1.0, 16.0]))
    loss, w = causal_residual_loss(t, r, 0.0, 1.0, n_slices=4, eps=0.1)
    # slice 0: {0.1, 0.2} -> (1 + 9) / 2 = 5;  slice 1: {0.3} -> 4;  slice 2: {0.6, 0.7} -> 1;  slice 3: {1.0} -> 16
    w_hand = [1.0, math.exp(-0.5), math.exp(-0.9), math.exp(-1.0)]
    torch.testing.assert_close(w, torch.tensor(w_hand))
    torch.testing.assert_close(loss, torch.tensor(sum(a * b for a, b in zip(w_hand, [5.0, 4.0, 1.0, 16.0])) / 4))
    loss.backward()  # the weights carry no gradient: d loss / d r_j = w_slice(j) * 2 r_j / (n_slice * M)
    grad_hand = torch.tensor([w_hand[0] * 2 * 1 / 8, w_hand[0] * 2 * 3 / 8, w_hand[1] * 2 * 2 / 4,
                              w_hand[2] * 2 * 1 / 8, w_hand[2] * 2 * 1 / 8, w_hand[3] * 2 * 4 / 4])
    torch.testing.assert_close(r.grad, grad_hand)


def test_empty_slice_counts_zero_and_eps0_is_plain_mean():
    t = torch.tensor([0.1, 0.9])
    r = torch.tensor([2.0, 1.0])
    torch.testing.assert_close(slice_losses(t, r**2, 0.0, 1.0, 2), torch.tensor([4.0, 1.0]))
    torch.testing.assert_close(slice_losses(t, r**2, 0.0, 1.0, 4), torch.tensor([4.0, 0.0, 0.0, 1.0]))
    loss, w = causal_residual_loss(t, r, 0.0, 1.0, n_slices=2, eps=0.0)
    assert torch.all(w == 1) and float(loss) == pytest.approx(2.5)


@pytest.mark.parametrize("method", ["pig", "pinn", "pinn_fourier"])
def test_physics_loss_uses_causal_weights_for_every_method(method):
    p = get_problem("allen_cahn")
    m = build_model(method, lower=p.lower, upper=p.upper)
    plain = PhysicsLoss(p, CollocationSampler(p, 256, seed=3), 64, seed=3)
    causal = PhysicsLoss(p, CollocationSampler(p, 256, seed=3), 64, seed=3, causal_eps=1e6, causal_slices=8)
    _, logs_plain = plain(m)
    _, logs = causal(m)
    # with a huge eps only the first slice counts: the causal residual loss is L_0 / M < the plain mean
    assert logs["causal_w_min"] < 1e-6
    assert logs["loss_res"] < logs_plain["loss_res"]
    with pytest.raises(ValueError, match="time-dependent"):
        PhysicsLoss(get_problem("helmholtz2d"), CollocationSampler(get_problem("helmholtz2d"), 8), causal_eps=1.0)
