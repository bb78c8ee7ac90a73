"""ClimateBench metrics checked by hand on tiny grids."""
import numpy as np
import pytest
import xarray as xr

from sciml.climate import metrics as M
from sciml.errors import DimensionError


def _da(values, lat=(-60.0, 0.0, 60.0), lon=(0.0, 180.0), years=(2080, 2081)):
    return xr.DataArray(np.asarray(values, float), dims=("time", "latitude", "longitude"),
                        coords={"time": list(years), "latitude": list(lat), "longitude": list(lon)})


def test_hand_computed_values():
    # weights cos(-60, 0, 60) = (0.5, 1, 0.5) -> normalised (0.25, 0.5, 0.25)
    truth = _da(np.full((2, 3, 2), 2.0))
    err = np.zeros((2, 3, 2))
    err[:, 1, :] = 1.0  # equator off by +1 both years
    pred = truth + err
    # spatial: sqrt(0.5 * 1) / 2 ; global: global-mean error 0.5 each year -> 0.5 / 2
    assert M.spatial_nrmse(truth, pred) == pytest.approx(np.sqrt(0.5) / 2)
    assert M.global_nrmse(truth, pred) == pytest.approx(0.25)
    assert M.total_nrmse(truth, pred) == pytest.approx(np.sqrt(0.5) / 2 + 5 * 0.25)


def test_time_mean_cancels_in_spatial_but_not_global():
    truth = _da(np.ones((2, 3, 2)))
    pred = truth.copy()
    pred[0] += 1.0
    pred[1] -= 1.0
    assert M.spatial_nrmse(truth, pred) == pytest.approx(0.0, abs=1e-12)
    assert M.global_nrmse(truth, pred) == pytest.approx(1.0)


def test_member_mean_first_and_descending_latitude():
    base = np.random.default_rng(0).normal(size=(2, 3, 2)) + 3
    truth = xr.concat([_da(base + 1), _da(base - 1)], "member")
    pred = _da(base + 0.3)
    expect = 0.3 / abs(float(M.global_mean(_da(base).mean("time"))))
    assert M.spatial_nrmse(truth, pred) == pytest.approx(expect)
    flipped = pred.isel(latitude=slice(None, None, -1)).rename(latitude="lat")
    assert M.spatial_nrmse(truth, flipped) == pytest.approx(expect)


def test_score_table_names_and_shape_errors():
    t = xr.Dataset({"pr": _da(np.ones((2, 3, 2))), "diurnal_temperature_range": _da(np.ones((2, 3, 2)))})
    table = M.score_table(t, t)
    assert set(table) == {f"{v}_{k}_nrmse" for v in ("pr", "dtr") for k in ("spatial", "global", "total")}
    with pytest.raises(DimensionError):
        M.spatial_nrmse(t.pr, t.pr.isel(longitude=[0]))
