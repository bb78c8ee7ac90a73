"""ClimateBench metrics (Watson-Parris et al. 2022), latitude-weighted with w = cos(lat).

All take DataArrays over (time, latitude, longitude) restricted to the evaluation years
(2080-2100); a ``member`` dimension on the truth is averaged first. The normaliser is
|weighted global mean of the truth's time mean|.

- spatial NRMSE = sqrt(weighted mean over cells of (<truth>_t - <pred>_t)^2) / normaliser
- global NRMSE = sqrt(mean over years of (G(truth) - G(pred))^2) / normaliser, G = weighted global mean
- total NRMSE = spatial + 5 * global

Non-finite values are never skipped: a NaN or +-Inf anywhere in the prediction (or the truth) makes
the score NaN (xarray's means skip NaN by default, so every reduction here passes ``skipna=False``).
Reporting code refuses NaN scores (:func:`sciml.evaluate.require_finite_predictions`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import xarray as xr

from sciml.data.coords import normalize_coords
from sciml.errors import DimensionError

SPATIAL_DIMS = ("latitude", "longitude")


def _prepare(truth: xr.DataArray, pred: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    def norm(da: xr.DataArray) -> xr.DataArray:
        name = da.name if da.name is not None else "v"
        da = normalize_coords(da.to_dataset(name=name), lon_range="0..360")[name]
        return da.where(np.isfinite(da))  # +-Inf -> NaN, so it propagates like NaN through the means

    truth, pred = norm(truth), norm(pred)
    if "member" in truth.dims:
        truth = truth.mean("member", skipna=False)
    for name, da in (("truth", truth), ("pred", pred)):
        if set(da.dims) != {"time", *SPATIAL_DIMS}:
            raise DimensionError(f"{name} has dims {da.dims}; expected (time, latitude, longitude)")
    if truth.shape != pred.transpose(*truth.dims).shape:
        raise DimensionError(f"truth {dict(truth.sizes)} and pred {dict(pred.sizes)} differ in shape")
    pred = pred.transpose(*truth.dims).assign_coords(latitude=truth.latitude, longitude=truth.longitude,
                                                     time=truth.time)
    weights = np.cos(np.deg2rad(truth.latitude))
    return truth, pred, weights


def global_mean(da: xr.DataArray) -> xr.DataArray:
    """cos(lat)-weighted mean over latitude and longitude (NaN if any cell is NaN)."""
    return da.weighted(np.cos(np.deg2rad(da.latitude))).mean(SPATIAL_DIMS, skipna=False)


def normaliser(truth: xr.DataArray) -> float:
    """|weighted global mean of the truth's time mean| (member-mean first; NaN if the truth has NaN/Inf)."""
    truth = truth.where(np.isfinite(truth))
    if "member" in truth.dims:
        truth = truth.mean("member", skipna=False)
    return float(abs(global_mean(truth.mean("time", skipna=False))))


def spatial_nrmse(truth: xr.DataArray, pred: xr.DataArray) -> float:
    """Weighted RMSE of the time-mean maps over |global mean of the truth's time mean| (NaN on NaN/Inf)."""
    return _time_mean_rmse(truth, pred) / normaliser(truth)


def global_nrmse(truth: xr.DataArray, pred: xr.DataArray) -> float:
    """RMSE of the annual weighted global means over the same normaliser (NaN on NaN/Inf)."""
    truth, pred, _ = _prepare(truth, pred)
    err = ((global_mean(truth) - global_mean(pred)) ** 2).mean("time", skipna=False)
    return float(np.sqrt(err)) / normaliser(truth)


def total_nrmse(truth: xr.DataArray, pred: xr.DataArray) -> float:
    """spatial + 5 x global NRMSE (NaN on NaN/Inf)."""
    return spatial_nrmse(truth, pred) + 5.0 * global_nrmse(truth, pred)


def spatial_rmse(truth: xr.DataArray, pred: xr.DataArray) -> float:
    """Un-normalised weighted RMSE of the time-mean maps (the Lütjens et al. metric; NaN on NaN/Inf)."""
    return _time_mean_rmse(truth, pred)


def _time_mean_rmse(truth: xr.DataArray, pred: xr.DataArray) -> float:
    truth, pred, w = _prepare(truth, pred)
    sq = (truth.mean("time", skipna=False) - pred.mean("time", skipna=False)) ** 2
    return float(np.sqrt(sq.weighted(w).mean(SPATIAL_DIMS, skipna=False)))


def score_table(truth: xr.Dataset, pred: xr.Dataset, variables: tuple[str, ...] | None = None) -> dict[str, float]:
    """``{f"{var}_{spatial|global|total}_nrmse": value}`` for each variable in both datasets (NaN on NaN/Inf)."""
    variables = variables or tuple(v for v in truth.data_vars if v in pred.data_vars)
    out: dict[str, float] = {}
    for v in variables:
        s, g = spatial_nrmse(truth[v], pred[v]), global_nrmse(truth[v], pred[v])
        out.update({f"{_short(v)}_spatial_nrmse": s, f"{_short(v)}_global_nrmse": g, f"{_short(v)}_total_nrmse": s + 5 * g})
    return out


def _short(v: str) -> str:
    return {"diurnal_temperature_range": "dtr"}.get(v, v)


def format_score_table(scores: Mapping[str, Mapping[str, float]], variables=("tas", "dtr", "pr", "pr90")) -> str:
    """Markdown: rows = methods, cells = spatial / global / total per variable."""
    lines = ["| method | " + " | ".join(f"{v} (S / G / T)" for v in variables) + " |",
             "|---" * (len(variables) + 1) + "|"]
    for method, s in scores.items():
        cells = [" / ".join(f"{s.get(f'{v}_{k}_nrmse', float('nan')):.3f}" for k in ("spatial", "global", "total"))
                 for v in variables]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
