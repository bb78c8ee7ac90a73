"""Open and save Datasets by suffix: NetCDF4 (.nc), Zarr (.zarr), HDF5 (.h5/.hdf5). Writes are atomic."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np
import xarray as xr

from sciml.errors import SchemaError
from sciml.utils.files import atomic_path

_NETCDF = {".nc", ".nc4", ".netcdf"}
_ZARR = {".zarr"}
_HDF5 = {".h5", ".hdf5", ".he5"}


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _NETCDF:
        return "netcdf"
    if suffix in _ZARR:
        return "zarr"
    if suffix in _HDF5:
        return "hdf5"
    raise SchemaError(
        f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}; "
        f"use one of {sorted(_NETCDF | _ZARR | _HDF5)}"
    )


def open_dataset(path: str | Path, chunks: dict | str | None = None) -> xr.Dataset:
    """Open a Dataset lazily; ``chunks`` (e.g. ``{"sample": 64}``) gives a dask-backed Dataset."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"dataset file {str(p)!r} does not exist; create it with `sciml data make`")
    kind = _kind(p)
    if kind == "zarr":
        return xr.open_zarr(p, chunks=chunks, consolidated=False)
    engine = "h5netcdf" if kind == "hdf5" else "netcdf4"
    return xr.open_dataset(p, engine=engine, chunks=chunks)


def save_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` atomically in the format given by the suffix; returns the path."""
    p = Path(path)
    kind = _kind(p)
    with atomic_path(p, is_dir=(kind == "zarr")) as tmp:
        if kind == "zarr":
            # consolidated metadata is not part of the zarr v3 spec (zarr warns on every write); one store
            # per dataset has few arrays, so reading the per-array metadata costs nothing
            ds.to_zarr(tmp, mode="w", consolidated=False)
        elif kind == "hdf5":
            ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
        else:
            ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4")
    return p


def fingerprint(ds: xr.Dataset, names: Iterable[str]) -> str:
    """SHA-256 (hex) of the named variables' names, dims, dtypes, shapes and values.

    The same data gives the same string wherever the file lives and whatever its format, so a
    checkpoint can recognise the data it was trained on (``sciml evaluate``).
    """
    h = hashlib.sha256()
    for name in sorted(names):
        values = np.ascontiguousarray(ds[name].values)
        h.update(f"{name}|{ds[name].dims}|{values.dtype.str}|{values.shape}|".encode())
        h.update(memoryview(values).cast("B"))
    return h.hexdigest()
