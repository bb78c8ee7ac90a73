"""The ClimateBench release as users hold it, built with plain xarray in the release's exact schema (not through
sciml's writer): ``train_val/`` with the six training experiments and ``test/`` with ssp245; ``inputs_*.nc`` on
(time, latitude, longitude), ``outputs_*.nc`` on (member, time, lat, lon) with a scalar ``quantile`` coordinate.
Shared by the climate tests (fixtures in conftest.py) and the benchmark's tests."""
from __future__ import annotations

import numpy as np
import xarray as xr

from sciml.climate.io import TEST_EXPERIMENT, TRAIN_EXPERIMENTS

OUTPUTS = ("diurnal_temperature_range", "tas", "pr", "pr90")  # the release's own variable order


def write_release_experiment(folder, exp, years, members=2, lat=4, lon=6, seed=0, pattern=None):
    """One experiment in the release's own naming. ``pattern=(intercept, slope, a, b)`` makes the outputs
    exactly pattern-scaled, each variable v = intercept[v] + slope[v] x (a CO2 + b) (maps (4, lat, lon) in
    the order of OUTPUTS), plus member noise that cancels in the member mean; otherwise outputs are noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lats, lons = np.linspace(-90, 90, lat), np.arange(lon) * 360.0 / lon
    co2 = np.cumsum(rng.random(len(years))) if pattern is not None else rng.random(len(years))
    xr.Dataset({"CO2": ("time", co2), "CH4": ("time", rng.random(len(years))),
                "SO2": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-10),
                "BC": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-11)},
               coords={"time": years, "latitude": lats, "longitude": lons}).to_netcdf(folder / f"inputs_{exp}.nc")
    noise = rng.normal(size=(members, 4, len(years), lat, lon))
    if pattern is not None:
        intercept, slope, a, b = pattern
        noise = noise - noise.mean(0)  # the member mean is the pattern exactly
        noise += intercept[None, :, None] + slope[None, :, None] * (a * co2 + b)[None, None, :, None, None]
    dims = ("member", "time", "lat", "lon")
    xr.Dataset({v: (dims, noise[:, i].astype("float32")) for i, v in enumerate(OUTPUTS)},
               coords={"member": np.arange(members), "time": years, "lat": lats, "lon": lons,
                       "quantile": 0.9}).to_netcdf(folder / f"outputs_{exp}.nc")


def write_release(root, pattern=None, members=2, lat=4, lon=6):
    """The whole release under ``root``: train_val/ (six training experiments) and test/ (ssp245)."""
    for i, exp in enumerate(TRAIN_EXPERIMENTS):
        years = np.arange(2015, 2101) if exp.startswith("ssp") else np.arange(1850, 2015)
        write_release_experiment(root / "train_val", exp, years, members, lat, lon, seed=i, pattern=pattern)
    write_release_experiment(root / "test", TEST_EXPERIMENT, np.arange(2015, 2101), members, lat, lon, seed=99,
                             pattern=pattern)
    return root


def linear_pattern(lat=4, lon=6, seed=7):
    """(intercept, slope, a, b) of an exactly pattern-scaled climate: maps (4, lat, lon), slopes drawn from N(2, 1)."""
    rng = np.random.default_rng(seed)
    intercept, slope = rng.normal(size=(4, lat, lon)), rng.normal(size=(4, lat, lon)) + 2.0
    return intercept, slope, 0.05, 0.3
