"""The ``trajectory`` recipe (SineNet and other next-frame models): one-step training on trajectories,
autoregressive-rollout evaluation.

Spec (``examples/configs/sinenet_ns.yaml``; ``sciml bench sinenet --dry-run`` prints the benchmark's)::

    recipe: trajectory
    data: {make: ns_vorticity, params: {n: 104, res: 32, frames: 16, seed: 123}}
    model: {name: sinenet, waves: 8, channels: 8, padding_mode: circular}
    train: {epochs: 8, batch_size: 4}
    params:
      variables: [w]
      history: 4
      split: {train: 96, test: 8}
      rollout_steps: 8

Defaults (what ``sciml bench sinenet`` measures): the model predicts the increment over the last input
frame (``target: increment``: the ``next_frame_from_increment`` wrapper, output layer zeroed so training
starts at persistence); AdamW at lr 1e-3, weight decay 1e-5, 10% of the epochs linear warmup then cosine
to 1e-7 (:data:`TRAIN_DEFAULTS`); the loss is the relative L2 per sample and field in normalised space;
the split is in order (training the first trajectories, test the last); the last epoch's model is scored
(``select: last``; ``val_rollout`` keeps the epoch with the lowest rollout error on the validation
trajectories, the SineNet paper's protocol).

Scores (:func:`evaluate_trajectory`, relative L2 in physical units on the test trajectories):
``one_step_rel_l2`` over every test window, ``rollout_rel_l2`` over ``rollout_steps`` autoregressive steps
from each test trajectory's first frames, ``train_one_step_rel_l2`` on up to 256 training windows (the
train/test gap), persistence (copy the last frame) for scale, ``params``, ``gmacs`` (one forward pass on
one sample) and ``s_per_epoch``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, TypedDict

import numpy as np
import torch
import torch.nn as nn
import xarray as xr

from sciml.config import ConfigPath, from_dict
from sciml.data import Normalizers, TrajectoryDataset, fingerprint, open_dataset, save_dataset
from sciml.data.registry import make_or_reuse, planned_params
from sciml.errors import ConfigError, SchemaError
from sciml.evaluate.rollout import field_rel_l2_loss, rollout, rollout_errors
from sciml.models import build_model, check_model, count_parameters, model_config, model_from_checkpoint
from sciml.recipes import register_recipe
from sciml.train import Trainer, TrainConfig
from sciml.train.checkpoint import load_checkpoint
from sciml.train.history import training_time
from sciml.train.seed import seed_everything
from sciml.utils.cost import gmacs
from sciml.utils.device import default_device

# The training settings every trajectory model gets unless the spec's train section says otherwise
# (warmup_epochs defaults to a tenth of the epochs). A TrainConfig key not named here keeps its own default.
TRAIN_DEFAULTS: dict[str, Any] = {"lr": 1e-3, "weight_decay": 1e-5, "optimizer": "adamw", "scheduler": "cosine",
                                  "min_lr": 1e-7}
WARMUP_FRACTION = 0.1
TARGETS = ("increment", "state")
SELECTIONS = ("last", "val_rollout")
ONE_STEP_BATCH = 64      # windows per forward pass when scoring one-step errors
TRAIN_FIT_WINDOWS = 256  # training windows scored for the train/test gap


class TrajectoryData(TypedDict, total=False):
    """The ``data`` parameter: an existing file (``path``) or a registered generator (``make`` + ``params``)."""

    path: ConfigPath
    make: str
    params: dict[str, Any]


def _load(data: dict[str, Any], out: Path, resume: bool = False) -> tuple[xr.Dataset, Path]:
    """``data["path"]``, or ``data["make"]`` cached in ``out/data.nc`` while its provenance matches."""
    if "path" in data:
        return open_dataset(data["path"]).load(), Path(data["path"])
    params = dict(data.get("params", {}))
    ds = make_or_reuse(out / "data.nc", data["make"], n=params.pop("n", None), res=params.pop("res", None),
                       seed=params.pop("seed", 0), resume=resume, **params)
    return ds, out / "data.nc"


def split_counts(n: int, split: dict[str, float]) -> dict[str, int]:
    """Trajectories per part of ``split``: a value below 1 is a fraction of the ``n``, one of 1 or more a count."""
    if "train" not in split or not set(split) <= {"train", "val", "test"}:
        raise ConfigError(f"split needs a 'train' part and only 'train', 'val', 'test', got {split}")
    counts = {}
    for part, v in split.items():
        if v < 0 or (v >= 1 and v != int(v)):
            raise ConfigError(f"split.{part} = {v}: give a fraction below 1 or a whole number of trajectories")
        counts[part] = int(round(v * n)) if v < 1 else int(v)
    if sum(counts.values()) > n:
        raise ConfigError(f"split {split} asks for {sum(counts.values())} trajectories but the data has {n}; "
                          "lower the counts or generate more")
    return counts


def trajectory_split(n: int, split: dict[str, float], seed: int | None = None) -> dict[str, np.ndarray]:
    """Indices of the ``train``, ``val`` and ``test`` trajectories of ``n`` (counts by :func:`split_counts`).

    ``seed=None``: in order, training the first trajectories, validation the next ones, test the last,
    so runs that train on more of one generated pool share its test set and nest their training sets.
    An integer ``seed`` applies the same rule to a random permutation drawn from it.
    """
    counts = split_counts(n, split)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    n_train, n_val, n_test = (counts.get(k, 0) for k in ("train", "val", "test"))
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n - n_test:]}
    return {k: np.sort(v) for k, v in parts.items() if k in counts}


def trajectory_train_config(train: dict[str, Any] | None, seed: int, device: str) -> TrainConfig:
    """The TrainConfig of a run: ``train`` over :data:`TRAIN_DEFAULTS` (warmup: a tenth of the epochs)."""
    train = dict(train or {})
    if {"seed", "device"} & set(train):
        raise ConfigError("params.train: seed and device are top-level spec keys; move them out of the train section")
    epochs = train.get("epochs", TrainConfig.epochs)
    cfg = {**TRAIN_DEFAULTS, "warmup_epochs": WARMUP_FRACTION * epochs, **train, "seed": seed, "device": device}
    return from_dict(TrainConfig, cfg, where="params.train")


def next_frame_config(model: dict[str, Any] | None, target: str, fields: int, history: int
                      ) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """The registry name and config of the next-frame model and of the net inside it (the same pair unless
    ``target="increment"`` wraps the net in ``next_frame_from_increment``). The data fills ``fields``/``history``
    (SineNet) or ``in_channels``/``out_channels`` (FNO, U-Net) where the net takes them and ``model`` does not."""
    if target not in TARGETS:
        raise ConfigError(f"target must be one of {TARGETS}, got {target!r}")
    name, kwargs = model_config(model or {"name": "sinenet", "waves": 4}, fields=fields, history=history,
                                in_channels=history * fields, out_channels=fields)
    if target == "increment":
        return ("next_frame_from_increment", {"net": {"name": name, **kwargs}, "fields": fields}), (name, kwargs)
    return (name, kwargs), (name, kwargs)


def next_frame_model(model: dict[str, Any] | None, target: str, fields: int, history: int) -> nn.Module:
    """Build ``model`` (registry config) as a next-frame model (:func:`next_frame_config`)."""
    (name, kwargs), _ = next_frame_config(model, target, fields, history)
    return build_model(name, **kwargs)


def physical_trajectories(ds: xr.Dataset, variables: list[str], samples) -> torch.Tensor:
    """Trajectories ``samples`` of ``variables`` in physical units, ``(B, T, F, *spatial)`` float64."""
    return torch.as_tensor(np.stack([ds[v].isel(sample=samples).values for v in variables], axis=2)).double()


def first_windows(windows: TrajectoryDataset) -> torch.Tensor:
    """The normalised first ``history`` frames of each trajectory of ``windows``: ``(B, h * F, *spatial)``."""
    return torch.stack([windows[j][0] for j, (_, t0) in enumerate(windows.index) if t0 == 0])


def stack_windows(windows: TrajectoryDataset, indices=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalised inputs and next frames of ``windows`` (or of those ``indices``), each window once:
    ``(N, h * F, *spatial)`` and ``(N, F, *spatial)``."""
    indices = range(len(windows)) if indices is None else indices
    xs, ys = map(torch.stack, zip(*[windows[int(i)] for i in indices]))
    return xs, ys


def physical_frames(frames: torch.Tensor, norms: Normalizers, variables: list[str]) -> torch.Tensor:
    """Normalised frames ``(N, F, *spatial)`` in physical units as one-step trajectories ``(N, 1, F, *spatial)``
    float64, the shape :func:`~sciml.evaluate.rollout.rollout_errors` scores."""
    return norms.decode_stack(variables, frames.double(), dim=-3)[:, None]


def physical_rollout(model: nn.Module, x0: torch.Tensor, steps: int, norms: Normalizers,
                     variables: list[str]) -> torch.Tensor:
    """``steps`` autoregressive frames of ``model`` from the normalised first windows ``x0: (B, h * F, *spatial)``
    (run on the model's device), in physical units on the CPU: ``(B, steps, F, *spatial)`` float64."""
    pred = rollout(model, x0.to(next(model.parameters()).device), steps, len(variables)).cpu()
    return norms.decode_stack(variables, pred.double(), dim=-3)


def rollout_error_fn(x0: torch.Tensor, truth: torch.Tensor, norms: Normalizers, variables: list[str]
                     ) -> Callable[[nn.Module], dict[str, float]]:
    """A Trainer ``validate_fn``: the mean rollout relative L2 (physical units) from the normalised first
    windows ``x0`` against ``truth: (B, steps, F, ...)`` (the model's mode is restored afterwards)."""

    def validate(model: nn.Module) -> dict[str, float]:
        was_training = model.training
        model.eval()
        decoded = physical_rollout(model, x0, truth.shape[1], norms, variables)
        model.train(was_training)
        return {"rollout_rel_l2": float(rollout_errors(decoded, truth).mean())}

    return validate


@torch.no_grad()
def one_step_rel_l2(model: nn.Module, xs: torch.Tensor, ys: torch.Tensor, norms: Normalizers,
                    variables: list[str]) -> float:
    """Mean relative L2 (physical units) of one-step predictions on the stacked windows ``xs, ys``
    (:func:`stack_windows`)."""
    device = next(model.parameters()).device
    pred = torch.cat([model(xs[i:i + ONE_STEP_BATCH].to(device)).cpu() for i in range(0, len(xs), ONE_STEP_BATCH)])
    return float(rollout_errors(physical_frames(pred, norms, variables), physical_frames(ys, norms, variables)).mean())


def persistence_rel_l2(xs: torch.Tensor, ys: torch.Tensor, truth: torch.Tensor, norms: Normalizers,
                       variables: list[str], history: int) -> tuple[float, float]:
    """One-step and rollout relative L2 of persistence (copy the last input frame) on the stacked windows
    ``xs, ys`` (:func:`stack_windows`) and on the trajectories ``truth: (B, T, F, ...)`` rolled out from their
    first ``history`` frames."""
    last_frame = physical_frames(xs[:, -len(variables):], norms, variables)
    one = float(rollout_errors(last_frame, physical_frames(ys, norms, variables)).mean())
    later = truth[:, history:]
    return one, float(rollout_errors(truth[:, history - 1:history].expand_as(later), later).mean())


def training_cost(checkpoint: Path, ckpt: dict[str, Any], train_windows: int) -> dict[str, float]:
    """Epochs, optimiser steps and (from ``history.json`` beside the checkpoint, when there) the median seconds
    per epoch."""
    cfg = (ckpt.get("trainer") or {}).get("config", {})
    out: dict[str, float] = {}
    if cfg:
        out["epochs"] = cfg["epochs"]
        out["optimizer_steps"] = cfg["epochs"] * math.ceil(train_windows / cfg["batch_size"])
    if "s_per_epoch" in (timed := training_time(checkpoint.parent / "history.json")):
        out["s_per_epoch"] = timed["s_per_epoch"]
    return out


def _scored_trajectories(extra: dict[str, Any], ds: xr.Dataset, data: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(test, train) trajectory indices: the run's split on its own data (recognised by fingerprint), else
    every trajectory of ``data`` is a test one and there are no training ones. SchemaError when the run's
    own file (``data`` None or its recorded path) no longer holds the data it was trained on."""
    split, recorded = extra.get("split", {}), extra.get("data_fingerprint")
    same_content = recorded is not None and recorded == fingerprint(ds, extra["variables"])
    own_file = data is None or (extra.get("data_path") and Path(data).resolve() == Path(extra["data_path"]).resolve())
    if own_file and recorded is not None and not same_content:
        raise SchemaError(f"{str(data or extra['data_path'])!r} is the file this model was trained on, but its content "
                          "has changed since (another fingerprint than the checkpoint's), so its test trajectories "
                          "cannot be told from training ones; evaluate on data the model has not seen")
    if data is None or same_content:
        return np.asarray(split["test"], dtype=int), np.asarray(split["train"], dtype=int)
    return np.arange(ds.sizes["sample"]), np.arange(0)


def evaluate_trajectory(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Score a ``trajectory`` checkpoint on ``data`` (None: the run's own data, its test trajectories).

    Returns the per-step rollout error per test trajectory (``rollout_rel_l2_per_step``, dims sample x step)
    and each variable's last rollout frame and its truth (``{v}_rollout_end``, ``{v}_truth_end``); the
    scalar scores are ``attrs``. Writes ``out_dir/eval.nc``.
    """
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt, source=checkpoint)
    extra, norms = ckpt.get("extra", {}), model.normalizers
    variables, history = list(extra["variables"]), int(extra["history_frames"])
    if data is None and not extra.get("data_path"):
        raise ConfigError(f"{str(checkpoint)!r} records no data file; name the data to evaluate on")
    ds = open_dataset(data or extra["data_path"]).load()
    test_idx, train_idx = _scored_trajectories(extra, ds, data)
    test = TrajectoryDataset(ds, variables, history, 1, samples=test_idx, normalizers=norms)
    truth = physical_trajectories(ds, variables, test_idx)
    steps = int(extra.get("rollout_steps", 8))
    if history + steps > truth.shape[1]:  # fewer steps would be scored under the recorded count's name
        raise SchemaError(f"{str(checkpoint)!r} scores rollouts of {steps} steps after {history} history frames, but "
                          f"the trajectories of {str(data or extra['data_path'])!r} have {truth.shape[1]} frames; "
                          f"evaluate on trajectories of at least {history + steps} frames")
    model = model.to(default_device("auto"))
    x0, (xs, ys) = first_windows(test), stack_windows(test)
    end = truth[:, history:history + steps]
    pred = physical_rollout(model, x0, steps, norms, variables)
    per_step = rollout_errors(pred, end)
    scores = {"one_step_rel_l2": one_step_rel_l2(model, xs, ys, norms, variables),
              "rollout_rel_l2": float(per_step.mean(0).mean())}
    train = (TrajectoryDataset(ds, variables, history, 1, samples=train_idx, normalizers=norms)
             if len(train_idx) else None)
    if train is not None:
        fit = np.unique(np.linspace(0, len(train) - 1, min(TRAIN_FIT_WINDOWS, len(train))).round().astype(int))
        scores["train_one_step_rel_l2"] = one_step_rel_l2(model, *stack_windows(train, fit), norms, variables)
    scores["persistence_one_step_rel_l2"], scores["persistence_rollout_rel_l2"] = persistence_rel_l2(
        xs, ys, truth[:, :history + steps], norms, variables, history)
    scores.update(params=count_parameters(model), gmacs=gmacs(model.cpu(), x0[:1]), n_train=len(train_idx),
                  n_test=len(test_idx), train_windows=len(train) if train is not None else 0)
    scores.update(training_cost(checkpoint, ckpt, scores["train_windows"]))
    if extra.get("select") == "val_rollout":
        scores["selected_epoch"] = ckpt["trainer"]["epoch"]
        scores["val_rollout_rel_l2"] = ckpt["trainer"]["best"]
    return _write_eval(out_dir, per_step, pred[:, -1], end[:, -1], ds, variables, scores)


def _write_eval(out_dir: Path, per_step: torch.Tensor, pred_end: torch.Tensor, truth_end: torch.Tensor,
                ds: xr.Dataset, variables: list[str], scores: dict[str, float]) -> xr.Dataset:
    """The evaluation Dataset (per-step errors, last rollout frames; ``scores`` as attrs), saved as eval.nc."""
    spatial = ds[variables[0]].dims[2:]
    out = xr.Dataset({"rollout_rel_l2_per_step": (("sample", "step"), per_step.numpy(),
                                                  {"long_name": "rollout relative L2 per test trajectory and step"})},
                     coords={"step": np.arange(1, per_step.shape[1] + 1)})
    for i, v in enumerate(variables):
        out[f"{v}_rollout_end"] = (("sample", *spatial), pred_end[:, i].numpy(),
                                   {"long_name": f"{v}, last rollout step"})
        out[f"{v}_truth_end"] = (("sample", *spatial), truth_end[:, i].numpy(), {"long_name": f"{v}, true, same step"})
    out.attrs.update({k: float(v) for k, v in scores.items()})
    save_dataset(out, Path(out_dir) / "eval.nc", overwrite=True)
    return out


def _check_settings(select: str, history: int, rollout_steps: int) -> None:
    """ConfigError unless the selection rule is known and the frame counts can run."""
    if select not in SELECTIONS:
        raise ConfigError(f"select must be one of {SELECTIONS}, got {select!r}")
    if history < 1 or rollout_steps < 1:
        raise ConfigError(f"history={history}, rollout_steps={rollout_steps}: both must be >= 1 (frames in, "
                          "autoregressive steps scored)")


def check_rollout_frames(frames: int, history: int, rollout_steps: int) -> None:
    """ConfigError unless trajectories of ``frames`` time steps hold ``history`` frames in and ``rollout_steps``
    frames to score (a shorter rollout would be scored under the longer one's name)."""
    if history + rollout_steps > frames:
        most = frames - history
        allowed = f"at most rollout_steps: {most}" if most >= 1 else "no rollout step"
        raise ConfigError(f"rollout_steps={rollout_steps} with history={history} needs {history + rollout_steps} "
                          f"frames per trajectory but the data has {frames}, which allow {allowed}; lower "
                          "rollout_steps or history, or generate more frames")


def split_parts(n: int, split: dict[str, float], split_seed: int | None, select: str) -> dict[str, np.ndarray]:
    """:func:`trajectory_split` of ``n`` trajectories; ConfigError when it leaves no test trajectory, or no
    validation one for ``select: val_rollout``."""
    parts = trajectory_split(n, split, split_seed)
    if not len(parts.get("test", ())) or (select == "val_rollout" and not len(parts.get("val", ()))):
        raise ConfigError(f"split {split} leaves no {'val' if len(parts.get('test', ())) else 'test'} trajectory "
                          f"of {n}; raise its count (select: {select})")
    return parts


def check_before_data(data: dict[str, Any], variables: list[str] | None, model: dict[str, Any] | None,
                      target: str, history: int, rollout_steps: int, split: dict[str, float],
                      split_seed: int | None, select: str) -> None:
    """Refuse what the spec alone shows is wrong before any data is read or generated, so bad input leaves
    the working folder unchanged: the model section (built once and dropped when ``variables`` fix its
    channels, else its keys checked), and for generated data the split and the rollout length that the
    trajectory count and frame count the spec asks for allow."""
    outer, net = next_frame_config(model, target, len(variables or ["?"]), history)
    if variables:
        check_model(*outer)  # builds the net inside it too
    else:
        check_model(*net, build=False)
    if "make" not in data or "path" in data:
        return
    planned = planned_params(data["make"], data.get("params", {}))
    if isinstance(planned.get("n"), int) and planned["n"] > 0:  # a bad count is the generator's to refuse
        split_parts(planned["n"], split, split_seed, select)
    if isinstance(planned.get("frames"), int):  # the generators write the initial state and `frames` more
        check_rollout_frames(planned["frames"] + 1, history, rollout_steps)


@register_recipe("trajectory", evaluate=evaluate_trajectory)
def train_trajectory(out_dir: str, resume: bool = False, seed: int = 0, device: str = "auto",
                     data: TrajectoryData | None = None, variables: list[str] | None = None, history: int = 2,
                     model: dict[str, Any] | None = None, target: str = "increment",
                     train: dict[str, Any] | None = None, rollout_steps: int = 8,
                     split: dict[str, int | float] | None = None, split_seed: int | None = None,
                     select: str = "last") -> Path:
    """Train a next-frame model on trajectories; score its autoregressive rollouts on the test trajectories.

    ``model`` maps ``history`` frames of ``variables`` to the next frame.

    ``target``: ``increment`` (default) or ``state``; ``split``: trajectories per part (counts, or fractions
    below 1; default 80% train, 20% test), in order unless ``split_seed`` draws a permutation; ``select``:
    ``last`` (default) or ``val_rollout`` (the epoch with the lowest rollout error on the ``val`` part).
    Writes ``out_dir/{best,last}.pt`` and returns the checkpoint of the selected epoch.
    """
    _check_settings(select, history, rollout_steps)
    data, split = data or {"make": "ns_vorticity"}, split or {"train": 0.8, "test": 0.2}
    tc = trajectory_train_config(train, seed, device)
    check_before_data(data, variables, model, target, history, rollout_steps, split, split_seed, select)
    out = Path(out_dir)
    ds, data_path = _load(data, out, resume)
    variables = variables or [str(v) for v in ds.data_vars]
    check_rollout_frames(ds.sizes["time"], history, rollout_steps)
    parts = split_parts(ds.sizes["sample"], split, split_seed, select)
    norms = Normalizers.fit(ds.isel(sample=parts["train"]), variables)
    sets = {k: TrajectoryDataset(ds, variables, history, 1, samples=v, normalizers=norms)
            for k, v in parts.items() if len(v)}
    validate_fn = None
    if select == "val_rollout":  # the paper's selection: the epoch with the lowest validation rollout error
        truth = physical_trajectories(ds, variables, parts["val"])
        validate_fn = rollout_error_fn(first_windows(sets["val"]), truth[:, history:history + rollout_steps], norms,
                                       variables)
        tc.monitor = "val_rollout_rel_l2"
    seed_everything(tc.seed)  # before the model draws its initial weights: same seed, same run
    net = next_frame_model(model, target, len(variables), history)
    meta = {"recipe": "trajectory", "variables": variables, "history_frames": history, "rollout_steps": rollout_steps,
            "select": select, "data_path": str(data_path.resolve()), "data_fingerprint": fingerprint(ds, variables),
            "split": {k: v.tolist() for k, v in parts.items()}}
    trainer = Trainer(net, tc, sets["train"], None, loss_fn=field_rel_l2_loss(len(variables)),
                      validate_fn=validate_fn, normalizers=norms, out_dir=out, metadata=meta)
    trainer.fit(resume_from="auto" if resume else None)
    return out / ("best.pt" if select == "val_rollout" else "last.pt")
