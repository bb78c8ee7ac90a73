"""Physics-loss glue: the ``compute_loss`` a PINN/PIG trains with, Adam + L-BFGS phases through
the shared :class:`~sciml.train.Trainer`, and the relative L2 error against the truth.

Loss = res_weight * mean(r^2) + constraint_weight * sum_k mean(c_k^2), the same for every model.
With ``causal_eps`` set (time-dependent problems), mean(r^2) becomes the causally weighted
mean over time slices of :mod:`sciml.pinn.causal`.
"""
from __future__ import annotations

import time

import torch

from sciml.pinn.budgets import resolve_training
from sciml.pinn.causal import causal_residual_loss
from sciml.pinn.jet import Jet, model_jet
from sciml.pinn.problems import Problem
from sciml.pinn.sampling import CollocationSampler
from sciml.train import TrainConfig, Trainer
from sciml.train.metrics import rel_l2
from sciml.utils.floating_point import flush_denormals


def _plain(model):
    return getattr(model, "module", getattr(model, "_orig_mod", model))


class PhysicsLoss:
    """``compute_loss(model, batch=None) -> (loss, logs)`` for data-free training.

    Interior points come from ``sampler``; BC/IC points are drawn fresh each call (``n_constraint``
    in all) unless :meth:`freeze` was called, which fixes both (needed by L-BFGS line searches).

    ``causal_eps``: if set, the residual term is causally weighted over ``causal_slices`` time
    slices (Wang et al. 2022; needs a time-dependent problem, time = first coordinate).
    """

    def __init__(self, problem: Problem, sampler: CollocationSampler, n_constraint: int = 1000, seed: int = 0,
                 causal_eps: float | None = None, causal_slices: int = 32):
        if causal_eps is not None and not problem.time_dependent:
            raise ValueError(f"causal weighting needs a time-dependent problem; {problem.name!r} is not")
        self.problem, self.sampler, self.n_constraint = problem, sampler, n_constraint
        self.causal_eps, self.causal_slices = causal_eps, causal_slices
        self.seed, self.step, self.frozen = seed, 0, False
        self.gen = torch.Generator().manual_seed(seed + 1)

    def freeze(self) -> None:
        self.frozen = True
        self.sampler.mode = "uniform"

    def __call__(self, model, batch=None):
        m = _plain(model)
        device = next(m.parameters()).device
        x = self.sampler(self.step, m).to(device)
        if self.frozen:
            self.gen.manual_seed(self.seed + 2)
        self.step += 1

        def ev(pts: torch.Tensor, order: int) -> Jet:
            pts = pts.to(device)
            return Jet(m(pts), None) if order == 0 else model_jet(m, pts, order)

        res = self.problem.residual(x, model_jet(m, x, 2))
        cons = self.problem.constraints(ev, self.n_constraint, self.gen, device)
        logs = {}
        if self.causal_eps is None:
            l_res = res.pow(2).mean()
        else:
            l_res, w = causal_residual_loss(x[:, 0], res, self.problem.lower[0], self.problem.upper[0],
                                            self.causal_slices, self.causal_eps)
            logs["causal_w_min"] = float(w.min())
        l_cons = {k: v.pow(2).mean() for k, v in cons.items()}
        loss = self.problem.res_weight * l_res + self.problem.constraint_weight * sum(l_cons.values())
        logs.update({"loss_res": float(l_res.detach()), **{f"loss_{k}": float(v.detach()) for k, v in l_cons.items()}})
        return loss, logs


@torch.no_grad()
def relative_l2(model, problem: Problem, chunk: int = 16384) -> float:
    """||u_model - u_true|| / ||u_true|| on the problem's reference points (NaN if the model gives NaN/Inf)."""
    pts, ref, _ = problem.reference()
    dev = next(model.parameters()).device
    pred = torch.cat([model(p.to(dev)).cpu() for p in pts.split(chunk)])
    return float(rel_l2(pred.reshape(1, -1), ref.reshape(1, -1))[0])


@torch.no_grad()
def predict_grid(model, problem: Problem, chunk: int = 16384):
    """(prediction, truth) reshaped to the reference grid, as numpy arrays."""
    pts, ref, shape = problem.reference()
    dev = next(model.parameters()).device
    pred = torch.cat([model(p.to(dev)).cpu() for p in pts.split(chunk)])
    return pred.reshape(shape).numpy(), ref.reshape(shape).numpy()


def train_physics(model, problem: Problem, adam_steps: int | None = None, lbfgs_steps: int | None = None,
                  n_colloc: int | None = None, n_constraint: int | None = None, lr: float | None = None,
                  lr_decay: float | None = None, sampling: str = "resampled", resample_every: int = 1,
                  lbfgs_max_iter: int | None = None, eval_every: int | None = None, seed: int = 0,
                  device: str = "cpu", progress: bool = False, causal_eps: float | None = None,
                  causal_slices: int | None = None) -> dict:
    """Train ``model`` on ``problem``: Adam (``adam_steps`` of ``n_colloc`` interior points and
    ``n_constraint`` (default ``n_colloc``) BC/IC points, lr x ``lr_decay`` per step), then an L-BFGS phase
    (``lbfgs_steps`` outer steps of up to ``lbfgs_max_iter`` iterations) on frozen points.
    ``causal_eps``/``causal_slices``: causal weighting of the residual (see :class:`PhysicsLoss`).
    A setting left None is the problem's default (:func:`sciml.pinn.budgets.resolve_training`: its CPU
    budget and loss options; ``causal_eps=0`` turns causal weighting off); ``eval_every`` divides ``adam_steps``.

    Returns {"history": [...], "rel_l2": final error (not the best), "wall_s": training time
    (validation excluded), "settings": the budget trained with}.
    """
    b = resolve_training(problem, dict(
        adam_steps=adam_steps, lbfgs_steps=lbfgs_steps, lbfgs_max_iter=lbfgs_max_iter, n_colloc=n_colloc, lr=lr,
        lr_decay=lr_decay, causal_eps=causal_eps, causal_slices=causal_slices, eval_every=eval_every))
    sampler = CollocationSampler(problem, b["n_colloc"], sampling, resample_every, seed=seed, device=device)
    loss = PhysicsLoss(problem, sampler, n_constraint or b["n_colloc"], seed=seed, causal_eps=b["causal_eps"],
                       causal_slices=b["causal_slices"])
    eval_time = [0.0]

    def validate(m):  # its time is not training time: subtracted from wall_s
        t = time.perf_counter()
        out = {"rel_l2": relative_l2(m, problem)}
        eval_time[0] += time.perf_counter() - t
        return out

    def phase(**cfg) -> list[dict]:
        cfg = TrainConfig(grad_clip=None, amp=False, device=device, seed=seed, progress=progress,
                          monitor="val_rel_l2", **cfg)
        return Trainer(model, cfg, compute_loss=loss, validate_fn=validate).fit()

    problem.reference()  # build (and cache) the reference before the clock starts
    history, t0 = [], time.perf_counter()
    with flush_denormals():  # exp() underflow makes subnormals: ~8x slower without this
        if b["adam_steps"] > 0:  # whole epochs of eval_every steps (it divides adam_steps)
            history += phase(epochs=b["adam_steps"] // b["eval_every"], steps_per_epoch=b["eval_every"], lr=b["lr"],
                             optimizer="adam", scheduler="exponential", scheduler_kwargs={"gamma": b["lr_decay"]})
        if b["lbfgs_steps"] > 0:
            loss.freeze()
            history += phase(epochs=1, steps_per_epoch=b["lbfgs_steps"], lr=1.0, optimizer="lbfgs", scheduler="none",
                             optimizer_kwargs={"max_iter": b["lbfgs_max_iter"]})
    wall = time.perf_counter() - t0 - eval_time[0]
    return {"history": history, "rel_l2": relative_l2(model, problem), "wall_s": wall, "settings": b}
