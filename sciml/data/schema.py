"""Schema checks for xarray Datasets, with errors that name the variable and the fix."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import dask
import numpy as np
import xarray as xr

from sciml.errors import DimensionError, MissingVariableError, NonFiniteError, SchemaError


def require_variables(ds: xr.Dataset, names: Iterable[str], source: str = "dataset") -> None:
    """Raise MissingVariableError listing every absent variable and what is present."""
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise MissingVariableError(
            f"{source} is missing variable(s) {missing}; it has {sorted(map(str, ds.data_vars))}. "
            "Pass the right variable names (e.g. inputs=[...]/targets=[...]) or regenerate the file."
        )


def check_dims(da: xr.DataArray, dims: Sequence[str], name: str | None = None, exact_order: bool = False) -> None:
    """Raise DimensionError unless ``da`` has exactly the dimensions ``dims``."""
    name = name or str(da.name)
    ok = tuple(da.dims) == tuple(dims) if exact_order else set(da.dims) == set(dims)
    if not ok:
        raise DimensionError(
            f"variable {name!r} has dims {tuple(da.dims)} but {tuple(dims)} were expected"
            + ("" if exact_order else " (in any order)")
            + ". Rename or transpose it, e.g. ds.rename({'lat': 'latitude'}) or da.transpose(...)."
        )


def check_finite(da: xr.DataArray, name: str | None = None) -> None:
    """Raise NonFiniteError with the count and first location of NaN/Inf values.

    A dask-backed ``da`` is checked chunk by chunk: one flag per index along the first dim is the
    only result held, so data larger than memory is never materialised. Only when a flag is set are
    the values counted (a second pass) and the first offending row read to locate the value.
    """
    name = name or str(da.name)
    if not np.issubdtype(da.dtype, np.number):
        return
    bad = ~np.isfinite(da.data)  # numpy, or a lazy dask array
    rows = bad.any(axis=tuple(range(1, bad.ndim))) if bad.ndim else bad.reshape(1)
    rows, = dask.compute(rows)  # numpy passes through unchanged
    if rows.any():
        row = int(np.argmax(rows))
        count = int(dask.compute(bad.sum())[0])
        in_row = np.argwhere(np.asarray(bad[row]))[0] if bad.ndim else ()
        where = dict(zip(da.dims, map(int, (row, *in_row) if bad.ndim else ())))
        raise NonFiniteError(
            f"variable {name!r} has {count} NaN/Inf value(s) (first at {where}). "
            "Fill or drop them before training (e.g. ds.fillna(...) or ds.dropna('sample'))."
        )


def validate(ds: xr.Dataset, required: Iterable[str] = (), dims: Mapping[str, Sequence[str]] | None = None,
             finite: Iterable[str] | bool = False, units: bool = False, source: str = "dataset") -> xr.Dataset:
    """Check a Dataset and return it unchanged.

    Parameters
    ----------
    required : variables that must exist.
    dims : ``{variable: expected dims}`` (order-insensitive).
    finite : variables that must be NaN/Inf free (``True`` = all required ones).
    units : if True, every required variable must carry a ``units`` attribute.
    """
    if not isinstance(ds, xr.Dataset):
        raise SchemaError(f"{source} must be an xarray.Dataset, got {type(ds).__name__}")
    required = list(required)
    require_variables(ds, required, source)
    for name, expected in (dims or {}).items():
        require_variables(ds, [name], source)
        check_dims(ds[name], expected, name)
    finite_vars = required if finite is True else list(finite or [])
    for name in finite_vars:
        check_finite(ds[name], name)
    if units:
        no_units = [n for n in required if "units" not in ds[n].attrs]
        if no_units:
            raise SchemaError(f"variable(s) {no_units} in {source} have no 'units' attribute")
    return ds
