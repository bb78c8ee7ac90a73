"""Predictions as files: an emulator's ssp245 prediction written in the ClimateBench outputs schema, and
the score of such a file against the truth in a ClimateBench folder.

A prediction file is ``outputs``-shaped: ``tas``, ``diurnal_temperature_range`` [K], ``pr``, ``pr90``
[kg m-2 s-1] on (time, lat, lon), integer years, float32 + zlib, with global attributes naming the model,
the checkpoint and the data it was made from. Any file of that shape scores, whoever made it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from sciml.climate.emulators import EVAL_YEARS, predict_scenario, prediction_attrs
from sciml.climate.io import (OUTPUT_VARS, PREDICTION_FILE, TEST_EXPERIMENT, load_experiment, load_inputs,
                              read_normalised, write_outputs)
from sciml.climate.metrics import score_table
from sciml.errors import DimensionError, InputFileError, MissingVariableError, NonFiniteError, SchemaError
from sciml.models import model_from_checkpoint
from sciml.train.checkpoint import load_checkpoint


def write_scenario_prediction(checkpoint: str | Path, data_dir: str | Path, path: str | Path,
                              experiment: str = TEST_EXPERIMENT) -> Path:
    """Predict ``experiment`` from its ``inputs_*.nc`` in ``data_dir`` with the emulator in ``checkpoint``
    (any registered climate model) and write the prediction to ``path`` (renamed into place).

    An SSP's first windows reach back into ``inputs_historical.nc``; the outputs file of ``experiment``
    is not needed. NonFiniteError if the emulator predicts NaN/Inf.
    """
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt, source=checkpoint)
    inputs = load_inputs(data_dir, experiment)
    history = load_inputs(data_dir, "historical") if experiment.startswith("ssp") else None
    pred = predict_scenario(model, inputs, history)
    return write_outputs(pred, path, prediction_attrs(ckpt["model"]["name"], data_dir, checkpoint, experiment))


def resolve_prediction(path: str | Path) -> Path:
    """A prediction file, or the run folder ``sciml climate fit`` wrote it into."""
    p = Path(path)
    if p.is_dir():
        p = p / PREDICTION_FILE
    if not p.is_file():
        raise InputFileError(f"no prediction file {str(p)!r}; pass a prediction .nc or the --out folder of "
                             "`sciml climate fit`")
    return p


def load_prediction(path: str | Path, years: slice = EVAL_YEARS) -> xr.Dataset:
    """The four output variables of a prediction file over ``years``, on (time, latitude, longitude)
    (a ``member`` dim is averaged: an ensemble prediction scores by its mean). Checked: variables present,
    every year of ``years`` there, finite values."""
    p = resolve_prediction(path)
    ds = read_normalised(p)
    missing = [v for v in OUTPUT_VARS if v not in ds]
    if missing:
        raise MissingVariableError(f"{p} lacks {missing}; a ClimateBench prediction has {list(OUTPUT_VARS)}")
    ds = ds[list(OUTPUT_VARS)]
    if "member" in ds.dims:
        ds = ds.mean("member")
    want = np.arange(years.start, years.stop + 1)
    absent = sorted(set(want.tolist()) - set(np.asarray(ds.time.values).astype(int).tolist()))
    if absent:
        raise SchemaError(f"{p} lacks the years {absent[:5]}{'...' if len(absent) > 5 else ''}; "
                          f"scores cover {years.start}-{years.stop}")
    ds = ds.sel(time=want)
    bad = [v for v in OUTPUT_VARS if not np.isfinite(ds[v].values).all()]
    if bad:
        raise NonFiniteError(f"{p}: variable(s) {bad} hold NaN/Inf in {years.start}-{years.stop}; "
                             "a prediction must be finite to be scored")
    return ds.transpose("time", "latitude", "longitude")


def score_prediction(prediction: str | Path, data_dir: str | Path,
                     experiment: str = TEST_EXPERIMENT) -> tuple[dict[str, float], xr.Dataset, str]:
    """``(score_table, truth, name)``: the NRMSE scores of a prediction file against the member mean of
    ``outputs_{experiment}.nc`` in ``data_dir`` over 2080-2100 (see :mod:`sciml.climate.metrics`), the
    truth it was scored against (its attrs say whether the folder is real or generated data) and the
    prediction's model name (its ``model`` attribute, else the file name)."""
    path = resolve_prediction(prediction)
    pred = load_prediction(path)
    _, truth = load_experiment(data_dir, experiment)
    truth = truth.sel(time=pred.time.values)
    if pred.sizes["latitude"] != truth.sizes["latitude"] or pred.sizes["longitude"] != truth.sizes["longitude"]:
        raise DimensionError(f"the prediction is on a {pred.sizes['latitude']}x{pred.sizes['longitude']} grid, "
                             f"the truth in {data_dir} on {truth.sizes['latitude']}x{truth.sizes['longitude']}; "
                             "predict on the truth's grid")
    name = str(pred.attrs.get("model") or path.stem)
    return score_table(truth, pred), truth, name
