"""Torch adapters over xarray Datasets.

Both adapters accept an ``xr.Dataset`` (in memory, or dask-backed from
:func:`sciml.data.open_chunked`) or a path. Given a path, the file is opened lazily on first access
*inside each DataLoader worker* (:class:`FieldDataset` opens it chunked), so a Zarr/NetCDF store
larger than memory streams instead of being loaded whole. Tensors come out with a leading channel
axis, one channel per variable (and per frame for trajectories); normalisers, when given, are
applied per variable.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import dask
import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from sciml.data.io import open_chunked, open_dataset
from sciml.data.normalize import Normalizers
from sciml.data.schema import check_dims, check_finite, require_variables
from sciml.errors import DimensionError


class _XarraySource:
    """Holds a Dataset or a path; opens the path lazily, once per process (DataLoader worker), with
    ``opener`` (:func:`open_dataset` by default)."""

    def __init__(self, source: xr.Dataset | str | Path, opener=open_dataset):
        self._path = None if isinstance(source, xr.Dataset) else Path(source)
        self._ds = source if isinstance(source, xr.Dataset) else None
        self._pid = None
        self._opener = opener

    @property
    def ds(self) -> xr.Dataset:
        if self._path is not None and (self._ds is None or self._pid != os.getpid()):
            self._ds, self._pid = self._opener(self._path), os.getpid()
        return self._ds

    def __getstate__(self):  # workers reopen the file instead of pickling the handle
        state = self.__dict__.copy()
        if self._path is not None:
            state["_ds"] = None
        return state


def _to_tensor(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values), dtype=dtype)


CACHE_BYTES = 128 * 2**20
"""Default budget of :class:`SampleReader`'s block cache."""


class SampleReader:
    """Reads given samples of variables with dims ``("sample", ...)`` from a Dataset, a batch at a time.

    An in-memory (or lazily indexed, not dask-backed) variable is indexed at the requested samples
    directly. A dask-backed variable is read in *blocks* of consecutive samples, one on-disk chunk
    along ``sample`` each (one sample where the file is not chunked): a stored chunk is the least a
    read can decode, so reading the whole chunk costs what reading one of its samples costs. The
    blocks a batch misses are read in one dask computation (in parallel), and the most recently used
    blocks are kept, up to ``cache_bytes`` in all.

    Trade-off: sequential access (validation, evaluation) reads each block once. Shuffled access
    over data much larger than the cache reads about one block per sample, so its cost per sample is
    a stored chunk's: stores meant for shuffled training should be chunked by a few samples along
    ``sample`` (whole along the other dims). Data that fits in the cache is read once, then served
    from memory.
    """

    def __init__(self, ds: xr.Dataset, names: Sequence[str], cache_bytes: int = CACHE_BYTES):
        self.vars = {n: ds[n] for n in names}
        self.block = {n: int(v.encoding.get("preferred_chunks", {}).get("sample", 1))
                      for n, v in self.vars.items() if v.chunks is not None}
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cached_bytes = 0

    def read(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """``{name: values at samples}``, each shaped ``(len(samples), *spatial)``."""
        samples = np.asarray(samples, dtype=np.int64)
        blocks = self._blocks(samples)
        out = {}
        for n, v in self.vars.items():
            if n in self.block:
                size = self.block[n]
                out[n] = np.stack([blocks[n, s // size][s % size] for s in samples])
            else:  # sorted unique indices: lazily indexed backends read only those
                uniq, inverse = np.unique(samples, return_inverse=True)
                out[n] = np.asarray(v.variable[uniq].values)[inverse]
        return out

    def _blocks(self, samples: np.ndarray) -> dict[tuple[str, int], np.ndarray]:
        """The blocks holding ``samples`` of every dask-backed variable: cached ones, and the missing
        ones read together; then the cache keeps the most recent up to its budget."""
        need = [(n, int(b)) for n, size in self.block.items() for b in np.unique(samples // size)]
        have = {k: self._cache[k] for k in need if k in self._cache}
        missing = [k for k in need if k not in have]
        lazy = [self.vars[n].data[b * self.block[n]:(b + 1) * self.block[n]] for n, b in missing]
        have.update(zip(missing, map(np.asarray, dask.compute(*lazy))))
        for k in need:
            if k in self._cache:
                self._cache.move_to_end(k)
            else:
                self._cache[k] = have[k]
                self._cached_bytes += have[k].nbytes
        while self._cached_bytes > self.cache_bytes and self._cache:
            self._cached_bytes -= self._cache.popitem(last=False)[1].nbytes
        return have


class FieldDataset(Dataset):
    """Map input fields to target fields, one item per ``sample``.

    Each variable must have dims ``("sample", *spatial)`` with the same spatial dims.
    Item ``i`` is ``(x, y)`` with ``x: (len(inputs), *spatial)`` and ``y: (len(targets), *spatial)``.
    A DataLoader fetches a batch in one :meth:`__getitems__` call, read by a :class:`SampleReader`
    (dask-backed data: only the blocks the batch needs, with a block cache).

    Parameters
    ----------
    source : Dataset or path (opened lazily per worker, chunked along ``sample``).
    inputs, targets : variable names.
    indices : sample indices to expose (e.g. a split); default all.
    normalizers : applied per variable (encode) when given.
    check : validate dims and NaN/Inf up front (chunk by chunk for dask-backed data).
    cache_bytes : budget of the block cache per process.
    """

    def __init__(self, source: xr.Dataset | str | Path, inputs: Sequence[str], targets: Sequence[str],
                 indices: Sequence[int] | None = None, normalizers: Normalizers | None = None,
                 dtype: torch.dtype = torch.float32, check: bool = True, cache_bytes: int = CACHE_BYTES):
        self.src = _XarraySource(source, opener=open_chunked)
        self.inputs, self.targets = list(inputs), list(targets)
        ds = self.src.ds
        require_variables(ds, self.inputs + self.targets, source=str(source) if not isinstance(source, xr.Dataset) else "dataset")
        ref = ds[self.inputs[0]]
        if ref.dims[0] != "sample":
            raise DimensionError(f"variable {self.inputs[0]!r} has dims {ref.dims}; the first dim must be 'sample'")
        for name in self.inputs + self.targets:
            check_dims(ds[name], ref.dims, name, exact_order=True)
            if check:
                check_finite(ds[name].isel(sample=list(indices)) if indices is not None else ds[name], name)
        self.indices = np.arange(ds.sizes["sample"]) if indices is None else np.asarray(indices)
        self.normalizers = normalizers or Normalizers()
        self.dtype = dtype
        self.spatial_shape = tuple(ref.shape[1:])
        self.cache_bytes = cache_bytes
        self._reader, self._reader_pid = None, None

    def __len__(self) -> int:
        return len(self.indices)

    def __getstate__(self):  # a worker starts with an empty cache of its own
        state = self.__dict__.copy()
        state["_reader"] = None
        return state

    @property
    def reader(self) -> SampleReader:
        if self._reader is None or self._reader_pid != os.getpid():
            self._reader = SampleReader(self.src.ds, self.inputs + self.targets, self.cache_bytes)
            self._reader_pid = os.getpid()
        return self._reader

    def _stack(self, names: list[str], values: dict[str, np.ndarray]) -> torch.Tensor:
        """``(B, len(names), *spatial)``: the variables' encoded values, one channel each."""
        return torch.stack([self.normalizers.encode(n, _to_tensor(values[n], self.dtype)) for n in names], dim=1)

    def __getitems__(self, items: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Items ``items`` as a list of ``(x, y)``, read together (the DataLoader's batched fetch)."""
        values = self.reader.read(self.indices[np.asarray(items, dtype=np.int64)])
        x, y = self._stack(self.inputs, values), self._stack(self.targets, values)
        return list(zip(x.unbind(0), y.unbind(0)))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([i])[0]


class TrajectoryDataset(Dataset):
    """Windows of ``history`` frames -> the next ``horizon`` frames along ``time``.

    Each variable has dims ``("sample", "time", *spatial)``. Item ``j`` enumerates
    (sample, start) pairs with ``start`` stepping by ``stride``; it returns
    ``x: (history * F, *spatial)`` and ``y: (horizon * F, *spatial)`` where ``F = len(variables)``,
    frames ordered time-major (frame t's F fields are adjacent).
    """

    def __init__(self, source: xr.Dataset | str | Path, variables: Sequence[str], history: int = 1,
                 horizon: int = 1, stride: int = 1, samples: Sequence[int] | None = None,
                 normalizers: Normalizers | None = None, dtype: torch.dtype = torch.float32, check: bool = True):
        self.src = _XarraySource(source)
        self.variables = list(variables)
        ds = self.src.ds
        require_variables(ds, self.variables)
        ref = ds[self.variables[0]]
        if tuple(ref.dims[:2]) != ("sample", "time"):
            raise DimensionError(f"variable {self.variables[0]!r} has dims {ref.dims}; expected ('sample', 'time', ...)")
        for name in self.variables:
            check_dims(ds[name], ref.dims, name, exact_order=True)
            if check:
                check_finite(ds[name], name)
        n_time = ds.sizes["time"]
        if history + horizon > n_time:
            raise DimensionError(f"history + horizon = {history + horizon} exceeds the {n_time} time steps available")
        self.history, self.horizon = history, horizon
        samples = np.arange(ds.sizes["sample"]) if samples is None else np.asarray(samples)
        starts = np.arange(0, n_time - history - horizon + 1, stride)
        self.index = [(int(s), int(t)) for s in samples for t in starts]
        self.normalizers = normalizers or Normalizers()
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.index)

    def _frames(self, s: int, t0: int, n: int) -> torch.Tensor:
        sel = self.src.ds[self.variables].isel(sample=s, time=slice(t0, t0 + n))
        per_var = [self.normalizers.encode(v, _to_tensor(sel[v].values, self.dtype)) for v in self.variables]
        return torch.stack(per_var, dim=1).flatten(0, 1)  # (n, F, *sp) -> (n*F, *sp)

    def __getitem__(self, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        s, t0 = self.index[j]
        return self._frames(s, t0, self.history), self._frames(s, t0 + self.history, self.horizon)
