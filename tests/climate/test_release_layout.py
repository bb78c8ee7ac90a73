"""The ClimateBench release as users hold it: ``train_val/`` and ``test/`` folders, outputs on (member, time,
lat, lon) with a scalar ``quantile`` coordinate, written with plain xarray in that exact schema (conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sciml.climate.io import TEST_EXPERIMENT, TRAIN_EXPERIMENTS, experiment_paths, load_climatebench


def test_the_release_layout_loads_every_experiment(release):
    data = load_climatebench(release, [*TRAIN_EXPERIMENTS, TEST_EXPERIMENT])
    assert set(data) == {*TRAIN_EXPERIMENTS, TEST_EXPERIMENT}
    x, y = data[TEST_EXPERIMENT]
    assert y.tas.dims == ("member", "time", "latitude", "longitude") and y.sizes["member"] == 2
    assert "quantile" not in y.coords and x.SO2.dims == ("time", "latitude", "longitude")
    raw = xr.open_dataset(release / "test" / "outputs_ssp245.nc")
    np.testing.assert_array_equal(y.pr.values, raw.pr.transpose("member", "time", "lat", "lon").values)
    assert experiment_paths(release, "historical")["outputs"] == release / "train_val" / "outputs_historical.nc"


def test_a_flat_folder_still_loads_and_a_missing_experiment_names_both_layouts(release, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in (release / "test").iterdir():
        (flat / f.name).write_bytes(f.read_bytes())
    assert load_climatebench(flat, [TEST_EXPERIMENT])[TEST_EXPERIMENT][1].sizes["member"] == 2
    with pytest.raises(FileNotFoundError, match="train_val/ or test/"):
        load_climatebench(flat, ["historical"])
