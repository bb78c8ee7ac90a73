"""Read and write ClimateBench files exactly (Watson-Parris et al. 2022, Zenodo 10.5281/zenodo.5196512).

Schema of the released files, per experiment ``exp``:

- ``inputs_{exp}.nc``: ``CO2`` (time) cumulative anthropogenic CO2 emissions [GtCO2];
  ``CH4`` (time) [GtCH4 yr-1]; ``SO2`` and ``BC`` (time, latitude, longitude) [kg m-2 s-1].
  Coordinates ``time`` (integer years), ``latitude``, ``longitude``.
- ``outputs_{exp}.nc``: ``tas`` [K], ``diurnal_temperature_range`` [K], ``pr`` and ``pr90``
  [kg m-2 s-1], dims (member, time, lat, lon): anomalies against piControl; coordinates
  named ``lat``/``lon`` and a scalar ``quantile`` (0.9, from pr90).

:func:`load_climatebench` returns both normalised to ``latitude``/``longitude`` (ascending,
longitude 0..360 as in NorESM2-LM) through :func:`sciml.data.normalize_coords`, with outputs
transposed to (member, time, latitude, longitude).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import xarray as xr

from sciml.data.coords import normalize_coords
from sciml.errors import ConfigError, DimensionError, InputFileError, MissingVariableError, NonFiniteError, SchemaError
from sciml.utils.files import atomic_path

INPUT_VARS = ("CO2", "CH4", "SO2", "BC")
OUTPUT_VARS = ("tas", "diurnal_temperature_range", "pr", "pr90")
INPUT_UNITS = {"CO2": "GtCO2", "CH4": "GtCH4 yr-1", "SO2": "kg m-2 s-1", "BC": "kg m-2 s-1"}
OUTPUT_UNITS = {"tas": "K", "diurnal_temperature_range": "K", "pr": "kg m-2 s-1", "pr90": "kg m-2 s-1"}
LONG_NAMES = {
    "CO2": "cumulative anthropogenic CO2 emissions since 1850", "CH4": "anthropogenic CH4 emissions",
    "SO2": "anthropogenic SO2 emissions", "BC": "anthropogenic black carbon emissions",
    "tas": "near-surface air temperature anomaly", "diurnal_temperature_range": "diurnal temperature range anomaly",
    "pr": "precipitation anomaly", "pr90": "90th percentile of daily precipitation anomaly",
}
TRAIN_EXPERIMENTS = ("historical", "ssp126", "ssp370", "ssp585", "hist-GHG", "hist-aer")
TEST_EXPERIMENT = "ssp245"
PREDICTION_FILE = f"prediction_{TEST_EXPERIMENT}.nc"  # an emulator's ssp245 prediction, beside its checkpoint
HISTORICAL_YEARS = (1850, 2014)
SCENARIO_YEARS = (2015, 2100)


def experiment_years(exp: str) -> np.ndarray:
    """The years an experiment covers: 1850-2014 for historical/hist-*, 2015-2100 for SSPs."""
    lo, hi = SCENARIO_YEARS if exp.startswith("ssp") else HISTORICAL_YEARS
    return np.arange(lo, hi + 1)


def read_normalised(path: str | Path) -> xr.Dataset:
    """The netCDF file ``path`` read into memory with its coordinates normalised (:func:`_normalise`);
    InputFileError (one line) when it does not read as netCDF, whatever the backend raises."""
    path = Path(path)
    try:
        ds = xr.load_dataset(path)
    except Exception as exc:  # the backends raise OSError, ValueError, KeyError... for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{str(path)!r} cannot be read as netCDF ({type(exc).__name__}: {first}); pass a "
                             "ClimateBench-schema .nc file") from exc
    return _normalise(ds, path)


def _normalise(ds: xr.Dataset, path: Path) -> xr.Dataset:
    ds = normalize_coords(ds, lon_range="0..360")
    for c in ("latitude", "longitude", "time"):
        if c not in ds.dims:
            raise DimensionError(f"{path}: no {c!r} dimension (dims are {dict(ds.sizes)}); "
                                 "ClimateBench files are (time, latitude, longitude)")
    return ds


def _check_years(ds: xr.Dataset, exp: str, path: Path, strict: bool) -> None:
    years = np.asarray(ds["time"].values)
    if np.issubdtype(years.dtype, np.datetime64):
        raise SchemaError(f"{path}: time is datetime; ClimateBench uses integer years")
    if np.any(np.diff(years) != 1):
        gaps = sorted(set(range(int(years.min()), int(years.max()) + 1)) - set(map(int, years)))
        raise SchemaError(f"{path}: years are not consecutive (missing {gaps[:10]}{'...' if len(gaps) > 10 else ''})")
    if strict:
        want = experiment_years(exp)
        if years[0] != want[0] or years[-1] != want[-1]:
            raise SchemaError(f"{path}: years {years[0]}-{years[-1]} but {exp} covers {want[0]}-{want[-1]}; "
                              "pass strict_years=False to accept partial files")


def _check_finite(ds: xr.Dataset, names: Iterable[str], path: Path) -> None:
    for v in names:
        bad = ~np.isfinite(ds[v].values)
        if bad.any():
            raise NonFiniteError(f"{path}: variable {v!r} has {int(bad.sum())} NaN/Inf values; ClimateBench "
                                 "files are complete, so the file is damaged or not a ClimateBench file")


RELEASE_FOLDERS = ("train_val", "test")  # the layout of the Zenodo release as unpacked


def _find_files(data_dir: str | Path, names: Sequence[str]) -> list[Path]:
    """The paths of ``names`` in the first of ``data_dir``, ``data_dir/train_val``, ``data_dir/test`` that
    holds them all; InputFileError naming both layouts otherwise."""
    d = Path(data_dir)
    if d.exists() and not d.is_dir():
        raise InputFileError(f"ClimateBench folder {str(d)!r} is a file, not a folder; point to the folder that holds "
                             "inputs_*.nc and outputs_*.nc (flat, or the release unpacked as train_val/ and test/)")
    if not d.is_dir():
        raise InputFileError(f"ClimateBench folder {str(d)!r} does not exist; point to the folder that holds "
                             "inputs_*.nc and outputs_*.nc (flat, or the release unpacked as train_val/ and test/)")
    for folder in (d, *(d / sub for sub in RELEASE_FOLDERS)):
        paths = [folder / name for name in names]
        if all(p.exists() for p in paths):
            return paths
    raise InputFileError(f"no ClimateBench file(s) {' and '.join(names)} in {d} or in its "
                         f"{'/ or '.join(RELEASE_FOLDERS)}/ folders; point to the folder that holds them "
                         "(a flat folder, or the release unpacked as train_val/ and test/)")


def experiment_paths(data_dir: str | Path, exp: str) -> dict[str, Path]:
    """``{"inputs": path, "outputs": path}`` of ``exp`` in ``data_dir``: a flat folder of ``inputs_{exp}.nc`` /
    ``outputs_{exp}.nc``, or the release layout (``train_val/`` with the training experiments, ``test/`` with
    ssp245). Raises :class:`~sciml.errors.InputFileError` (a FileNotFoundError) when they are not there."""
    inputs, outputs = _find_files(data_dir, (f"inputs_{exp}.nc", f"outputs_{exp}.nc"))
    return {"inputs": inputs, "outputs": outputs}


def load_inputs(data_dir: str | Path, exp: str, strict_years: bool = True) -> xr.Dataset:
    """The checked, normalised ``inputs_{exp}.nc`` alone (a scenario to predict needs no outputs file):
    CO2 (time) [GtCO2], CH4 (time) [GtCH4 yr-1], SO2/BC (time, latitude, longitude) [kg m-2 s-1]."""
    (path,) = _find_files(data_dir, (f"inputs_{exp}.nc",))
    return _read_checked(path, INPUT_VARS, exp, strict_years)[list(INPUT_VARS)]


def _read_checked(path: Path, names: Sequence[str], exp: str, strict_years: bool) -> xr.Dataset:
    """``path`` read and normalised, with the variables ``names``, the years of ``exp`` and finite values."""
    ds = read_normalised(path)
    missing = [n for n in names if n not in ds]
    if missing:
        raise MissingVariableError(f"{path} lacks {missing}; it has {sorted(map(str, ds.data_vars))}")
    _check_years(ds, exp, path, strict_years)
    _check_finite(ds, names, path)
    return ds


def load_experiment(data_dir: str | Path, exp: str, members: int | Sequence[int] | None = None,
                    strict_years: bool = True) -> tuple[xr.Dataset, xr.Dataset]:
    """Read ``inputs_{exp}.nc`` and ``outputs_{exp}.nc`` (see :func:`experiment_paths` for where);
    ``members``: count (first N) or indices."""
    paths = experiment_paths(data_dir, exp)
    x = _read_checked(paths["inputs"], INPUT_VARS, exp, strict_years)
    y = _read_checked(paths["outputs"], OUTPUT_VARS, exp, strict_years)
    y = y.drop_vars([c for c in ("quantile",) if c in y.coords])
    if "member" not in y.dims:
        y = y.expand_dims(member=[0])
    y = y[list(OUTPUT_VARS)].transpose("member", "time", "latitude", "longitude")
    if members is not None:
        idx = list(range(members)) if isinstance(members, int) else list(members)
        if not idx or min(idx) < 0:  # range(0) is empty; a negative index would pick members from the end
            raise ConfigError(f"members={members!r}: give a count of at least 1 or member indices from 0")
        if max(idx) >= y.sizes["member"]:
            raise SchemaError(f"{paths['outputs']}: asked for member(s) {idx} but it has {y.sizes['member']}")
        y = y.isel(member=idx)
    x = x[list(INPUT_VARS)]
    if x.sizes["latitude"] != y.sizes["latitude"] or x.sizes["longitude"] != y.sizes["longitude"] or not (
            np.allclose(x.latitude, y.latitude, atol=1e-3) and np.allclose(x.longitude, y.longitude, atol=1e-3)):
        raise DimensionError(f"{exp}: input grid {x.sizes['latitude']}x{x.sizes['longitude']} does not match "
                             f"output grid {y.sizes['latitude']}x{y.sizes['longitude']}; regrid one of them")
    if not np.array_equal(x.time.values, y.time.values):
        raise SchemaError(f"{exp}: inputs cover years {x.time.values[[0, -1]]} but outputs {y.time.values[[0, -1]]}")
    y = y.assign_coords(latitude=x.latitude, longitude=x.longitude)
    return x, y


def load_climatebench(data_dir: str | Path, experiments: Sequence[str] = TRAIN_EXPERIMENTS,
                      members: int | Sequence[int] | None = None,
                      strict_years: bool = True) -> dict[str, tuple[xr.Dataset, xr.Dataset]]:
    """``{exp: (inputs, outputs)}`` for each experiment, normalised and checked.

    Raises FileNotFoundError, MissingVariableError, DimensionError (grids differ),
    SchemaError (missing years, too few members) or NonFiniteError (NaNs).
    """
    if isinstance(experiments, str):
        experiments = [experiments]
    return {e: load_experiment(data_dir, e, members, strict_years) for e in experiments}


def write_climatebench(data_dir: str | Path, exp: str, inputs: xr.Dataset, outputs: xr.Dataset,
                       attrs: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``inputs_{exp}.nc``/``outputs_{exp}.nc`` in the released schema (see module docstring).

    ``inputs``/``outputs`` use ``latitude``/``longitude``; outputs get renamed to ``lat``/``lon``. ``attrs``
    become global attributes of both files (e.g. ``source`` and ``history``). Data variables are stored as
    float32 with zlib compression: one member of one scenario (86 years on the 96 x 144 grid) is about 15 MB.
    """
    d = Path(data_dir)
    x = _file_schema(inputs[list(INPUT_VARS)].copy(), INPUT_UNITS, attrs)
    paths = (d / f"inputs_{exp}.nc", d / f"outputs_{exp}.nc")
    write_netcdf(x, paths[0])
    write_outputs(outputs, paths[1], attrs)
    return paths


def write_outputs(outputs: xr.Dataset, path: str | Path, attrs: dict[str, str] | None = None) -> Path:
    """Write the four output variables in the released ``outputs_*.nc`` schema: dims ([member,] time, lat,
    lon), units and long names, a scalar ``quantile`` 0.9, float32 + zlib, renamed into place. ``outputs``
    uses ``latitude``/``longitude``; a prediction without a ``member`` dim is written without one."""
    dims = [d for d in ("member", "time", "latitude", "longitude") if d in outputs.dims]
    y = _file_schema(outputs[list(OUTPUT_VARS)].transpose(*dims).copy(), OUTPUT_UNITS, attrs)
    y = y.rename({"latitude": "lat", "longitude": "lon"}).assign_coords(quantile=0.9)
    if "member" in y.dims:
        y["member"] = y["member"].astype("int64")
    return write_netcdf(y, path)


def _file_schema(ds: xr.Dataset, units: dict[str, str], attrs: dict[str, str] | None) -> xr.Dataset:
    """Units, long names, integer years and CF coordinate attributes, as the released files carry them."""
    ds.attrs.update(attrs or {})
    for v, u in units.items():
        ds[v].attrs.update(units=u, long_name=LONG_NAMES[v])
    ds["time"] = ds["time"].astype("int64")
    ds["time"].attrs.update(long_name="year")
    ds["latitude"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["longitude"].attrs.update(units="degrees_east", standard_name="longitude")
    return ds


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Data variables as float32 with zlib level 1 (what keeps the release's files small), written beside
    ``path`` and renamed into place."""
    enc = {v: {"dtype": "float32", "zlib": True, "complevel": 1} for v in ds.data_vars}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=enc)
    return Path(path)
