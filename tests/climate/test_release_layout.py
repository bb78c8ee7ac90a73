"""The ClimateBench release as users hold it: ``train_val/`` and ``test/`` folders, outputs on (member, time,
lat, lon) with a scalar ``quantile`` coordinate, written here with plain xarray in that exact schema."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sciml.climate.io import TEST_EXPERIMENT, TRAIN_EXPERIMENTS, experiment_paths, load_climatebench


def write_release_experiment(folder, exp, years, members=2, lat=4, lon=6, seed=0):
    """One experiment in the release's own naming (not through sciml's writer)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lats, lons = np.linspace(-90, 90, lat), np.arange(lon) * 360.0 / lon
    xr.Dataset({"CO2": ("time", rng.random(len(years))), "CH4": ("time", rng.random(len(years))),
                "SO2": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-10),
                "BC": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-11)},
               coords={"time": years, "latitude": lats, "longitude": lons}).to_netcdf(folder / f"inputs_{exp}.nc")
    dims = ("member", "time", "lat", "lon")
    xr.Dataset({v: (dims, rng.normal(size=(members, len(years), lat, lon)).astype("float32"))
                for v in ("diurnal_temperature_range", "tas", "pr", "pr90")},
               coords={"member": np.arange(members), "time": years, "lat": lats, "lon": lons,
                       "quantile": 0.9}).to_netcdf(folder / f"outputs_{exp}.nc")


@pytest.fixture
def release(tmp_path):
    for i, exp in enumerate(TRAIN_EXPERIMENTS):
        years = np.arange(2015, 2101) if exp.startswith("ssp") else np.arange(1850, 2015)
        write_release_experiment(tmp_path / "train_val", exp, years, seed=i)
    write_release_experiment(tmp_path / "test", TEST_EXPERIMENT, np.arange(2015, 2101), seed=99)
    return tmp_path


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
