"""Open and save Datasets by suffix: NetCDF4 (.nc), Zarr (.zarr), HDF5 (.h5/.hdf5). Writes are atomic."""
from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import xarray as xr

from sciml.errors import InputFileError, SchemaError
from sciml.utils.files import MARKER, atomic_path, check_target

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


_NAMES = {"netcdf": "NetCDF4", "zarr": "Zarr", "hdf5": "HDF5"}


def open_dataset(path: str | Path, chunks: dict | str | None = None) -> xr.Dataset:
    """Open a Dataset lazily; ``chunks`` (e.g. ``{"sample": 64}``) gives a dask-backed Dataset.

    Raises :class:`InputFileError` for a missing path or one that does not read as the format its
    suffix names (a corrupt file, a directory named ``.nc``...).
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"dataset file {str(p)!r} does not exist; check the path or create it with "
                             "`sciml data make`")
    kind = _kind(p)
    try:
        if kind == "zarr":
            with warnings.catch_warnings():  # sciml's marker file in the store is not a zarr array: expected
                warnings.filterwarnings("ignore", message=f"Object at {re.escape(MARKER)} is not recognized")
                return xr.open_zarr(p, chunks=chunks, consolidated=False)
        engine = "h5netcdf" if kind == "hdf5" else "netcdf4"
        return xr.open_dataset(p, engine=engine, chunks=chunks)
    except Exception as exc:  # the backends raise OSError, ValueError, KeyError... for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{str(p)!r} cannot be read as {_NAMES[kind]} ({type(exc).__name__}: {first}); "
                             "pass a dataset written by `sciml data make` or save_dataset") from exc


def check_save_target(path: str | Path, overwrite: bool = False) -> None:
    """Raise now what ``save_dataset(ds, path, overwrite)`` would raise about ``path`` (suffix, an existing
    target), so a command fails before it spends time making the data."""
    p = Path(path)
    check_target(p, is_dir=_kind(p) == "zarr", overwrite=overwrite)


def save_dataset(ds: xr.Dataset, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``ds`` atomically in the format given by the suffix; returns the path.

    An existing ``path`` is refused (:class:`OutputExistsError`) unless ``overwrite=True``, and even then
    a directory is replaced only if it is a store sciml wrote (see :mod:`sciml.utils.files`).
    """
    p = Path(path)
    kind = _kind(p)
    with atomic_path(p, is_dir=(kind == "zarr"), overwrite=overwrite) as tmp:
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
