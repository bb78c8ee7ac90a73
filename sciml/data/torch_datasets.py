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

import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from sciml.data.io import lazy_source, open_chunked, open_dataset
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


def _readable(da: xr.DataArray) -> xr.Variable:
    """What to index for ``da``'s samples: the file's lazily indexed source when ``da`` is a file's
    unchanged data, else ``da``'s own variable (in memory, lazily indexed, or dask)."""
    source = lazy_source(da)
    return da.variable if source is None else source


CACHE_BYTES = 32 * 2**20
"""Default budget of :class:`SampleReader`'s block cache."""


class SampleReader:
    """Reads given samples of variables with dims ``("sample", ...)`` from a Dataset, a batch at a time.

    A variable that is not dask-backed (in memory, or lazily indexed) is indexed at the requested
    samples directly. A dask-backed variable is read in *blocks* of consecutive samples, one on-disk
    chunk along ``sample`` each (one sample where the file is not chunked): a stored chunk is the
    least a read can decode, so reading all of it costs what reading one of its samples costs. The
    blocks a batch misses are read in one indexing call per variable, from the file's lazily indexed
    source when the variable is a file's unchanged data (:func:`sciml.data.io.lazy_source`: one
    backend call that fetches the chunks concurrently), else through dask. The most recently used
    blocks are kept, up to ``cache_bytes`` in all.

    Trade-off: sequential access (validation, evaluation) reads each block once. Shuffled access
    over data much larger than the cache reads about one block per sample, so a sample costs a
    stored chunk: stores meant for shuffled training should be chunked by a few samples along
    ``sample`` (whole along the other dims). Data that fits in the cache is read once, then served
    from memory.
    """

    def __init__(self, ds: xr.Dataset, names: Sequence[str], cache_bytes: int = CACHE_BYTES):
        self.vars = {n: _readable(ds[n]) for n in names}
        self.block = {n: int(ds[n].encoding.get("preferred_chunks", {}).get("sample", 1))
                      for n in names if ds[n].chunks is not None}
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cached_bytes = 0
        self.blocks_read = 0  # blocks read from the source so far (cache misses)

    def read(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """``{name: values at samples}``, each shaped ``(len(samples), *spatial)``."""
        samples = np.asarray(samples, dtype=np.int64)
        out = {}
        for n, var in self.vars.items():
            if n in self.block:
                size = self.block[n]
                blocks = self._blocks(n, np.unique(samples // size))
                out[n] = np.stack([blocks[int(s) // size][int(s) % size] for s in samples])
            else:  # sorted unique indices: a lazily indexed backend reads only those
                uniq, inverse = np.unique(samples, return_inverse=True)
                out[n] = np.asarray(var[uniq].values)[inverse]
        return out

    def _blocks(self, name: str, wanted: np.ndarray) -> dict[int, np.ndarray]:
        """Blocks ``wanted`` of variable ``name``: cached ones, the missing ones read in one call; then
        the cache keeps the most recently used up to its budget."""
        size, var = self.block[name], self.vars[name]
        have = {int(b): self._cache[name, int(b)] for b in wanted if (name, int(b)) in self._cache}
        missing = [int(b) for b in wanted if int(b) not in have]
        if missing:
            n = var.shape[0]
            bounds = [(b * size, min((b + 1) * size, n)) for b in missing]
            values = np.asarray(var[np.concatenate([np.arange(lo, hi) for lo, hi in bounds])].values)
            splits = np.cumsum([hi - lo for lo, hi in bounds])[:-1]
            # copies: a cached view would keep the whole read alive until its last block is evicted
            have.update(zip(missing, (block.copy() for block in np.split(values, splits))))
            self.blocks_read += len(missing)
        for b in map(int, wanted):
            if (name, b) in self._cache:
                self._cache.move_to_end((name, b))
            else:
                self._cache[name, b] = have[b]
                self._cached_bytes += have[b].nbytes
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
