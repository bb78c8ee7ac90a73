"""Normalise real files' coordinates at the door, in one place.

Real climate files name coordinates ``lat``/``lon``/``X``/``Y``/``nav_lat``..., store latitude
descending, and longitude on 0..360 or -180..180. :func:`normalize_coords` returns a Dataset
with ``latitude`` ascending and ``longitude`` on the requested convention (sorted), and
records what it did in ``attrs["sciml_coord_normalization"]``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

_LAT_NAMES = ("latitude", "lat", "Latitude", "LAT", "Y", "y_lat", "nav_lat")
_LON_NAMES = ("longitude", "lon", "Longitude", "LON", "X", "x_lon", "nav_lon")


def _find(ds: xr.Dataset, candidates: tuple[str, ...], standard_name: str) -> str | None:
    for name in ds.coords:
        if ds[name].attrs.get("standard_name") == standard_name:
            return str(name)
    for c in candidates:
        if c in ds.coords or c in ds.dims:
            return c
    return None


def normalize_coords(ds: xr.Dataset, lon_range: str = "-180..180") -> xr.Dataset:
    """Rename lat/lon to ``latitude``/``longitude``, sort latitude ascending, wrap longitude.

    Parameters
    ----------
    lon_range : ``"-180..180"`` or ``"0..360"``.
    """
    if lon_range not in ("-180..180", "0..360"):
        raise ValueError(f"lon_range must be '-180..180' or '0..360', got {lon_range!r}")
    done = []
    lat, lon = _find(ds, _LAT_NAMES, "latitude"), _find(ds, _LON_NAMES, "longitude")
    renames = {k: v for k, v in ((lat, "latitude"), (lon, "longitude")) if k is not None and k != v}
    if renames:
        ds = ds.rename(renames)
        done.append(f"renamed {renames}")
    if "latitude" in ds.coords and ds["latitude"].ndim == 1 and ds["latitude"].size > 1:
        if ds["latitude"].values[0] > ds["latitude"].values[-1]:
            ds = ds.sortby("latitude")
            done.append("latitude sorted ascending")
        ds["latitude"].attrs.update(standard_name="latitude", units="degrees_north", axis="Y")
    if "longitude" in ds.coords and ds["longitude"].ndim == 1:
        lon_vals = ds["longitude"].values.astype(float)
        wrapped = ((lon_vals + 180.0) % 360.0) - 180.0 if lon_range == "-180..180" else lon_vals % 360.0
        if not np.allclose(wrapped, lon_vals) or np.any(np.diff(lon_vals) < 0):
            ds = ds.assign_coords(longitude=wrapped).sortby("longitude")
            done.append(f"longitude wrapped to {lon_range} and sorted")
        ds["longitude"].attrs.update(standard_name="longitude", units="degrees_east", axis="X")
    if done:
        ds.attrs["sciml_coord_normalization"] = "; ".join(done)
    return ds
