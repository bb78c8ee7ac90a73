"""Is PIG's Helmholtz margin a schedule artefact? Train PIG and the MLP PINN at the bench's Helmholtz
budget (2000 Adam iterations, 500 points, seed 0) with two lr decays each, so that each method can be
compared at its better schedule. Prints one line per run; about 5 minutes on one CPU core.

    python examples/pig_helmholtz_schedules.py
"""
import torch
from sciml.bench.pig import budget, model_config
from sciml.models import build_model
from sciml.pinn import get_problem
from sciml.pinn.physics_training import train_physics
torch.set_num_threads(1)
task = "helmholtz2d"
problem = get_problem(task)
p = budget(task, "default")
out: list[dict] = []
for decay in (0.9985, 0.9995):
    for method in ("pig", "pinn"):
        torch.manual_seed(0)
        model = build_model(method, lower=problem.lower, upper=problem.upper, **model_config(method, problem, "default", 0))
        r = train_physics(model, problem, adam_steps=p["adam"], lbfgs_steps=0, lbfgs_max_iter=20, n_colloc=p["n_colloc"],
                          lr=p["lr"], lr_decay=decay, eval_every=p["adam"] // 5, seed=0, device="cpu")
        out.append(dict(method=method, decay=decay, rel_l2=r["rel_l2"], wall_s=r["wall_s"]))
        print(out[-1], flush=True)
best = {m: min(r["rel_l2"] for r in out if r["method"] == m) for m in ("pig", "pinn")}
print(f"best of each: PIG {best['pig']:.2e}, PINN {best['pinn']:.2e}, ratio {best['pinn'] / best['pig']:.1f}x")
