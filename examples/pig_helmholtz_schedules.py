"""Is PIG's Helmholtz margin a schedule artefact? Train PIG and the MLP PINN at the pinn recipe's Helmholtz
budget (2000 Adam iterations, 500 points, seed 0: what `sciml bench pig` measures) with two lr decays each, so
that each method can be compared at its better schedule. Prints one line per run; about 5 minutes on one CPU core.

    python examples/pig_helmholtz_schedules.py
"""
import torch

from sciml.pinn import get_problem, train_physics
from sciml.pinn.task import build_pinn_model

torch.set_num_threads(1)
problem = get_problem("helmholtz2d")
out: list[dict] = []
for decay in (0.9985, 0.9995):
    for method in ("pig", "pinn"):
        model = build_pinn_model({"name": method}, problem, seed=0)  # seeded as `sciml train` seeds it
        r = train_physics(model, problem, lr_decay=decay, seed=0)  # the problem's budget, but this decay
        out.append({"method": method, "decay": decay, "rel_l2": r["rel_l2"], "wall_s": r["wall_s"]})
        print(out[-1], flush=True)
best = {m: min(r["rel_l2"] for r in out if r["method"] == m) for m in ("pig", "pinn")}
print(f"best of each: PIG {best['pig']:.2e}, PINN {best['pinn']:.2e}, ratio {best['pinn'] / best['pig']:.1f}x")
