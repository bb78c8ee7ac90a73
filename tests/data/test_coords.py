"""Coordinate normalisation, tried on real files with different conventions (datasets/real)."""
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sciml.data import normalize_coords, open_dataset

REAL = Path(__file__).resolve().parents[2] / "datasets" / "real"


def test_synthetic_descending_0_360():
    ds = xr.Dataset({"t": (("lat", "lon"), np.arange(12.0).reshape(3, 4))},
                    coords={"lat": [10.0, 0.0, -10.0], "lon": [0.0, 90.0, 180.0, 270.0]})
    out = normalize_coords(ds)
    assert list(out["latitude"].values) == [-10.0, 0.0, 10.0]
    assert list(out["longitude"].values) == [-180.0, -90.0, 0.0, 90.0]
    # value follows its coordinate: (lat=10, lon=270) was t[0, 3] = 3
    assert float(out["t"].sel(latitude=10.0, longitude=-90.0)) == 3.0
    assert "sciml_coord_normalization" in out.attrs


def test_0_360_option_is_idempotent():
    ds = xr.Dataset(coords={"latitude": [-5.0, 5.0], "longitude": [-90.0, 0.0, 90.0]})
    once = normalize_coords(ds, lon_range="0..360")
    assert list(once["longitude"].values) == [0.0, 90.0, 270.0]
    twice = normalize_coords(once, lon_range="0..360")
    xr.testing.assert_identical(twice, once)


def test_era_interim_descending_latitude():
    ds = normalize_coords(open_dataset(REAL / "eraint_uvz_coarse.nc"))
    lat = ds["latitude"].values
    assert np.all(np.diff(lat) > 0) and lat[0] == pytest.approx(-90, abs=6)
    assert ds["longitude"].min() >= -180 and ds["longitude"].max() < 180


def test_basin_mask_xyz_names():
    ds = normalize_coords(open_dataset(REAL / "basin_mask.nc"))
    assert "latitude" in ds.coords and "longitude" in ds.coords
    assert np.all(np.diff(ds["longitude"].values) > 0)
    assert ds["longitude"].max() < 180


def test_sst_file_0_360_longitudes():
    raw = open_dataset(REAL / "sst_ndjfm_anom.nc")
    ds = normalize_coords(raw)
    lon = ds["longitude"].values
    assert np.all(np.diff(lon) > 0) and lon.min() >= -180 and lon.max() < 180
    # the cell at 190E (raw) is the cell at -170 (normalised)
    sst = [v for v in raw.data_vars if raw[v].ndim == 3][0]
    np.testing.assert_allclose(ds[sst].sel(longitude=-167.5).values, raw[sst].sel(longitude=192.5).values)
