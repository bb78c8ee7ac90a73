"""Emulator data pipeline, training through the shared Trainer, prediction and the ``climatebench`` evaluator.

Samples are 10-year windows of inputs ending at the target year, (10, 4, H, W) with channels
(CO2, CH4, SO2, BC) in ClimateBench units; SSP windows reach back into the historical run,
historical/hist-* windows are padded with their first year. Targets are member means.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import xarray as xr
from torch.utils.data import Dataset

from sciml._version import __version__
from sciml.climate.io import INPUT_VARS, OUTPUT_VARS, PREDICTION_FILE, TEST_EXPERIMENT, write_outputs
from sciml.climate.metrics import format_score_table, score_table, spatial_rmse
from sciml.climate.sources import evaluation_experiment
from sciml.evaluate.evaluate import require_finite_predictions
from sciml.models import build_model
from sciml.train import TrainConfig, Trainer
from sciml.train.seed import seed_everything
from sciml.utils.files import write_text

WINDOW = 10
EVAL_YEARS = slice(2080, 2100)


def input_array(x: xr.Dataset) -> np.ndarray:
    """(T, 4, H, W) float32: CO2/CH4 broadcast over the grid, SO2/BC maps."""
    h, w = x.sizes["latitude"], x.sizes["longitude"]
    chans = [np.broadcast_to(x[v].values[:, None, None], (x.sizes["time"], h, w)) if x[v].ndim == 1
             else x[v].transpose("time", "latitude", "longitude").values for v in INPUT_VARS]
    return np.stack(chans, 1).astype("float32")


def with_history(x: xr.Dataset, history: xr.Dataset | None, window: int = WINDOW) -> np.ndarray:
    """Inputs of ``x`` preceded by ``window - 1`` years: the end of ``history`` or copies of the first year."""
    arr = input_array(x)
    if history is not None:
        pre = input_array(history.isel(time=slice(-(window - 1), None)))
    else:
        pre = np.repeat(arr[:1], window - 1, axis=0)
    return np.concatenate([pre, arr], 0)


def output_array(y: xr.Dataset) -> np.ndarray:
    """(T, 4, H, W) float32 member mean (if a member dim is present)."""
    if "member" in y.dims:
        y = y.mean("member")
    return np.stack([y[v].transpose("time", "latitude", "longitude").values for v in OUTPUT_VARS], 1).astype("float32")


class WindowDataset(Dataset):
    """(x (W, 4, H, Wd), y (4, H, Wd)) per target year, over several experiments.

    ``inputs``: list of (T_e + W - 1, 4, H, Wd) arrays (from :func:`with_history`);
    ``targets``: list of (T_e, 4, H, Wd); ``stride`` keeps every stride-th target year.
    """

    def __init__(self, inputs: Sequence[np.ndarray], targets: Sequence[np.ndarray], window: int = WINDOW,
                 stride: int = 1):
        self.inputs = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
        self.targets = [torch.from_numpy(np.ascontiguousarray(a)) for a in targets]
        self.window = window
        self.index = [(e, t) for e, y in enumerate(self.targets) for t in range(0, len(y), stride)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        e, t = self.index[i]
        return self.inputs[e][t:t + self.window], self.targets[e][t]


def scales(inputs: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> tuple[list[float], list[float], list[float]]:
    """Per-channel input std, output std and output mean over the training set (plain floats for configs)."""
    x, y = np.concatenate(inputs), np.concatenate(targets)
    return ([float(x[:, c].std()) or 1.0 for c in range(x.shape[1])],
            [float(y[:, c].std()) or 1.0 for c in range(y.shape[1])], [float(y[:, c].mean()) for c in range(y.shape[1])])


def weighted_mse(lat: np.ndarray, output_scale: Sequence[float]):
    """Loss (pred, y) -> cos(lat)-weighted MSE of outputs divided by ``output_scale`` (all variables equal)."""
    w = torch.as_tensor(np.cos(np.deg2rad(lat)), dtype=torch.float32)
    w = w / w.mean()
    s = torch.as_tensor(output_scale, dtype=torch.float32)

    def loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = (pred.float() - y.float()) / s.to(y.device)[None, :, None, None]
        return (d ** 2 * w.to(y.device)[None, None, :, None]).mean()

    return loss


@torch.no_grad()
def predict(model: nn.Module, inputs: np.ndarray, batch_size: int = 16, window: int = WINDOW) -> np.ndarray:
    """(T, 4, H, W) predictions for every target year of a :func:`with_history` input array."""
    model.eval()
    dev = next(iter(model.buffers())).device
    x = torch.from_numpy(inputs)
    out = []
    for start in range(0, x.shape[0] - window + 1, batch_size):
        idx = torch.arange(start, min(start + batch_size, x.shape[0] - window + 1))
        win = torch.stack([x[i:i + window] for i in idx]).to(dev)
        out.append(model(win).float().cpu())
    return torch.cat(out).numpy()


def fit_pattern_scaling(data: Mapping[str, tuple[xr.Dataset, xr.Dataset]]) -> nn.Module:
    """Linear pattern scaling (the registered model ``lps``) fitted in closed form on ClimateBench experiments.

    ``data``: ``{experiment: (inputs, outputs)}`` as :func:`~sciml.climate.io.load_climatebench` returns it,
    on one grid (H latitudes, W longitudes). Every year of every experiment is one sample: its cumulative CO2
    [GtCO2] and the member mean of its outputs (tas, diurnal_temperature_range [K], pr, pr90
    [kg m-2 s-1]). Global tas = a CO2 + b is fitted on the cos(latitude)-weighted global mean of tas, then
    each cell and variable = c + d x global tas. Returns the fitted model; ``model.predict(co2)`` maps
    cumulative CO2 (N,) [GtCO2] to the four output maps (N, 4, H, W) in the same units.
    """
    first = next(iter(data.values()))[0]
    grid = (first.sizes["latitude"], first.sizes["longitude"])
    co2 = torch.tensor(np.concatenate([x.CO2.values for x, _ in data.values()]), dtype=torch.float32)
    y = torch.from_numpy(np.concatenate([output_array(y) for _, y in data.values()]))
    return build_model("lps", grid=grid).fit(co2, y, torch.tensor(np.array(first.latitude.values)))


def predict_scenario(model: nn.Module, inputs: xr.Dataset, history: xr.Dataset | None) -> xr.Dataset:
    """Any emulator's prediction of one experiment: (time, latitude, longitude) maps of the four outputs in
    physical units, one per year of ``inputs``. ``history``: the historical inputs whose last years open the
    first windows of an SSP (None: the first year is repeated). NonFiniteError if the model predicts NaN/Inf."""
    pred = to_dataset(predict(model, with_history(inputs, history)), inputs)
    require_finite_predictions(pred, "the emulator")
    return pred


def to_dataset(pred: np.ndarray, like: xr.Dataset) -> xr.Dataset:
    """Wrap (T, 4, H, W) predictions as a Dataset with the coords of ``like`` (inputs of the experiment)."""
    dims = ("time", "latitude", "longitude")
    return xr.Dataset({v: (dims, pred[:, i]) for i, v in enumerate(OUTPUT_VARS)},
                      coords={c: like[c] for c in dims})


def score_model(model: nn.Module, x_test: xr.Dataset, x_hist: xr.Dataset,
                truths: Mapping[str, xr.Dataset]) -> tuple[dict[str, dict[str, float]], xr.Dataset]:
    """``({eval_name: score_table}, prediction)`` of ``model`` on the test experiment over 2080-2100.

    Raises NonFiniteError naming the variables if the model predicts NaN/Inf (their scores would be NaN).
    """
    pred = predict_scenario(model, x_test, x_hist).sel(time=EVAL_YEARS)
    return {k: score_table(t.sel(time=EVAL_YEARS), pred) for k, t in truths.items()}, pred


def prediction_attrs(model_name: str, data: str | Path | None, checkpoint: str | Path | None = None,
                     experiment: str = TEST_EXPERIMENT) -> dict[str, str]:
    """Global attributes of a prediction file: what predicted it, from which data."""
    return {"source": f"sciml {__version__} emulator {model_name!r} prediction of {experiment}", "model": model_name,
            "experiment": experiment, "checkpoint": str(Path(checkpoint).resolve()) if checkpoint else "",
            "data": str(Path(data).resolve()) if data is not None else "the offline generator (sciml.climate.generator)"}


def truth_scores(truth: xr.Dataset, pred: xr.Dataset) -> dict[str, float]:
    """score_table over 2080-2100, plus the spatial RMSE of the tas [K] and pr [mm/day] 2080-2100 means."""
    t, p = truth.sel(time=EVAL_YEARS), pred.sel(time=EVAL_YEARS)
    return {**score_table(t, p), "tas_spatial_rmse_k": spatial_rmse(t.tas, p.tas),
            "pr_spatial_rmse_mm_day": 86400.0 * spatial_rmse(t.pr, p.pr)}


def evaluate_climatebench(model: nn.Module, data_path: str | Path | None, out_dir: str | Path, checkpoint: dict,
                          seed: int = 0, checkpoint_path: str | Path | None = None) -> xr.Dataset:
    """``sciml evaluate``: scores of the model's ssp245 prediction, 2080-2100, against each truth.

    ``data_path``: a ClimateBench folder (truth: the mean of its ssp245 members); None: the offline generator
    with ``seed`` (truths: the 3- and 50-member means). The attrs hold ``score_table`` names and
    ``tas_spatial_rmse_k`` / ``pr_spatial_rmse_mm_day`` against the truth of fewest members (``truth_members``),
    the same names with ``_eval{k}`` against every other truth. Writes ``report.md`` and the prediction
    ``prediction_ssp245.nc`` (2015-2100, outputs schema) into ``out_dir``; its ``checkpoint`` attribute names
    ``checkpoint_path``, the file ``checkpoint`` was read from.
    """
    x_hist, x_test, truths = evaluation_experiment(data_path, seed)
    pred = predict_scenario(model, x_test, x_hist)
    out, name = Path(out_dir), checkpoint["model"]["name"]
    write_outputs(pred, out / PREDICTION_FILE, prediction_attrs(name, data_path, checkpoint_path))
    scores = {k: truth_scores(t, pred) for k, t in sorted(truths.items())}
    primary = min(scores)
    res = xr.Dataset()
    res.attrs.update(scores[primary], truth_members=primary)
    for k, s in scores.items():
        if k != primary:
            res.attrs.update({f"{metric}_eval{k}": v for metric, v in s.items()})
    where = f"`{data_path}`" if data_path is not None else f"the offline generator, seed {seed}"
    write_text(out / "report.md", f"# ClimateBench scores: {name}\n\nData: {where}, ssp245 2080-2100.\n\n"
               + format_score_table({f"{name}, truth = mean of {k} members": s for k, s in scores.items()}) + "\n")
    return res


def train_emulator(name: str, config: dict, train: Dataset, lat: np.ndarray, output_scale: Sequence[float],
                   epochs: int, lr: float = 1e-3, batch_size: int = 16, out_dir: str | Path | None = None,
                   init_state: dict | None = None, compute_loss=None, seed: int = 0, device: str = "auto",
                   metadata: dict | None = None) -> nn.Module:
    """Build ``name`` and fit it with the shared Trainer (weighted MSE); checkpoints go to ``out_dir``,
    recording ``metadata`` (e.g. the data directory) beside the recipe's name."""
    seed_everything(seed)  # before the model draws its initial weights: same seed, same run
    model = build_model(name, **config)
    if init_state is not None:
        model.load_state_dict(init_state)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4, scheduler="cosine",
                      grad_clip=1.0, seed=seed, progress=False, device=device, val_metrics=[])
    trainer = Trainer(model, cfg, train_data=train, loss_fn=weighted_mse(lat, output_scale),
                      compute_loss=compute_loss, out_dir=out_dir, metadata={"recipe": "climate_emulator", **(metadata or {})})
    trainer.fit()
    return trainer.model
