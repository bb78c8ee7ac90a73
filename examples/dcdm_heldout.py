"""Held-out selection check for DCDM checkpoints (ADR 0096): iterations to rtol 1e-4 of the paper's
loop (``safeguard=False``) on problems that are neither in training nor the benchmark's instances
(:func:`sciml.linalg.families.shipped_family_system` with seed 7).

    python examples/dcdm_heldout.py shipped runs/dcdm32zr/best.pt [--grids 32 64] [--unseen] [--k 8]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sciml.linalg import dcdm_solve, load_shipped_model
from sciml.linalg.families import shipped_family_system
from sciml.models import load_model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="checkpoint paths, or 'shipped'")
    p.add_argument("--grids", type=int, nargs="*", default=[32, 64])
    p.add_argument("--unseen", action="store_true", help="also the unseen-shape family (pillars + porous) at 64^3")
    p.add_argument("--maxiter", type=int, default=130)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--k", type=int, default=2, help="directions to A-orthogonalise against (paper: 2)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    cases = [(f"train_family_{n}", n, False) for n in a.grids] + ([("unseen_64", 64, True)] if a.unseen else [])
    probs = {name: shipped_family_system(n, a.seed, unseen) for name, n, unseen in cases}
    for m in a.models:
        net = load_shipped_model() if m == "shipped" else load_model(m).eval()
        for name, (A, b, solid) in probs.items():
            hist, t = [], time.perf_counter()
            dcdm_solve(A, b, model=net, grid_shape=solid.shape, rtol=1e-4, maxiter=a.maxiter, history=hist,
                       solid=solid.ravel(), safeguard=False, k=a.k)
            hit = [i for i, h in enumerate(hist) if h <= 1e-4]
            print(f"{m:28s} k={a.k} {name:16s} iterations={hit[0] if hit else '>' + str(a.maxiter)} "
                  f"final={hist[-1]:.2e} r30={hist[min(30, len(hist) - 1)]:.2e} ({time.perf_counter() - t:.0f} s)",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
