"""The ``pinn`` recipe: data-free physics training of any PINN-type model (PIG, PINN, Fourier-feature PINN).

Spec (``examples/configs/pig_helmholtz.yaml``)::

    recipe: pinn
    name: pig_helmholtz
    out_dir: runs/pig_helmholtz
    seed: 0
    params:
      problem: helmholtz2d
      model: {name: pig}

Every training setting left out is the problem's default (:func:`sciml.pinn.budgets.training_budget`,
preset ``cpu``): the budget ``sciml bench pig`` measures. The spec's seed also seeds the model's own
random draws (PIG's Gaussians, the Fourier PINN's frequencies) unless the model section sets ``seed``.

Writes ``final.pt`` (the model after the last step: the error it reports is the final one, not the
best seen) and ``metrics.json`` (relative L2 against the exact or reference solution, training wall
time, parameters, per-epoch history) to ``out_dir``; returns the checkpoint path. Its evaluator
(``sciml evaluate final.pt``) scores the relative L2 and writes ``fields.nc``: prediction and truth on
the reference grid, and for PIG the Gaussian means before and after training.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import xarray as xr

from sciml.data.io import save_dataset
from sciml.errors import ConfigError
from sciml.models import build_model, count_parameters, model_from_checkpoint, model_signature
from sciml.pinn.physics_training import predict_grid, relative_l2, train_physics
from sciml.pinn.problems import Problem, get_problem
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.utils.files import write_json


def solution_fields(model: nn.Module, problem: Problem) -> xr.Dataset:
    """``prediction`` and ``truth`` on the problem's reference grid (dims = its coords, time first); for a
    model with Gaussians, ``centres_start`` / ``centres_trained`` (gaussian, coord): their means in physical
    coordinates as initialised (rebuilt from the model's config, which seeds them) and as trained."""
    pred, truth = predict_grid(model, problem)
    ds = xr.Dataset({"prediction": (problem.coords, pred), "truth": (problem.coords, truth)},
                    attrs={"problem": problem.name})
    if hasattr(model, "gaussian_centres"):
        start = build_model(model.sciml_config["name"], **model.sciml_config["config"])
        ds["centres_start"] = (("gaussian", "coord"), start.gaussian_centres().cpu().numpy())
        ds["centres_trained"] = (("gaussian", "coord"), model.gaussian_centres().cpu().numpy())
        ds = ds.assign_coords(coord=list(problem.coords))
    return ds


def evaluate_pinn(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Relative L2 error of a ``pinn`` checkpoint against its problem's exact or reference solution, with
    the run's training wall time (``wall_s``, NaN when the checkpoint does not record it) and trainable
    parameters (``params``).

    The problem defines its own truth, so ``data`` must be None. Writes ``out_dir/eval.json`` and
    ``out_dir/fields.nc`` (:func:`solution_fields`)."""
    if data is not None:
        raise ConfigError("a pinn checkpoint is scored against its problem's own exact solution; give no data file")
    ckpt = load_checkpoint(checkpoint)
    extra = ckpt.get("extra", {})
    if extra.get("problem") is None:
        raise ConfigError(f"{str(checkpoint)!r} records no PDE problem; it was not written by the pinn recipe")
    problem, model = get_problem(extra["problem"]), model_from_checkpoint(ckpt, checkpoint)
    scores = {"rel_l2": relative_l2(model, problem), "wall_s": float(extra.get("wall_s", float("nan"))),
              "params": count_parameters(model)}
    write_json(Path(out_dir) / "eval.json", {"problem": problem.name, **scores})
    save_dataset(solution_fields(model, problem), Path(out_dir) / "fields.nc", overwrite=True)
    return xr.Dataset(attrs={**scores, "problem": problem.name})


def build_pinn_model(model: dict[str, Any] | None, problem: Problem, seed: int) -> nn.Module:
    """``model`` (``{"name": "pig"|"pinn"|"pinn_fourier", **kwargs}``) in the problem's box: PIG gets the
    problem's size unless given; a model that draws its own random numbers is seeded with ``seed``. The
    torch generator is seeded first, so an MLP's initial weights are the same for the same seed."""
    spec = dict(model or {"name": "pig"})
    name = spec.pop("name", "pig")
    if name == "pig":
        spec = {**problem.pig_defaults, **spec}
    if "seed" in model_signature(name).parameters:
        spec.setdefault("seed", seed)
    torch.manual_seed(seed)
    return build_model(name, lower=problem.lower, upper=problem.upper, **spec)


@register_recipe("pinn", evaluate=evaluate_pinn)
def train_pinn(out_dir: str, resume: bool = False, seed: int = 0, device: str = "cpu", problem: str = "helmholtz2d",
               model: dict[str, Any] | None = None, adam_steps: int | None = None, lbfgs_steps: int | None = None,
               lbfgs_max_iter: int | None = None, n_colloc: int | None = None, lr: float | None = None,
               lr_decay: float | None = None, sampling: str = "resampled", causal_eps: float | None = None,
               causal_slices: int | None = None, eval_every: int | None = None) -> Path:
    """Train a physics-informed model (PIG by default) on a registered PDE problem, without data.

    ``model``: ``{"name": "pig"|"pinn"|"pinn_fourier", **kwargs}``; ``problem``: a registered problem
    (:func:`~sciml.pinn.problems.problem_names`), trained with
    :func:`~sciml.pinn.physics_training.train_physics`. A training setting left None is the
    problem's default (``sciml.pinn.budgets.training_budget``); ``causal_eps: 0`` turns causal weighting off.
    ``resume`` is not supported (a run is minutes long); it is accepted so that ``sciml train --resume``
    fails loudly rather than silently."""
    if resume:
        raise ConfigError("recipe 'pinn' cannot resume; rerun it (runs are minutes long)")
    prob = get_problem(problem)
    net = build_pinn_model(model, prob, seed)
    out = train_physics(net, prob, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps, lbfgs_max_iter=lbfgs_max_iter,
                        n_colloc=n_colloc, lr=lr, lr_decay=lr_decay, sampling=sampling, causal_eps=causal_eps,
                        causal_slices=causal_slices, eval_every=eval_every, seed=seed, device=device)
    path = Path(out_dir)
    metrics = {"problem": problem, "model": net.sciml_config["name"], "rel_l2": out["rel_l2"], "wall_s": out["wall_s"],
               "params": count_parameters(net), "settings": out["settings"], "history": out["history"]}
    write_json(path / "metrics.json", metrics, default=float)
    return save_checkpoint(path / "final.pt", net, extra={"recipe": "pinn", "problem": problem, "rel_l2": out["rel_l2"],
                                                          "wall_s": out["wall_s"]})
