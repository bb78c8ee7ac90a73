"""``sciml train`` recipe (YAML ``task: pinn``): data-free physics training of any PINN-type model.

Example (``examples/configs/pig_helmholtz.yaml``)::

    task: pinn
    name: pig_helmholtz
    out_dir: runs/pig_helmholtz
    params:
      problem: helmholtz2d
      model: {name: pig, n_gaussians: 100, sigma0: 0.1}
      adam_steps: 3000
      n_colloc: 500

Writes ``final.pt`` (the model after the last step: the error it reports is the final one, not the
best seen) and ``metrics.json`` (relative L2 against the exact or reference solution, wall time,
parameters, per-epoch history) to ``out_dir``; returns the checkpoint path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from sciml.experiment import TASKS
from sciml.utils.files import write_json


@TASKS.register("pinn")
def train_pinn(out_dir: str, resume: bool = False, problem: str = "helmholtz2d",
               model: dict[str, Any] | None = None, adam_steps: int = 3000, lbfgs_steps: int = 0,
               lbfgs_max_iter: int = 20, n_colloc: int = 500, lr: float = 1e-2, lr_decay: float = 0.9995,
               sampling: str = "resampled", causal_eps: float | None = None, causal_slices: int = 32,
               eval_every: int = 500, seed: int = 0, device: str = "cpu") -> Path:
    """Train ``model`` (``{"name": "pig"|"pinn"|"pinn_fourier", **kwargs}``) on the registered PDE
    ``problem`` with :func:`~sciml.pinn.training.train_physics`. ``resume`` is not supported (a run is
    minutes long); it is accepted so that ``sciml train --resume`` fails loudly rather than silently."""
    from sciml.errors import ConfigError
    from sciml.models import build_model
    from sciml.pinn.problems import get_problem
    from sciml.pinn.training import train_physics
    from sciml.train.checkpoint import save_checkpoint

    if resume:
        raise ConfigError("task 'pinn' cannot resume; rerun it (runs are minutes long)")
    spec = dict(model or {"name": "pig"})
    name = spec.pop("name", "pig")
    prob = get_problem(problem)
    if name == "pig":
        spec = {**prob.pig_defaults, **spec}
    torch.manual_seed(seed)
    net = build_model(name, lower=prob.lower, upper=prob.upper, **spec)
    out = train_physics(net, prob, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps, lbfgs_max_iter=lbfgs_max_iter,
                        n_colloc=n_colloc, lr=lr, lr_decay=lr_decay, sampling=sampling, causal_eps=causal_eps,
                        causal_slices=causal_slices, eval_every=eval_every, seed=seed, device=device)
    path = Path(out_dir)
    metrics = {"problem": problem, "model": name, "rel_l2": out["rel_l2"], "wall_s": out["wall_s"],
               "params": sum(p.numel() for p in net.parameters() if p.requires_grad), "history": out["history"]}
    write_json(path / "metrics.json", metrics, default=float)
    return save_checkpoint(path / "final.pt", net, extra={"problem": problem, "rel_l2": out["rel_l2"]})
