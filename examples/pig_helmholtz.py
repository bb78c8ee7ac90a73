"""PIG vs an MLP PINN on the 2-D Helmholtz problem, through the Python API (about 5 minutes on one core).

    PYTHONPATH=. python examples/pig_helmholtz.py [--steps 2000]
"""
from __future__ import annotations

import argparse

import torch

from sciml.models import build_model
from sciml.pinn import get_problem, train_physics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--problem", default="helmholtz2d")
    args = ap.parse_args()
    torch.set_num_threads(1)
    problem = get_problem(args.problem)  # domain, residual, BC/IC and exact solution
    for name, cfg in [("pig", problem.pig_defaults), ("pinn", {"width": 50, "depth": 4})]:
        model = build_model(name, lower=problem.lower, upper=problem.upper, **cfg)
        out = train_physics(model, problem, adam_steps=args.steps, n_colloc=500, lr_decay=0.9985)  # the bench budget
        n = sum(p.numel() for p in model.parameters())
        print(f"{name:5s} rel L2 {out['rel_l2']:.2e}  ({out['wall_s']:.0f} s, {n} parameters)")


if __name__ == "__main__":
    main()
