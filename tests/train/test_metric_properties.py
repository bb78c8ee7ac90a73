"""Property-based checks of the metrics (hypothesis): sign, zero iff equal, scaling, hand computations in
numpy, and the non-finite rule (a NaN/Inf anywhere in a sample's prediction makes that sample's score NaN)."""
from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sciml.train import metrics as M

FAST = settings(max_examples=50, deadline=None, database=None)
CLIMATE = settings(max_examples=20, deadline=None, database=None)  # ~20 ms per xarray metric call
# values on a 1e-3 lattice: distinct values differ by >= 1e-3, so squared errors never underflow
VALUE = st.integers(-10**6, 10**6).map(lambda i: i / 1000.0)


@st.composite
def pairs(draw, nonzero_target: bool = False):
    """(pred, target) float64 tensors of one shape (B, 1, H, W), B in 1..3, H, W in 3..6."""
    shape = (draw(st.integers(1, 3)), 1, draw(st.integers(3, 6)), draw(st.integers(3, 6)))
    target = draw(arrays(np.float64, shape, elements=VALUE))
    if nonzero_target:
        target[..., 0, 0] = draw(st.sampled_from([-1.0, 1.0])) * (1 + np.abs(target[..., 0, 0]))
    pred = draw(arrays(np.float64, shape, elements=VALUE))
    equal_rows = draw(arrays(bool, shape[0]))
    pred[equal_rows] = target[equal_rows]  # some samples predicted exactly
    return torch.from_numpy(pred), torch.from_numpy(target)


ERRORS = ["rel_l2", "rel_h1", "mse", "rmse", "mae", "max_abs_error"]


@FAST
@given(pairs(nonzero_target=True))
def test_errors_non_negative_and_zero_iff_equal(pt):
    pred, target = pt
    equal = (pred == target).flatten(1).all(1)
    for name in ERRORS:
        score = M.METRICS[name](pred, target)
        assert score.shape == (pred.shape[0],) and bool((score >= 0).all()), name
        assert torch.equal(score == 0, equal), name
    psnr = M.psnr(pred, target)  # the error's mirror image: +inf iff equal, finite otherwise
    assert torch.equal(torch.isinf(psnr), equal) and bool(torch.isfinite(psnr[~equal]).all())


@FAST
@given(pairs(nonzero_target=True))
def test_agree_with_numpy_hand_computation(pt):
    pred, target = pt
    p, t = pred.flatten(1).numpy(), target.flatten(1).numpy()
    np.testing.assert_allclose(M.rel_l2(pred, target), np.linalg.norm(p - t, axis=1) / np.linalg.norm(t, axis=1),
                               rtol=1e-12)
    np.testing.assert_allclose(M.rmse(pred, target), np.sqrt(np.mean((p - t) ** 2, axis=1)), rtol=1e-12)
    np.testing.assert_allclose(M.mae(pred, target), np.mean(np.abs(p - t), axis=1), rtol=1e-12)
    np.testing.assert_array_equal(M.max_abs_error(pred, target), np.max(np.abs(p - t), axis=1))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(M.psnr(pred, target, data_range=2.0),
                                   10 * np.log10(4.0 / np.mean((p - t) ** 2, axis=1)), rtol=1e-12)


@FAST
@given(pairs(nonzero_target=True), st.floats(1e-3, 1e3))
def test_scaling(pt, c):
    pred, target = pt
    torch.testing.assert_close(M.rel_l2(c * pred, c * target), M.rel_l2(pred, target), rtol=1e-10, atol=0)
    torch.testing.assert_close(M.rel_h1(c * pred, c * target), M.rel_h1(pred, target), rtol=1e-10, atol=0)
    torch.testing.assert_close(M.rmse(c * pred, c * target), c * M.rmse(pred, target), rtol=1e-10, atol=0)
    torch.testing.assert_close(M.max_abs_error(c * pred, c * target), c * M.max_abs_error(pred, target),
                               rtol=1e-10, atol=0)
    # PSNR against a peak scaled with the data is unchanged (+inf stays +inf for exact samples)
    torch.testing.assert_close(M.psnr(c * pred, c * target, data_range=c), M.psnr(pred, target), rtol=1e-10, atol=0)


@FAST
@given(pairs(), st.data())
def test_any_non_finite_prediction_scores_nan_only_in_its_sample(pt, data):
    pred, target = pt
    b = data.draw(st.integers(0, pred.shape[0] - 1))
    where = tuple(data.draw(st.integers(0, n - 1)) for n in pred.shape[1:])
    bad = pred.clone()
    bad[(b, *where)] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    for name, fn in M.METRICS.items():
        clean, score = fn(pred, target), fn(bad, target)
        assert math.isnan(float(score[b])), name
        others = [i for i in range(pred.shape[0]) if i != b]
        torch.testing.assert_close(score[others], clean[others], equal_nan=True, msg=name)


# ---------------------------------------------------------------- ClimateBench NRMSE

@st.composite
def climate_pairs(draw):
    """(truth, pred) DataArrays (time, latitude, longitude), truth around 280 (a nonzero normaliser)."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(2, 5)), draw(st.integers(2, 5)))
    coords = {"time": np.arange(shape[0]), "latitude": np.linspace(-75, 75, shape[1]),
              "longitude": np.linspace(0, 300, shape[2])}
    truth = 280 + draw(arrays(np.float64, shape, elements=VALUE))
    pred = truth + draw(arrays(np.float64, shape, elements=st.integers(-1000, 1000).map(lambda i: i / 100)))
    da = lambda v: xr.DataArray(v, dims=tuple(coords), coords=coords, name="tas")  # noqa: E731
    return da(truth), da(pred)


@CLIMATE
@given(climate_pairs(), st.floats(1e-2, 1e2), st.data())
def test_climate_nrmse_properties(tp, c, data):
    """Hand computation with cos(lat) weights, zero for the truth itself, invariance to a common scale, and
    NaN (never a score of the finite part) once any value of the prediction is NaN/Inf."""
    from sciml.climate import metrics as C

    truth, pred = tp
    w = np.cos(np.deg2rad(truth.latitude.values))[:, None] * np.ones(truth.shape[2])
    diff = truth.values.mean(0) - pred.values.mean(0)
    rmse = np.sqrt((w * diff**2).sum() / w.sum())
    norm = abs((w * truth.values.mean(0)).sum() / w.sum())
    assert math.isclose(C.spatial_rmse(truth, pred), rmse, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(C.spatial_nrmse(truth, pred), rmse / norm, rel_tol=1e-9, abs_tol=1e-12)
    assert C.spatial_nrmse(truth, truth) == 0 and C.global_nrmse(truth, truth) == 0
    assert C.global_nrmse(truth, pred) >= 0
    assert math.isclose(C.total_nrmse(c * truth, c * pred), C.total_nrmse(truth, pred), rel_tol=1e-9, abs_tol=1e-12)

    idx = tuple(data.draw(st.integers(0, n - 1)) for n in pred.shape)
    bad = pred.copy(data=pred.values.copy())
    bad.values[idx] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    for fn in (C.spatial_nrmse, C.global_nrmse, C.total_nrmse, C.spatial_rmse):
        assert math.isnan(fn(truth, bad)), fn.__name__
