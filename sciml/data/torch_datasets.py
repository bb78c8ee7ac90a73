"""Torch adapters over xarray Datasets.

Both adapters accept an in-memory ``xr.Dataset`` or a path. Given a path, the file is opened
lazily on first access *inside each DataLoader worker* and single samples are read with
``isel``, so a Zarr/NetCDF store larger than memory streams instead of being loaded whole.
Tensors come out with a leading channel axis, one channel per variable (and per frame for
trajectories); normalisers, when given, are applied per variable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from sciml.data.io import open_dataset
from sciml.data.normalize import Normalizers
from sciml.data.schema import check_dims, check_finite, require_variables
from sciml.errors import DimensionError


class _XarraySource:
    """Holds a Dataset or a path; opens the path lazily, once per process (DataLoader worker)."""

    def __init__(self, source: xr.Dataset | str | Path):
        self._path = None if isinstance(source, xr.Dataset) else Path(source)
        self._ds = source if isinstance(source, xr.Dataset) else None
        self._pid = None

    @property
    def ds(self) -> xr.Dataset:
        import os

        if self._path is not None and (self._ds is None or self._pid != os.getpid()):
            self._ds, self._pid = open_dataset(self._path), os.getpid()
        return self._ds

    def __getstate__(self):  # workers reopen the file instead of pickling the handle
        state = self.__dict__.copy()
        if self._path is not None:
            state["_ds"] = None
        return state


def _to_tensor(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values), dtype=dtype)


class FieldDataset(Dataset):
    """Map input fields to target fields, one item per ``sample``.

    Each variable must have dims ``("sample", *spatial)`` with the same spatial dims.
    Item ``i`` is ``(x, y)`` with ``x: (len(inputs), *spatial)`` and ``y: (len(targets), *spatial)``.

    Parameters
    ----------
    source : Dataset or path (opened lazily per worker).
    inputs, targets : variable names.
    indices : sample indices to expose (e.g. a split); default all.
    normalizers : applied per variable (encode) when given.
    check : validate dims and NaN/Inf up front (loads the selected variables once).
    """

    def __init__(self, source: xr.Dataset | str | Path, inputs: Sequence[str], targets: Sequence[str],
                 indices: Sequence[int] | None = None, normalizers: Normalizers | None = None,
                 dtype: torch.dtype = torch.float32, check: bool = True):
        self.src = _XarraySource(source)
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

    def __len__(self) -> int:
        return len(self.indices)

    def _stack(self, names: list[str], i: int) -> torch.Tensor:
        sel = self.src.ds[names].isel(sample=int(self.indices[i]))
        return torch.stack([self.normalizers.encode(n, _to_tensor(sel[n].values, self.dtype)) for n in names])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._stack(self.inputs, i), self._stack(self.targets, i)


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
