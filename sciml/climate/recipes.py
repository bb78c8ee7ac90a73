"""The ``climate_emulator`` recipe: fit one emulator (LPS, CNN-LSTM, Prithvi) on a ClimateBench directory."""
from __future__ import annotations

from pathlib import Path

import xarray as xr

from sciml.climate.emulators import (WindowDataset, evaluate_climatebench, fit_pattern_scaling, output_array, scales,
                                     train_emulator, weighted_mse, with_history)
from sciml.climate.generator import generate_climatebench
from sciml.climate.io import TRAIN_EXPERIMENTS, load_climatebench
from sciml.config import ConfigPath
from sciml.errors import ConfigError
from sciml.models import build_model, load_model
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.train.seed import seed_everything


def masked_pretraining_loss(loss_fn, ratio: float = 0.5):
    """compute_loss for Prithvi pre-training: mask ``ratio`` of tokens, alternating local/global masking."""
    step = {"n": 0}

    def compute(model, batch):
        x, y = batch
        step["n"] += 1
        return loss_fn(model(x, mask_ratio=ratio, mask_mode="local" if step["n"] % 2 else "global"), y)

    return compute


def evaluate_climate_emulator(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """ClimateBench scores of an emulator checkpoint on ``data``'s ssp245 (None: the directory it trained on)."""
    ckpt = load_checkpoint(checkpoint)
    if data is None:
        recorded = ckpt.get("extra", {}).get("data_path")
        if not recorded:
            raise ConfigError(f"{str(checkpoint)!r} records no ClimateBench directory; name the one to score on")
        data = Path(recorded)
    return evaluate_climatebench(load_model(checkpoint), data, out_dir, ckpt)


EMULATORS = ("lps", "cnn_lstm", "prithvi")  # the registered models this recipe trains


@register_recipe("climate_emulator", evaluate=evaluate_climate_emulator)
def train_climate_emulator(out_dir: str, resume: bool = False, seed: int = 0, device: str = "auto",
                           data: ConfigPath | None = None, model: str = "prithvi", members: int | None = 3,
                           epochs: int = 5, pretrain_epochs: int = 2, lr: float = 1e-3, stride: int = 1,
                           config: dict | None = None) -> Path:
    """Train ``model`` (lps | cnn_lstm | prithvi) on the mean of ``members`` members; returns the checkpoint.

    ``data``: a ClimateBench folder (flat, or the release's train_val/ and test/); the six training
    experiments are read from it. ``data=None`` generates a ClimateBench-format directory under
    ``out_dir/data`` first. ``members=None`` uses every member the files hold (3 when generating).
    ``lps`` is fitted in closed form; the neural models train ``epochs`` epochs through the shared Trainer
    (``prithvi`` after ``pretrain_epochs`` of masked pre-training), ``config`` adding to their model config.
    """
    if model not in EMULATORS:
        raise ConfigError(f"unknown climate emulator {model!r}; choose one of {', '.join(EMULATORS)}")
    out = Path(out_dir)
    if data is None:
        data = str(out / "data")
        if not (out / "data" / "outputs_ssp245.nc").exists():
            generate_climatebench(data, members=members or 3, seed=seed, experiments=(*TRAIN_EXPERIMENTS, "ssp245"))
    d = load_climatebench(data, TRAIN_EXPERIMENTS, members=members)
    hist = d["historical"][0]
    inputs = [with_history(x, hist if e.startswith("ssp") else None) for e, (x, _) in d.items()]
    targets = [output_array(y) for _, y in d.values()]
    lat, grid = hist.latitude.values, (hist.sizes["latitude"], hist.sizes["longitude"])
    lps = fit_pattern_scaling(d)
    if model == "lps":
        return save_checkpoint(out / "best.pt", lps, extra={"recipe": "climate_emulator", "data_path": str(data)})
    in_s, out_s, out_mu = scales(inputs, targets)
    ds = WindowDataset(inputs, targets, stride=stride)
    cfg = dict(grid=grid, input_scale=in_s, output_scale=out_s, **(config or {}))
    init = None
    if model == "cnn_lstm":
        cfg["output_mean"] = out_mu
    elif model == "prithvi":
        seed_everything(seed)  # the pre-training start is drawn here, before train_emulator seeds
        base = build_model("prithvi", **cfg).state_dict()
        base.update({f"lps.{k}": v for k, v in lps.state_dict().items()})
        pre = train_emulator("prithvi", cfg, ds, lat, out_s, pretrain_epochs, lr=lr, out_dir=out / "pretrain",
                             init_state=base, seed=seed, device=device,
                             compute_loss=masked_pretraining_loss(weighted_mse(lat, out_s)))
        init = pre.state_dict()
    train_emulator(model, cfg, ds, lat, out_s, epochs, lr=lr, out_dir=out, init_state=init, seed=seed, device=device,
                   metadata={"data_path": str(data)})
    return out / "best.pt"
