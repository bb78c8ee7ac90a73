"""Experiments: a YAML file -> data, model, Trainer, evaluation and report.

``sciml train CONFIG.yaml`` runs :func:`run_experiment`; each YAML section maps 1:1 to a
dataclass below, unknown keys and wrong types are errors, and relative paths resolve against the
YAML file's folder. Example (``examples/configs/darcy_fno.yaml``)::

    name: darcy_fno
    out_dir: runs/darcy_fno
    data: {make: darcy, params: {n: 200, res: 32, seed: 0}, inputs: [a], targets: [u]}
    model: {name: fno, modes: 12, width: 32}
    loss: {name: rel_l2}
    train: {epochs: 20, batch_size: 16, lr: 1e-3}
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from sciml.config import ConfigPath, check_call, check_kwargs, from_dict, load_yaml
from sciml.data import FieldDataset, Normalizers, fingerprint, open_dataset, split_indices, validate
from sciml.data.registry import make_or_reuse
from sciml.errors import ConfigError
from sciml.models import MODELS, build_model, count_parameters
from sciml.registry import Registry

# method recipes runnable from a YAML `task:` key: fn(out_dir, resume, **params) -> checkpoint path
TASKS: Registry = Registry("task", ["sciml.linalg", "sciml.pinn", "sciml.inverse", "sciml.climate"])


class _LazyRecipe:
    """A recipe imported on first use; its ``__signature__``/``__wrapped__`` are the real function's, so
    config checks see its parameters and types."""

    def __init__(self, module: str, name: str):
        self.module, self.name, self.__qualname__ = module, name, f"{module}.{name}"

    @property
    def __wrapped__(self):
        import importlib

        return getattr(importlib.import_module(self.module), self.name)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.__wrapped__)

    def __call__(self, **kw):
        return self.__wrapped__(**kw)


TASKS.register("dcdm")(_LazyRecipe("sciml.linalg.training", "train_dcdm"))
TASKS.register("trajectory")(_LazyRecipe("sciml.evaluate.trajectory", "train_trajectory"))
from sciml.train import Trainer, TrainConfig, build_loss
from sciml.train.seed import seed_everything


@dataclass
class DataConfig:
    """Where the data comes from: an existing file (``path``) or a registered generator (``make``)."""

    path: ConfigPath | None = None
    make: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=lambda: ["a"])
    targets: list[str] = field(default_factory=lambda: ["u"])
    split: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    split_seed: int = 0
    normalize: bool | str = True  # True: one mean/std per variable; "pointwise": per grid point; False: none

    def __post_init__(self) -> None:
        if "train" not in self.split or not set(self.split) <= {"train", "val", "test"}:
            raise ConfigError(f"split needs a 'train' part and only 'train', 'val', 'test', got {self.split}")


@dataclass
class ExperimentConfig:
    """``task: field`` (default) trains a field-to-field model on ``data``; another task name runs the
    method's own registered recipe with ``params`` (e.g. ``task: dcdm``)."""

    task: str = "field"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "experiment"
    out_dir: ConfigPath = "runs/experiment"
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"name": "fno"})
    loss: dict[str, Any] = field(default_factory=lambda: {"name": "rel_l2"})
    train: TrainConfig = field(default_factory=TrainConfig)


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read an experiment YAML: keys and types checked (ConfigError names the field), relative paths
    (``out_dir``, ``data.path``, a task's path parameters) resolved against the file's folder."""
    where = f"experiment config {str(path)!r}"
    base = Path(path).resolve().parent
    cfg = from_dict(ExperimentConfig, load_yaml(path), where=where, base_dir=base)
    if cfg.task != "field":
        cfg.params = check_call(TASKS.get(cfg.task), cfg.params, where=f"{where}: params", base_dir=base)
    return cfg


def load_data(cfg: DataConfig, out_dir: Path, resume: bool = False) -> tuple[xr.Dataset, Path]:
    """Open ``cfg.path`` or generate ``cfg.make``, cached in ``out_dir/data.nc`` (reused only while the
    recorded generator, parameters and seed match: :func:`sciml.data.registry.make_or_reuse`)."""
    if cfg.path:  # opened lazily, chunked along sample: a file larger than memory streams
        from sciml.data import open_chunked

        path = Path(cfg.path)
        return open_chunked(path), path
    if not cfg.make:
        raise ConfigError("data needs either 'path' (an existing file) or 'make' (a registered dataset name)")
    path = out_dir / "data.nc"
    params = dict(cfg.params)
    ds = make_or_reuse(path, cfg.make, n=params.pop("n", None), res=params.pop("res", None),
                       seed=params.pop("seed", 0), resume=resume, **params)
    return ds, path


def model_config(cfg: dict[str, Any], n_in: int, n_out: int) -> tuple[str, dict[str, Any]]:
    """Split ``{"name": ..., **kwargs}``; fill in_channels/out_channels from the data when accepted."""
    if "name" not in cfg:
        raise ConfigError("model section needs a 'name' (one of the registered models)")
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    params = inspect.signature(MODELS.get(cfg["name"]).__init__).parameters
    if "in_channels" in params:
        kwargs.setdefault("in_channels", n_in)
    if "out_channels" in params:
        kwargs.setdefault("out_channels", n_out)
    return cfg["name"], kwargs


def run_experiment(cfg: ExperimentConfig, resume: bool = False, evaluate: bool = True) -> dict[str, Any]:
    """Train and (optionally) evaluate one experiment; returns paths and test metrics."""
    if cfg.task != "field":
        recipe = TASKS.get(cfg.task)
        check_kwargs(recipe, cfg.params, where=f"task {cfg.task!r} params")
        return {"name": cfg.name, "checkpoint": str(recipe(out_dir=cfg.out_dir, resume=resume, **cfg.params))}
    out = Path(cfg.out_dir)  # created by the first write into it, so bad input leaves nothing behind
    ds, data_path = load_data(cfg.data, out, resume=resume)
    d = cfg.data
    validate(ds, required=d.inputs + d.targets, finite=True, source=str(data_path))
    parts = split_indices(ds.sizes["sample"], d.split, seed=d.split_seed)
    if evaluate and "test" in parts and len(parts["test"]) == 0:
        raise ConfigError(f"data.split {d.split} leaves no test sample of {ds.sizes['sample']}, so there is nothing "
                          "held out to evaluate on; raise data.split.test (or the number of samples), or pass --no-eval")
    if d.normalize not in (True, False, "pointwise"):
        raise ConfigError(f"data.normalize must be true, false or 'pointwise', got {d.normalize!r}")
    norms = (Normalizers.fit(ds.isel(sample=parts["train"]), d.inputs + d.targets, pointwise=d.normalize == "pointwise")
             if d.normalize else Normalizers())
    sets = {k: FieldDataset(ds, d.inputs, d.targets, indices=v, normalizers=norms, check=False)
            for k, v in parts.items() if len(v)}
    name, kwargs = model_config(cfg.model, len(d.inputs), len(d.targets))
    seed_everything(cfg.train.seed)  # before the model draws its initial weights: same seed, same run
    model = build_model(name, **kwargs)
    loss_cfg = dict(cfg.loss)
    loss = build_loss(loss_cfg.pop("name", "rel_l2"), **loss_cfg)
    # the fingerprint lets `sciml evaluate` recognise this data wherever it lives and score only the test split
    meta = {"evaluator": "field", "inputs": d.inputs, "targets": d.targets, "data_path": str(data_path.resolve()),
            "data_fingerprint": fingerprint(ds, d.inputs + d.targets),
            "split": {k: v.tolist() for k, v in parts.items()}, "experiment": cfg.name}
    trainer = Trainer(model, cfg.train, sets["train"], sets.get("val"), loss_fn=loss, normalizers=norms,
                      out_dir=out, metadata=meta)
    history = trainer.fit(resume_from="auto" if resume else None)
    result = {"name": cfg.name, "out_dir": str(out), "checkpoint": str(out / "best.pt"),
              "params": count_parameters(trainer.model), "history": history, "data_path": str(data_path)}
    if evaluate and "test" in parts and trainer.dist.is_main:
        from sciml.evaluate.evaluate import evaluate_checkpoint

        result["metrics"] = evaluate_checkpoint(out / "best.pt", data_path, out)
    return result
