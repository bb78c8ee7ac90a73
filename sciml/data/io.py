"""Open and save Datasets by suffix: NetCDF4 (.nc), Zarr (.zarr), HDF5 (.h5/.hdf5). Writes are atomic.

:func:`open_chunked` opens a file as dask arrays chunked along ``sample``, so data larger than memory
streams: reductions (normaliser statistics, finiteness, :func:`fingerprint`) run chunk by chunk and
:class:`sciml.data.FieldDataset` reads only the samples a batch needs.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from collections import OrderedDict
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


def open_dataset(path: str | Path, chunks: dict | str | None = None, cache: bool | None = None) -> xr.Dataset:
    """Open a Dataset lazily; ``chunks`` (e.g. ``{"sample": 64}``) gives a dask-backed Dataset.
    ``cache=False`` keeps xarray from keeping a whole variable in memory once it was read (see
    ``xarray.open_dataset``).

    Raises :class:`InputFileError` for a missing path or one that does not read as the format its
    suffix names (a corrupt file, a directory named ``.nc``...).
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"dataset file {str(p)!r} does not exist; check the path or create it with "
                             "`sciml data make` (a run's data that moved: pass the data file as the second argument "
                             "of `sciml evaluate`)")
    kind = _kind(p)
    try:
        if kind == "zarr":
            with warnings.catch_warnings():  # sciml's marker file in the store is not a zarr array: expected
                warnings.filterwarnings("ignore", message=f"Object at {re.escape(MARKER)} is not recognized")
                return xr.open_dataset(p, engine="zarr", chunks=chunks, cache=cache, consolidated=False)
        engine = "h5netcdf" if kind == "hdf5" else "netcdf4"
        return xr.open_dataset(p, engine=engine, chunks=chunks, cache=cache)
    except Exception as exc:  # the backends raise OSError, ValueError, KeyError... for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{str(p)!r} cannot be read as {_NAMES[kind]} ({type(exc).__name__}: {first}); "
                             "pass a dataset written by `sciml data make` or save_dataset") from exc


CHUNK_BYTES = 4 * 2**20
"""Target size of one dask chunk of one variable in :func:`open_chunked`: large enough that per-chunk
overhead is small, small enough that a reduction, which holds a few chunks (and their float64 copies)
per core, stays well under the data."""


_TWINS: "OrderedDict[str, xr.Variable]" = OrderedDict()  # dask array name -> lazily indexed variable
_MAX_TWINS = 256


def open_chunked(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> xr.Dataset:
    """Open ``path`` lazily as dask arrays chunked along ``sample`` only (whole along every other dim).

    One chunk holds about ``chunk_bytes`` of the widest variable (at least one sample), rounded to a
    multiple of the on-disk chunk along ``sample`` so no stored chunk is split (and read twice). Nothing
    is read but metadata; reductions (``.mean()``, :func:`fingerprint`...) then hold a few chunks at a
    time. A file without a ``sample`` dim opens with one chunk per variable. Each variable's lazily
    indexed source is remembered for :func:`lazy_source`.
    """
    lazy = open_dataset(path, cache=False)  # not dask-backed; indexing reads only what is indexed
    per_sample = [v.dtype.itemsize * v.size // v.sizes["sample"]
                  for v in lazy.data_vars.values() if "sample" in v.dims and v.sizes["sample"]]
    stored = [int(v.encoding.get("preferred_chunks", {}).get("sample", 1))
              for v in lazy.data_vars.values() if "sample" in v.dims]
    step = max(stored, default=1)
    n = max(1, chunk_bytes // max(per_sample, default=1))
    chunks = {d: -1 for d in lazy.dims}
    if "sample" in chunks:
        chunks["sample"] = max(step, n // step * step)
    ds = lazy.chunk(chunks)
    for name, var in ds.data_vars.items():
        _TWINS[var.data.name] = lazy[name].variable
        if len(_TWINS) > _MAX_TWINS:
            _TWINS.popitem(last=False)
    return ds


def lazy_source(da: xr.DataArray) -> xr.Variable | None:
    """The lazily indexed (not dask-backed) variable ``da`` was opened from by :func:`open_chunked`, or
    None when ``da`` is anything else.

    A dask array's name is a token of the computation that makes it, so a matching name proves ``da``
    is the file's data unchanged (no arithmetic, selection or assignment since). Indexing the source
    with a list of samples reads them in one backend call (a Zarr store fetches the chunks it needs
    concurrently), where dask would make one task and one read per chunk. The registry is per
    process: a DataLoader worker started by fork inherits it; one started by spawn finds nothing and
    reads through dask (the same values, slower).
    """
    return _TWINS.get(da.data.name) if da.chunks is not None else None


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
    A dask-backed variable is hashed one chunk (along its first dim) at a time: the C-order bytes of
    consecutive blocks along the first axis concatenate to the bytes of the whole array, so the hash
    equals the in-memory one while only one chunk is held.
    """
    h = hashlib.sha256()
    for name in sorted(names):
        da = ds[name]
        shape = da.shape if da.ndim else (1,)  # np.ascontiguousarray makes a 0-d array 1-d
        h.update(f"{name}|{da.dims}|{da.dtype.str}|{shape}|".encode())
        for block in _first_axis_blocks(da):
            h.update(memoryview(np.ascontiguousarray(block)).cast("B"))
    return h.hexdigest()


def _first_axis_blocks(da: xr.DataArray) -> Iterable[np.ndarray]:
    """The values of ``da`` as numpy blocks along its first dim, in order: one per dask chunk, or the
    whole array when it is not dask-backed."""
    data = da.data
    if da.chunks is None or da.ndim == 0:
        yield np.asarray(da.values)
        return
    for i in range(len(data.chunks[0])):
        yield np.asarray(data.blocks[i].compute())
