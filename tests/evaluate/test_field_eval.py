"""``sciml evaluate`` of a field model on data of another grid: the training-mean baseline is resampled."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from scipy.interpolate import RegularGridInterpolator

from sciml.cli import main
from sciml.data import make_dataset, save_dataset
from sciml.experiment import run_experiment, spec_from_dict


def test_the_training_mean_baseline_is_resampled_to_the_grid_evaluated(tmp_path, capsys):
    spec = spec_from_dict({"recipe": "field", "name": "coarse", "out_dir": str(tmp_path / "run"), "device": "cpu",
                           "data": {"make": "darcy", "params": {"n": 20, "res": 16, "seed": 0}},
                           "model": {"name": "fno", "modes": 4, "width": 8},
                           "train": {"epochs": 1, "batch_size": 8, "progress": False}})
    checkpoint = run_experiment(spec)["checkpoint"]
    fine = tmp_path / "fine.nc"
    save_dataset(make_dataset("darcy", n=5, res=32, seed=1), fine)
    assert main(["evaluate", str(checkpoint), str(fine), "--out", str(tmp_path / "eval")]) == 0

    # by hand: the mean of the recorded training samples on the 16x16 grid, interpolated multilinearly
    # (scipy, on the files' coordinates) to the 32x32 grid, scored against every sample of the fine file
    extra = torch.load(checkpoint, weights_only=True)["extra"]
    with xr.open_dataset(extra["data_path"]) as train, xr.open_dataset(fine) as truth:
        mean16 = train["u"].isel(sample=extra["split"]["train"]).astype(np.float64).mean("sample")
        assert mean16.dims == ("y", "x") and mean16.shape == (16, 16)
        interp = RegularGridInterpolator((train["y"].values, train["x"].values), mean16.values)
        yy, xx = np.meshgrid(truth["y"].values, truth["x"].values, indexing="ij")
        mean32 = interp(np.stack([yy, xx], -1))
        u = truth["u"].values.astype(np.float64)
    err = (mean32[None] - u).reshape(len(u), -1)
    rel_l2 = np.linalg.norm(err, axis=1) / np.linalg.norm(u.reshape(len(u), -1), axis=1)
    rmse = np.sqrt((err ** 2).mean(1))

    scores = xr.open_dataset(tmp_path / "eval" / "eval.nc")
    assert np.isfinite(scores["rel_h1_baseline"].values).all()
    assert scores["rel_l2_baseline"].values == pytest.approx(rel_l2, rel=1e-5)
    assert scores["rmse_baseline"].values == pytest.approx(rmse, rel=1e-5)
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "nan" not in report.lower()
    assert "mean on its 16x16 grid, resampled to this 32x32 grid" in report
    assert f"| training mean | {rel_l2.mean():.4g} ± " in report


def test_on_the_training_grid_the_baseline_is_the_training_mean_unchanged(tmp_path):
    from sciml.evaluate.field_eval import on_evaluation_grid

    like = make_dataset("darcy", n=3, res=8, seed=2)
    mean = make_dataset("darcy", n=4, res=8, seed=3)[["u"]].mean("sample").expand_dims(sample=1)
    placed, note = on_evaluation_grid(mean, like, ["u"])
    assert note is None and placed["u"].dims == ("sample", "y", "x")
    np.testing.assert_array_equal(placed["u"].values[0], mean["u"].values[0].astype(np.float64))
