"""PIG vs an MLP PINN on the 2-D Helmholtz problem, through the Python API (about 5 minutes on one core).

    PYTHONPATH=. python examples/pig_helmholtz.py [--problem helmholtz2d] [--steps N]

The budget is the problem's default (``sciml.pinn.training_budget``: what ``train_physics``, ``sciml train``
with ``recipe: pinn`` and ``sciml bench pig`` run when no setting is given); ``--steps`` changes the Adam
iterations only.
"""
from __future__ import annotations

import argparse

import torch

from sciml.pinn import get_problem, train_physics
from sciml.pinn.task import build_pinn_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=None, help="Adam iterations (default: the problem's budget)")
    ap.add_argument("--problem", default="helmholtz2d", help="a registered problem (sciml.pinn.problem_names())")
    args = ap.parse_args()
    torch.set_num_threads(1)
    problem = get_problem(args.problem)  # domain, residual, BC/IC and exact solution
    for name in ("pig", "pinn"):
        model = build_pinn_model({"name": name}, problem, seed=0)  # PIG at the problem's size; seeded as the recipe
        out = train_physics(model, problem, adam_steps=args.steps, seed=0)
        n = sum(p.numel() for p in model.parameters())
        print(f"{name:5s} rel L2 {out['rel_l2']:.2e}  ({out['wall_s']:.0f} s, {n} parameters)")


if __name__ == "__main__":
    main()
