"""ClimateBench file schema: round trip, real naming, bad input."""
import numpy as np
import pytest
import xarray as xr

from sciml.climate.io import load_climatebench, write_climatebench
from sciml.errors import DimensionError, MissingVariableError, NonFiniteError, SchemaError


def _exp(years, members=3, lat=4, lon=6, seed=0):
    rng = np.random.default_rng(seed)
    c = {"time": years, "latitude": np.linspace(-90, 90, lat), "longitude": np.arange(lon) * 360 / lon}
    x = xr.Dataset({"CO2": ("time", rng.random(len(years))), "CH4": ("time", rng.random(len(years))),
                    "SO2": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-10),
                    "BC": (("time", "latitude", "longitude"), rng.random((len(years), lat, lon)) * 1e-11)}, coords=c)
    dims = ("member", "time", "latitude", "longitude")
    y = xr.Dataset({v: (dims, rng.normal(size=(members, len(years), lat, lon)))
                    for v in ("tas", "diurnal_temperature_range", "pr", "pr90")},
                   coords={"member": np.arange(members), **c})
    return x, y


def test_round_trip_and_released_schema(tmp_path):
    x, y = _exp(np.arange(2015, 2101))
    write_climatebench(tmp_path, "ssp245", x, y)
    raw = xr.open_dataset(tmp_path / "outputs_ssp245.nc")
    assert raw.tas.dims == ("member", "time", "lat", "lon") and raw.pr.attrs["units"] == "kg m-2 s-1"
    assert xr.open_dataset(tmp_path / "inputs_ssp245.nc").SO2.dims == ("time", "latitude", "longitude")
    xi, yo = load_climatebench(tmp_path, ["ssp245"], members=2)["ssp245"]
    assert yo.sizes["member"] == 2 and yo.tas.dims == ("member", "time", "latitude", "longitude")
    np.testing.assert_allclose(yo.pr.values, y.pr.values[:2].astype("float32"))
    np.testing.assert_allclose(xi.CO2.values, x.CO2.values.astype("float32"))


def test_other_conventions_are_normalised(tmp_path):
    x, y = _exp(np.arange(2015, 2101))
    write_climatebench(tmp_path, "ssp245", x, y)
    ds = xr.load_dataset(tmp_path / "outputs_ssp245.nc")
    ds = ds.assign_coords(lon=((ds.lon + 180) % 360) - 180).sortby("lon").isel(lat=slice(None, None, -1))
    ds.transpose("time", "member", "lat", "lon").to_netcdf(tmp_path / "outputs_ssp245.nc")
    _, yo = load_climatebench(tmp_path, "ssp245")["ssp245"]
    np.testing.assert_allclose(yo.tas.values, y.tas.values.astype("float32"))


@pytest.mark.parametrize("damage, error", [("nan", NonFiniteError), ("gap", SchemaError), ("grid", DimensionError),
                                           ("var", MissingVariableError), ("short", SchemaError)])
def test_bad_input_errors(tmp_path, damage, error):
    x, y = _exp(np.arange(2015, 2101))
    if damage == "nan":
        y["pr"][0, 3, 1, 1] = np.nan
    if damage == "gap":
        x, y = x.drop_sel(time=[2050]), y.drop_sel(time=[2050])
    if damage == "grid":
        y = _exp(np.arange(2015, 2101), lat=5)[1]
    if damage == "var":
        x = x.drop_vars("BC")
    if damage == "short":
        x, y = x.isel(time=slice(0, 40)), y.isel(time=slice(0, 40))
    if damage == "var":
        x.to_netcdf(tmp_path / "inputs_ssp245.nc")
        write_climatebench(tmp_path / "ok", "ssp245", *_exp(np.arange(2015, 2101)))
        (tmp_path / "ok" / "outputs_ssp245.nc").rename(tmp_path / "outputs_ssp245.nc")
    else:
        write_climatebench(tmp_path, "ssp245", x, y)
    with pytest.raises(error):
        load_climatebench(tmp_path, ["ssp245"])
    with pytest.raises(FileNotFoundError):
        load_climatebench(tmp_path, ["ssp126"])
