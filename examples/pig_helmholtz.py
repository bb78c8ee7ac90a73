"""PIG vs an MLP PINN on the 2-D Helmholtz problem, through the Python API (about 5 minutes on one core).

    PYTHONPATH=. python examples/pig_helmholtz.py [--problem helmholtz2d] [--steps N]

The budget is the problem's default (``sciml.pinn.training_budget``: what ``sciml train`` with
``recipe: pinn`` and ``sciml bench pig`` run); ``--steps`` changes the Adam iterations only.
"""
from __future__ import annotations

import argparse

import torch

from sciml.models import build_model
from sciml.pinn import get_problem, train_physics, training_budget
from sciml.pinn.budgets import validation_interval


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=None, help="Adam iterations (default: the problem's budget)")
    ap.add_argument("--problem", default="helmholtz2d", help="a registered problem (sciml.pinn.problem_names())")
    args = ap.parse_args()
    torch.set_num_threads(1)
    problem = get_problem(args.problem)  # domain, residual, BC/IC and exact solution
    budget = training_budget(problem)
    if args.steps is not None:
        budget.update(adam_steps=args.steps, eval_every=validation_interval(args.steps))
    for name, cfg in [("pig", problem.pig_defaults), ("pinn", {"width": 50, "depth": 4})]:
        model = build_model(name, lower=problem.lower, upper=problem.upper, **cfg)
        out = train_physics(model, problem, **budget)
        n = sum(p.numel() for p in model.parameters())
        print(f"{name:5s} rel L2 {out['rel_l2']:.2e}  ({out['wall_s']:.0f} s, {n} parameters)")


if __name__ == "__main__":
    main()
