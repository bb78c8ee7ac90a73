"""Per-variable normalisers, fitted on training data and saved inside checkpoints.

Each variable gets an affine map ``z = (v - mean) / std`` with scalar statistics fitted on the
training split (never hard-coded). :class:`Normalizers` is a name -> :class:`Normalizer` map
whose ``state()`` is a plain dict, so it travels in a checkpoint without pickling classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch
import xarray as xr

from sciml.errors import MissingVariableError


@dataclass
class Normalizer:
    """Affine normaliser of one variable: ``encode(v) = (v - mean) / std``."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, values: np.ndarray | xr.DataArray | torch.Tensor, eps: float = 1e-12) -> "Normalizer":
        arr = values.values if isinstance(values, xr.DataArray) else values
        arr = torch.as_tensor(np.asarray(arr), dtype=torch.float64)
        std = float(arr.std(correction=0))  # population std, as numpy/xarray
        return cls(mean=float(arr.mean()), std=std if std > eps else 1.0)

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.mean) / self.std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


class Normalizers(dict):
    """``{variable name: Normalizer}`` with fitting from an xarray Dataset and a plain-dict state."""

    @classmethod
    def fit(cls, ds: xr.Dataset, variables: Iterable[str]) -> "Normalizers":
        out = cls()
        for name in variables:
            if name not in ds:
                raise MissingVariableError(
                    f"cannot fit a normaliser for {name!r}: not in dataset (has {sorted(ds.data_vars)})"
                )
            out[name] = Normalizer.fit(ds[name])
        return out

    def state(self) -> dict[str, dict[str, float]]:
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
