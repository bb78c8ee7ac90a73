"""The ``pinn`` recipe: data-free physics training of any PINN-type model (PIG, PINN, Fourier-feature PINN).

Spec (``examples/configs/pig_helmholtz.yaml``)::

    recipe: pinn
    name: pig_helmholtz
    out_dir: runs/pig_helmholtz
    seed: 0
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
import xarray as xr

from sciml.errors import ConfigError
from sciml.models import build_model, load_model
from sciml.pinn.problems import get_problem
from sciml.pinn.physics_training import relative_l2, train_physics
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.utils.files import write_json


def evaluate_pinn(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Relative L2 error of a ``pinn`` checkpoint against its problem's exact or reference solution.

    The problem defines its own truth, so ``data`` must be None. Writes ``out_dir/eval.json``."""
    if data is not None:
        raise ConfigError("a pinn checkpoint is scored against its problem's own exact solution; give no data file")
    problem = load_checkpoint(checkpoint).get("extra", {}).get("problem")
    if problem is None:
        raise ConfigError(f"{str(checkpoint)!r} records no PDE problem; it was not written by the pinn recipe")
    err = relative_l2(load_model(checkpoint), get_problem(problem))
    write_json(Path(out_dir) / "eval.json", {"problem": problem, "rel_l2": err})
    return xr.Dataset(attrs={"rel_l2": err, "problem": problem})


@register_recipe("pinn", evaluate=evaluate_pinn)
def train_pinn(out_dir: str, resume: bool = False, seed: int = 0, device: str = "cpu", problem: str = "helmholtz2d",
               model: dict[str, Any] | None = None, adam_steps: int = 3000, lbfgs_steps: int = 0,
               lbfgs_max_iter: int = 20, n_colloc: int = 500, lr: float = 1e-2, lr_decay: float = 0.9995,
               sampling: str = "resampled", causal_eps: float | None = None, causal_slices: int = 32,
               eval_every: int = 500) -> Path:
    """Train ``model`` (``{"name": "pig"|"pinn"|"pinn_fourier", **kwargs}``) on the registered PDE
    ``problem`` with :func:`~sciml.pinn.physics_training.train_physics`. ``resume`` is not supported (a run is
    minutes long); it is accepted so that ``sciml train --resume`` fails loudly rather than silently."""
    if resume:
        raise ConfigError("recipe 'pinn' cannot resume; rerun it (runs are minutes long)")
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
    return save_checkpoint(path / "final.pt", net, extra={"recipe": "pinn", "problem": problem, "rel_l2": out["rel_l2"]})
