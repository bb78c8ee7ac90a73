"""The ``field`` recipe: train a field-to-field operator (MgNO, FNO, U-Net, ...) and score its test split.

Spec (``examples/configs/darcy_fno.yaml``)::

    recipe: field
    name: darcy_fno
    out_dir: runs/darcy_fno
    data: {make: darcy, params: {n: 200, res: 32, seed: 0}, inputs: [a], targets: [u]}
    model: {name: fno, modes: 12, width: 32}
    train: {epochs: 20, batch_size: 16, lr: 1e-3}

The defaults are the MgNO paper's protocol, which ``sciml bench operators`` measures for every model:
inputs normalised pointwise (a mean and std per grid point over the training samples), the output
decoded inside the model (``decode_output``: the :class:`~sciml.models.wrappers.DecodedOutputModel`
wrapper), so the loss, the paper's spectral relative H1 (``spectral_h1``, on 2-D grids; relative L2
on others), sees physical fields, and the paper's optimiser (:class:`OperatorTrainConfig`: Adam with
weight decay 1e-4, OneCycle, no gradient clipping). The evaluator adds the model's costs
(:mod:`sciml.operators.costs`) to the test scores and refuses a model that is not
discretisation-invariant on data of another grid (:mod:`sciml.operators.resolution`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch.nn as nn
import xarray as xr

from sciml.config import ConfigPath
from sciml.data import FieldDataset, Normalizers, fingerprint, open_chunked, split_indices, validate
from sciml.data.registry import make_or_reuse, planned_params
from sciml.errors import ConfigError
from sciml.evaluate.field_eval import evaluate_field_model, open_field_data
from sciml.models import build_model, check_model, model_config, model_from_checkpoint
from sciml.models.wrappers import decoded_output
from sciml.operators.costs import checkpoint_costs
from sciml.operators.resolution import check_grid
from sciml.recipes import register_recipe
from sciml.train import Trainer, TrainConfig, build_loss
from sciml.train.checkpoint import load_checkpoint
from sciml.train.losses import LOSSES
from sciml.train.metrics import accepted_options

DEFAULT_LOSS = {"name": "spectral_h1"}  # the MgNO paper's loss, for 2-D grids
OTHER_GRIDS_LOSS = {"name": "rel_l2"}     # spectral_h1 is defined on 2-D grids only


@dataclass
class OperatorTrainConfig(TrainConfig):
    """The ``field`` recipe's training settings: :class:`~sciml.train.TrainConfig` with the MgNO paper's
    optimiser as defaults: Adam with weight decay 1e-4 and a OneCycle schedule (20 % warm-up from lr / 2
    to ``lr``, then down to lr / 200), no gradient clipping."""

    optimizer: str = "adam"
    weight_decay: float = 1e-4
    scheduler: str = "onecycle"
    scheduler_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"pct_start": 0.2, "div_factor": 2.0, "final_div_factor": 100.0})
    grad_clip: float | None = 0.0


@dataclass
class DataConfig:
    """Where the data comes from: an existing file (``path``) or a registered generator (``make``).

    ``split`` gives the fractions of the samples in each part: drawn at random with ``split_seed``, or,
    with ``split_shuffle: false``, in file order (train first), for data whose order matters (pairs
    taken from trajectories, kept apart by a contiguous split). ``periodic``: the fields live on a torus,
    so finite-difference H1 terms (the ``h1``/``l2_h1`` losses, the ``rel_h1`` score) wrap around the edges.
    ``cache``: the file that keeps the generated data (default ``OUT_DIR/data.nc``); runs that name the same
    file share one generation (it is reused only while its recorded generator, parameters and seed match).
    """

    path: ConfigPath | None = None
    make: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=lambda: ["a"])
    targets: list[str] = field(default_factory=lambda: ["u"])
    split: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    split_seed: int = 0
    split_shuffle: bool = True
    normalize: bool | str = "pointwise"  # "pointwise": per grid point; True: one mean/std per variable; False: none
    periodic: bool = False
    cache: ConfigPath | None = None

    def __post_init__(self) -> None:
        if "train" not in self.split or not set(self.split) <= {"train", "val", "test"}:
            raise ConfigError(f"split needs a 'train' part and only 'train', 'val', 'test', got {self.split}")
        if self.normalize not in (True, False, "pointwise"):
            raise ConfigError(f"data.normalize must be true, false or 'pointwise', got {self.normalize!r}")


def load_data(cfg: DataConfig, out_dir: Path, resume: bool = False) -> tuple[xr.Dataset, Path]:
    """Open ``cfg.path`` or generate ``cfg.make``, cached in ``cfg.cache`` or ``out_dir/data.nc`` (reused only
    while the recorded generator, parameters and seed match: :func:`sciml.data.registry.make_or_reuse`)."""
    if cfg.path:  # opened lazily, chunked along sample: a file larger than memory streams
        path = Path(cfg.path)
        return open_chunked(path), path
    if not cfg.make:
        raise ConfigError("data needs either 'path' (an existing file) or 'make' (a registered dataset name)")
    path = Path(cfg.cache) if cfg.cache else out_dir / "data.nc"
    params = dict(cfg.params)
    ds = make_or_reuse(path, cfg.make, n=params.pop("n", None), res=params.pop("res", None),
                       seed=params.pop("seed", 0), resume=resume, **params)
    return ds, path


def split_samples(n: int, cfg: DataConfig) -> dict[str, np.ndarray]:
    """The indices of each part of ``cfg.split`` among ``n`` samples; a test fraction that rounds to no sample is
    an error."""
    parts = split_indices(n, cfg.split, seed=cfg.split_seed, shuffle=cfg.split_shuffle)
    if cfg.split.get("test", 0) > 0 and len(parts.get("test", ())) == 0:
        raise ConfigError(f"data.split {cfg.split} leaves no test sample of {n}, so there is nothing "
                          "held out to evaluate on; raise data.split.test (or the number of samples)")
    return parts


def check_before_data(d: DataConfig, model: dict[str, Any] | None, loss: dict[str, Any] | None) -> None:
    """Refuse what the spec alone shows is wrong before any data is read or generated, so bad input leaves
    the working folder unchanged: the model section (built once and dropped), a loss that names itself
    (its name and options), and for generated data the split of the number of samples the spec asks for."""
    check_model(*model_config(model or {"name": "fno"}, in_channels=len(d.inputs), out_channels=len(d.targets)))
    if loss and "name" in loss:  # without a name the default depends on the data's grid
        build_loss(**loss_config(loss, d.periodic))
    if d.make and not d.path:
        n = planned_params(d.make, d.params).get("n")
        if isinstance(n, int) and n > 0:  # a bad count is the generator's to refuse
            split_samples(n, d)


def build_operator(model: dict[str, Any] | None, d: DataConfig, norms: Normalizers, spatial_ndim: int,
                   decode: bool) -> tuple[nn.Module, Normalizers]:
    """The model of the ``model`` section and the normalisers the data loader applies.

    With ``decode`` and normalised targets the model is wrapped in ``decoded_output`` (it returns physical
    fields) and the loader normalises the inputs only; otherwise the loader normalises both and the model
    predicts normalised targets."""
    name, kwargs = model_config(model or {"name": "fno"}, in_channels=len(d.inputs), out_channels=len(d.targets))
    if not decode or not any(t in norms for t in d.targets):
        return build_model(name, **kwargs), norms  # the caller seeded the generators: same seed, same weights
    net = decoded_output({"name": name, **kwargs}, norms, d.targets, spatial_ndim)
    return net, Normalizers({k: v for k, v in norms.items() if k not in d.targets})


def loss_config(loss: dict[str, Any] | None, periodic: bool, spatial_ndim: int = 2) -> dict[str, Any]:
    """The loss section (default: ``spectral_h1`` on a 2-D grid, ``rel_l2`` on others) with ``periodic``
    filled in from the data for losses that take it."""
    default = DEFAULT_LOSS if spatial_ndim == 2 else OTHER_GRIDS_LOSS
    cfg = dict(loss or default)
    name = cfg.get("name", default["name"])
    if name in LOSSES:  # build_loss refuses an unknown name
        for key, value in accepted_options(LOSSES[name], periodic=periodic).items():
            cfg.setdefault(key, value)
    return {**cfg, "name": name}


def evaluate_field(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Score a ``field`` checkpoint on ``data`` (None: the run's own data, its held-out test split only),
    with the model's costs (:mod:`sciml.operators.costs`) as attributes. A model that is not
    discretisation-invariant is refused on data of another grid (:func:`~sciml.operators.resolution.check_grid`)."""
    ckpt = load_checkpoint(checkpoint)
    extra = ckpt.get("extra", {})
    if data is None:
        if not extra.get("data_path"):
            raise ConfigError(f"{str(checkpoint)!r} records no data file; name the data to evaluate on")
        data = Path(extra["data_path"])
    model = model_from_checkpoint(ckpt, source=checkpoint)
    inputs = list(extra.get("inputs", ["a"]))
    ds = open_field_data(data, extra)
    check_grid(ckpt, ds[inputs[0]].shape[1:], data)
    sample_shape = (len(inputs), *ds[inputs[0]].shape[1:])
    costs = checkpoint_costs(model, ckpt, checkpoint, sample_shape)
    return evaluate_field_model(model, ds, data, out_dir, ckpt, attrs=costs)


@register_recipe("field", evaluate=evaluate_field)
def train_field(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "auto",
                data: DataConfig | None = None, model: dict[str, Any] | None = None,
                loss: dict[str, Any] | None = None, train: OperatorTrainConfig | TrainConfig | None = None,
                decode_output: bool = True) -> Path:
    """Train a field-to-field operator (``model``: a registered model and its options) on ``data``.

    ``loss`` defaults to ``spectral_h1`` (``rel_l2`` on grids that are not 2-D), ``train`` to the MgNO
    paper's optimiser (:class:`OperatorTrainConfig`); ``decode_output`` puts the target normaliser's decode
    inside the model, so the loss is computed in physical units. Writes ``out_dir/{best,last}.pt`` (the checkpoint
    records the data's path, content fingerprint and split, so ``sciml evaluate`` scores only the held-out
    test samples) and returns ``best.pt``.
    """
    d = data or DataConfig()
    out = Path(out_dir)  # created by the first write into it, so bad input leaves nothing behind
    check_before_data(d, model, loss)
    ds, data_path = load_data(d, out, resume=resume)
    validate(ds, required=d.inputs + d.targets, finite=True, source=str(data_path))
    parts = split_samples(ds.sizes["sample"], d)
    norms = (Normalizers.fit(ds.isel(sample=parts["train"]), d.inputs + d.targets, pointwise=d.normalize == "pointwise")
             if d.normalize else Normalizers())
    grid = tuple(ds[d.inputs[0]].shape[1:])
    net, loader_norms = build_operator(model, d, norms, len(grid), decode_output)
    sets = {k: FieldDataset(ds, d.inputs, d.targets, indices=v, normalizers=loader_norms, check=False)
            for k, v in parts.items() if len(v)}
    loss_cfg = loss_config(loss, d.periodic, len(grid))
    loss_fn = build_loss(**loss_cfg)
    # the fingerprint lets `sciml evaluate` recognise this data wherever it lives and score only the test split
    meta = {"recipe": "field", "inputs": d.inputs, "targets": d.targets, "data_path": str(data_path.resolve()),
            "data_fingerprint": fingerprint(ds, d.inputs + d.targets), "loss": loss_cfg, "periodic": d.periodic,
            "grid": list(grid), "split": {k: v.tolist() for k, v in parts.items()}}
    cfg = replace(train or OperatorTrainConfig(), seed=seed, device=device)
    Trainer(net, cfg, sets["train"], sets.get("val"), loss_fn=loss_fn, normalizers=loader_norms, out_dir=out,
            metadata=meta).fit(resume_from="auto" if resume else None)
    return out / "best.pt"


__all__ = ["DataConfig", "OperatorTrainConfig", "build_operator", "check_before_data", "evaluate_field", "load_data",
           "loss_config", "split_samples", "train_field"]
