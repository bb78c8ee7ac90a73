import numpy as np
import pytest
import xarray as xr

from sciml.data import open_dataset, save_dataset, validate
from sciml.errors import DimensionError, MissingVariableError, NonFiniteError, SchemaError
from tests.conftest import smoothing_dataset


def test_missing_variable_names_it(smooth_ds):
    with pytest.raises(MissingVariableError, match="'k'.*has \\['a', 'u'\\]"):
        validate(smooth_ds, required=["a", "k"])


def test_nan_reports_count_and_location(smooth_ds):
    ds = smooth_ds.copy(deep=True)
    ds["a"][3, 2, 1] = np.nan
    with pytest.raises(NonFiniteError, match="1 NaN/Inf.*'sample': 3, 'y': 2, 'x': 1"):
        validate(ds, required=["a"], finite=True)


def test_wrong_dims(smooth_ds):
    with pytest.raises(DimensionError, match="dims \\('sample', 'y', 'x'\\).*\\('sample', 'lat', 'lon'\\)"):
        validate(smooth_ds, dims={"a": ("sample", "lat", "lon")})


def test_units_required(smooth_ds):
    ds = smooth_ds.copy()
    ds["a"].attrs.pop("units")
    with pytest.raises(SchemaError, match="no 'units'"):
        validate(ds, required=["a"], units=True)


@pytest.mark.parametrize("suffix", [".nc", ".zarr", ".h5"])
def test_roundtrip_formats(tmp_path, suffix):
    ds = smoothing_dataset(n=4, res=8)
    path = save_dataset(ds, tmp_path / f"d{suffix}")
    back = open_dataset(path).load()
    xr.testing.assert_allclose(back, ds)
    assert back["u"].attrs["units"] == "1"


def test_failed_write_leaves_nothing(tmp_path):
    ds = smoothing_dataset(n=2, res=4)
    ds.attrs["bad"] = {"a dict": "cannot be a netCDF attribute"}
    with pytest.raises(Exception):
        save_dataset(ds, tmp_path / "x.nc")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_old_file(tmp_path):
    good = smoothing_dataset(n=2, res=4)
    save_dataset(good, tmp_path / "x.nc")
    bad = good.copy()
    bad.attrs["bad"] = {"x": 1}
    with pytest.raises(Exception):
        save_dataset(bad, tmp_path / "x.nc", overwrite=True)
    xr.testing.assert_allclose(open_dataset(tmp_path / "x.nc").load(), good)
    assert [p.name for p in tmp_path.iterdir()] == ["x.nc"]


def test_unknown_suffix(tmp_path):
    with pytest.raises(SchemaError, match="suffix '.txt'"):
        save_dataset(smoothing_dataset(n=1, res=2), tmp_path / "x.txt")
