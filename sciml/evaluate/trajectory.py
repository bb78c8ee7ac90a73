"""The ``trajectory`` recipe (SineNet and other next-frame models): one-step training on trajectories,
rollout evaluation.

Spec (``examples/configs/sinenet_ns.yaml``)::

    recipe: trajectory
    params:
      data: {make: ns_vorticity, params: {n: 40, res: 32, frames: 12, seed: 0}}
      variables: [w]
      history: 4
      model: {name: sinenet, waves: 4, channels: 8, padding_mode: circular, residual_output: true}
      train: {epochs: 10, batch_size: 8, lr: 0.001, weight_decay: 1.0e-5, warmup_epochs: 1, min_lr: 1.0e-7}
      rollout_steps: 8
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import torch

from sciml.config import ConfigPath, from_dict
from sciml.data import Normalizers, TrajectoryDataset, open_dataset, split_indices
from sciml.data.registry import make_or_reuse
from sciml.errors import ConfigError
from sciml.evaluate.rollout import field_rel_l2_loss, rollout, rollout_errors
from sciml.models import build_model, count_parameters
from sciml.recipes import register_recipe
from sciml.train import Trainer, TrainConfig
from sciml.train.seed import seed_everything
from sciml.utils.files import write_json


class TrajectoryData(TypedDict, total=False):
    """The ``data`` parameter: an existing file (``path``) or a registered generator (``make`` + ``params``)."""

    path: ConfigPath
    make: str
    params: dict[str, Any]


def _load(data: dict[str, Any], out: Path, resume: bool = False):
    """``data["path"]``, or ``data["make"]`` cached in ``out/data.nc`` while its provenance matches."""
    if "path" in data:
        return open_dataset(data["path"]).load()
    params = dict(data.get("params", {}))
    return make_or_reuse(out / "data.nc", data["make"], n=params.pop("n", None), res=params.pop("res", None),
                         seed=params.pop("seed", 0), resume=resume, **params)


@register_recipe("trajectory")
def train_trajectory(out_dir: str, resume: bool = False, seed: int = 0, device: str = "auto",
                     data: TrajectoryData | None = None,
                     variables: list[str] | None = None, history: int = 2, model: dict[str, Any] | None = None,
                     train: dict[str, Any] | None = None, rollout_steps: int = 8,
                     split: dict[str, float] | None = None, split_seed: int = 0) -> Path:
    """Train ``model`` to map ``history`` frames of ``variables`` to the next frame; evaluate on
    held-out trajectories (one-step and ``rollout_steps``-step rollout relative L2, physical units).

    Writes ``out_dir/{best,last}.pt`` and ``out_dir/metrics.json``; returns the best checkpoint.
    """
    out = Path(out_dir)
    ds = _load(data or {"make": "ns_vorticity"}, out, resume)
    variables = variables or [str(v) for v in ds.data_vars]
    parts = split_indices(ds.sizes["sample"], split or {"train": 0.8, "val": 0.1, "test": 0.1}, seed=split_seed)
    norms = Normalizers.fit(ds.isel(sample=parts["train"]), variables)
    sets = {k: TrajectoryDataset(ds, variables, history, 1, samples=v, normalizers=norms)
            for k, v in parts.items() if len(v)}
    fields = len(variables)
    cfg = dict(model or {"name": "sinenet", "waves": 4})
    cfg.setdefault("fields", fields)
    cfg.setdefault("history", history)
    if {"seed", "device"} & set(train or {}):
        raise ConfigError("params.train: seed and device are top-level spec keys; move them out of the train section")
    tc = from_dict(TrainConfig, {**(train or {}), "seed": seed, "device": device}, where="params.train")
    seed_everything(tc.seed)  # before the model draws its initial weights: same seed, same run
    net = build_model(cfg.pop("name"), **cfg)
    trainer = Trainer(net, tc, sets["train"], sets.get("val"), loss_fn=field_rel_l2_loss(fields),
                      normalizers=norms, out_dir=out, metadata={"recipe": "trajectory"})
    trainer.fit(resume_from="auto" if resume else None)
    m, dev = trainer.model.eval(), next(trainer.model.parameters()).device
    test_idx = parts["test"] if len(parts["test"]) else parts["train"]
    truth = torch.as_tensor(np.stack([ds[v].isel(sample=test_idx).values for v in variables], axis=2)).double()
    steps = min(rollout_steps, truth.shape[1] - history)
    x0 = norms.encode_stack(variables, truth[:, :history], dim=-3).flatten(1, 2).float()
    pred = norms.decode_stack(variables, rollout(m, x0.to(dev), steps, fields).cpu().double(), dim=-3)
    per_step = rollout_errors(pred, truth[:, history:history + steps]).mean(0)
    metrics = {"params": count_parameters(m), "one_step_rel_l2": float(per_step[0]),
               "rollout_rel_l2": float(per_step.mean()), "rollout_rel_l2_per_step": per_step.tolist()}
    write_json(out / "metrics.json", metrics)
    print(json.dumps({k: v for k, v in metrics.items() if k != "rollout_rel_l2_per_step"}))
    return out / "best.pt"
