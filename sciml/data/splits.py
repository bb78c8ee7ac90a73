"""Seeded, reproducible train/val/test splits along a dimension."""
from __future__ import annotations

import numpy as np
import xarray as xr

from sciml.errors import ConfigError


def split_indices(n: int, fractions: dict[str, float] | None = None, seed: int = 0,
                  shuffle: bool = True) -> dict[str, np.ndarray]:
    """Partition ``range(n)`` into named parts with the given fractions (they must sum to <= 1).

    The last part takes the rounding remainder when the fractions sum to 1. Same seed, same split.
    """
    fractions = fractions or {"train": 0.8, "val": 0.1, "test": 0.1}
    total = sum(fractions.values())
    if any(f < 0 for f in fractions.values()) or total > 1 + 1e-9:
        raise ConfigError(f"split fractions must be >= 0 and sum to <= 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    counts = [int(round(f * n)) for f in fractions.values()]
    if abs(total - 1) < 1e-9:
        counts[-1] = n - sum(counts[:-1])
    out, start = {}, 0
    for name, c in zip(fractions, counts):
        out[name] = np.sort(order[start:start + c])
        start += c
    return out


def split_dataset(ds: xr.Dataset, dim: str = "sample", fractions: dict[str, float] | None = None,
                  seed: int = 0) -> dict[str, xr.Dataset]:
    """Split ``ds`` along ``dim`` into named Datasets (see :func:`split_indices`)."""
    idx = split_indices(ds.sizes[dim], fractions, seed)
    return {k: ds.isel({dim: v}) for k, v in idx.items()}
