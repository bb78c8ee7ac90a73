"""Per-variable normalisers, fitted on training data and saved inside checkpoints.

Each variable gets an affine map ``z = (v - mean) / std`` with statistics fitted on the training
split (never hard-coded): one scalar mean/std per variable by default, or, with ``pointwise=True``,
one mean/std per grid point over the sample dimension (the MgNO/FNO papers' normaliser).
:class:`Normalizers` is a name -> :class:`Normalizer` map whose ``state()`` is a plain dict of
floats or tensors, so it travels in a checkpoint without pickling classes. :class:`DecodedOutput`
puts a normaliser's decode *inside* a model, so a loss can be computed in physical units.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import xarray as xr

from sciml.errors import DimensionError, MissingVariableError

Stat = float | torch.Tensor


def resample_to_grid(field: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A field on a vertex-centred grid of the domain, ``(n_1, ..., n_d)``, resampled to ``shape`` (same
    domain, end points included, as sciml's generators lay out their grids) by multilinear interpolation.

    Pointwise statistics are functions on the domain, not on one grid: resampling them lets a
    discretisation-invariant model (FNO, MgNO) trained with pointwise normalisers run at another resolution.
    """
    if len(shape) != field.ndim or field.ndim not in (1, 2, 3):
        raise DimensionError(f"pointwise statistics on a {tuple(field.shape)} grid cannot be applied to data on "
                             f"a {shape} grid (a different number of dimensions); use data of the training grid's "
                             "dimension")
    mode = ("linear", "bilinear", "trilinear")[field.ndim - 1]
    return F.interpolate(field[None, None], size=shape, mode=mode, align_corners=True)[0, 0]


@dataclass
class Normalizer:
    """Affine normaliser of one variable: ``encode(v) = (v - mean) / std``.

    ``mean``/``std`` are floats (scalar mode) or float64 tensors shaped like one sample (pointwise
    mode, e.g. ``(H, W)``), which broadcast over leading batch/channel dimensions and are cast to
    the input's dtype and device on use.
    """

    mean: Stat = 0.0
    std: Stat = 1.0

    @classmethod
    def fit(cls, values: np.ndarray | xr.DataArray | torch.Tensor, eps: float | None = None,
            pointwise: bool = False) -> "Normalizer":
        """Fit on training values with the sample dimension first (or named ``sample`` in a DataArray).

        Scalar mode (default): population mean/std over every entry; a constant variable
        (std <= eps, eps 1e-12) gets std 1. Pointwise mode: mean/std over samples at each grid
        point, std floored at eps (default 1e-5, the papers' value), so a point that is constant
        over the training samples (a Dirichlet wall) decodes to its training value whatever the
        network outputs.

        A dask-backed DataArray is reduced chunk by chunk in float64 (dask's mean and std), never
        materialised; in-memory values are reduced by torch in float64.
        """
        axis = 0
        if isinstance(values, xr.DataArray):
            axis = values.dims.index("sample") if "sample" in values.dims else 0
            if values.chunks is not None:
                return cls._fit_chunked(values.data, axis, eps, pointwise)
            values = values.values
        arr = torch.as_tensor(np.asarray(values), dtype=torch.float64)
        if not pointwise:
            std = float(arr.std(correction=0))  # population std, as numpy/xarray
            return cls._scalar(float(arr.mean()), std, eps)
        return cls._pointwise(arr.mean(axis), arr.std(axis, correction=0), eps)

    @classmethod
    def _fit_chunked(cls, data, axis: int, eps: float | None, pointwise: bool) -> "Normalizer":
        """:meth:`fit` on a dask array: per-chunk moments merged by dask, in float64.

        Two passes over the data (mean, then std): computed together, the two reductions would share
        each chunk and dask would hold chunks read for one until the other consumed them.
        """
        x = data.astype(np.float64)
        over = axis if pointwise else None
        mean, std = x.mean(over).compute(), x.std(over).compute()  # std: population (ddof 0)
        if not pointwise:
            return cls._scalar(float(mean), float(std), eps)
        return cls._pointwise(torch.as_tensor(mean), torch.as_tensor(std), eps)

    @classmethod
    def _scalar(cls, mean: float, std: float, eps: float | None) -> "Normalizer":
        eps = 1e-12 if eps is None else eps
        return cls(mean=mean, std=std if std > eps else 1.0)

    @classmethod
    def _pointwise(cls, mean: torch.Tensor, std: torch.Tensor, eps: float | None) -> "Normalizer":
        eps = 1e-5 if eps is None else eps
        return cls(mean=mean, std=std.clamp_min(eps))

    @property
    def pointwise(self) -> bool:
        return isinstance(self.mean, torch.Tensor) and self.mean.ndim > 0

    def _stats(self, v: torch.Tensor) -> tuple[Stat, Stat]:
        if isinstance(self.mean, torch.Tensor):
            mean, std = self.mean.to(v.device, v.dtype), torch.as_tensor(self.std).to(v.device, v.dtype)
            grid = tuple(v.shape[v.ndim - mean.ndim:]) if mean.ndim else ()
            if mean.ndim and grid != tuple(mean.shape):
                mean, std = resample_to_grid(mean, grid), resample_to_grid(std, grid)
            return mean, std
        return self.mean, self.std

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(v)
        return (v - mean) / std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(z)
        return z * std + mean


class DecodedOutput(nn.Module):
    """``net`` followed by ``normalizer.decode``: normalised input -> output in physical units.

    The statistics are float32 buffers, so they follow ``.to(device)`` and live in the model's
    ``state_dict``. With a pointwise normaliser this is the MgNO/FNO papers' set-up: the loss sees
    physical fields and Dirichlet walls (std floored at eps) are pinned to their training value.
    """

    def __init__(self, net: nn.Module, normalizer: Normalizer):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.as_tensor(normalizer.mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(normalizer.std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return Normalizer(self.mean, self.std).decode(self.net(x))


class Normalizers(dict):
    """``{variable name: Normalizer}`` with fitting from an xarray Dataset and a plain-dict state."""

    @classmethod
    def fit(cls, ds: xr.Dataset, variables: Iterable[str], pointwise: bool = False) -> "Normalizers":
        """One normaliser per variable, scalar or (``pointwise=True``) per grid point over ``sample``."""
        out = cls()
        for name in variables:
            if name not in ds:
                raise MissingVariableError(
                    f"cannot fit a normaliser for {name!r}: not in dataset (has {sorted(ds.data_vars)})"
                )
            out[name] = Normalizer.fit(ds[name], pointwise=pointwise)
        return out

    def state(self) -> dict[str, dict[str, Stat]]:
        return {k: {"mean": v.mean, "std": v.std} for k, v in self.items()}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> "Normalizers":
        return cls({k: Normalizer(**v) for k, v in (state or {}).items()})

    def encode(self, name: str, v: torch.Tensor) -> torch.Tensor:
        return self[name].encode(v) if name in self else v

    def decode(self, name: str, z: torch.Tensor) -> torch.Tensor:
        return self[name].decode(z) if name in self else z

    def encode_stack(self, names: list[str], x: torch.Tensor, dim: int = 1) -> torch.Tensor:
        """Encode a tensor whose ``dim`` stacks the variables ``names`` (one channel each)."""
        return torch.stack([self.encode(n, t) for n, t in zip(names, x.unbind(dim))], dim=dim)

    def decode_stack(self, names: list[str], z: torch.Tensor, dim: int = 1) -> torch.Tensor:
        return torch.stack([self.decode(n, t) for n, t in zip(names, z.unbind(dim))], dim=dim)
