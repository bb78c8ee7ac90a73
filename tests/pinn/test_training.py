"""Physics-loss training through the shared Trainer: Adam then L-BFGS, final error reported."""
from __future__ import annotations

import torch

from sciml.models import build_model
from sciml.pinn.physics_training import PhysicsLoss, train_physics
from sciml.pinn.problems import get_problem
from sciml.pinn.sampling import CollocationSampler
from sciml.utils.floating_point import denormals_flushed


def test_adam_then_lbfgs_reduces_loss_and_reports_final_error():
    p = get_problem("helmholtz2d")
    m = build_model("pig", lower=p.lower, upper=p.upper, n_gaussians=40, sigma0=0.2)
    assert not denormals_flushed()
    out = train_physics(m, p, adam_steps=40, lbfgs_steps=2, lbfgs_max_iter=10, n_colloc=128, eval_every=20)
    assert not denormals_flushed()  # the process-wide flag is restored: later code keeps IEEE subnormals
    hist = out["history"]
    assert len(hist) == 3  # two Adam epochs + one L-BFGS epoch
    assert hist[1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    assert hist[2]["train_loss"] < hist[1]["train_loss"]  # L-BFGS improves on the frozen points
    assert out["history"][-1]["val_rel_l2"] == out["rel_l2"]  # the final error, not the best
    assert out["wall_s"] > 0


def test_frozen_loss_is_deterministic_for_lbfgs():
    p = get_problem("klein_gordon")
    m = build_model("pinn", lower=p.lower, upper=p.upper, width=8, depth=2)
    loss = PhysicsLoss(p, CollocationSampler(p, 64), n_constraint=64)
    a, _ = loss(m)
    b, _ = loss(m)
    assert not torch.equal(a, b)  # fresh points every call
    loss.freeze()
    c, logs = loss(m)
    d, _ = loss(m)
    assert torch.equal(c, d) and {"loss_res", "loss_bc", "loss_ic", "loss_ic_t"} <= set(logs)
