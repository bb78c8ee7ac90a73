"""The 1-D Laplacian toy: l2 -> MMSE, l1 -> posterior median, proximal matching -> soft-threshold (MAP).

Run:  PYTHONPATH=. python examples/lpn_laplace_toy.py   (about 1-2 minutes on one CPU core)
"""
import numpy as np

from sciml.inverse.toy import evaluate_toy, posterior_stats, soft_threshold, train_toy

y = np.linspace(-3, 3, 13)
mean, median = posterior_stats(y)
print("y        ", np.round(y, 2))
print("MMSE     ", np.round(mean, 2))
print("median   ", np.round(median, 2))
print("soft-thr ", np.round(soft_threshold(y), 2))
for loss in ("l2", "l1", "prox_matching"):
    print(f"{loss:9s}", np.round(evaluate_toy(train_toy(loss, steps=700), y), 2))
