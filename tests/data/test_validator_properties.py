"""Property-based checks of the data validators (hypothesis): parameter rules accept exactly the values in
range, and schema/output checks accept valid Datasets and reject every perturbed one (a NaN/Inf anywhere,
a missing variable) with an error naming the variable."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sciml.data import validate
from sciml.data.params import Int, Real, check_output_finite, check_params
from sciml.errors import ConfigError, MissingVariableError, NonFiniteError

FAST = settings(max_examples=50, deadline=None, database=None)
BOUND = st.one_of(st.none(), st.floats(-1e6, 1e6))
ANY_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**9, 10**9))


def _in_range(v, gt, ge, lt, le) -> bool:
    return (math.isfinite(v) and (gt is None or v > gt) and (ge is None or v >= ge)
            and (lt is None or v < lt) and (le is None or v <= le))


@FAST
@given(ANY_NUMBER, BOUND, BOUND, BOUND, BOUND)
def test_real_rule_accepts_exactly_finite_values_in_range(v, gt, ge, lt, le):
    rule = Real(gt=gt, ge=ge, lt=lt, le=le)
    assert (rule.problem(v) is None) == _in_range(float(v), gt, ge, lt, le)
    ok = rule.problem(v) is None
    if ok:
        check_params("dataset 'x'", {"p": v}, {"p": rule})
    else:
        with pytest.raises(ConfigError, match="dataset 'x': parameter 'p'"):
            check_params("dataset 'x'", {"p": v}, {"p": rule})


@FAST
@given(ANY_NUMBER, st.integers(-100, 100))
def test_int_rule_accepts_only_integers_at_least_the_bound(v, ge):
    ok = Int(ge=ge).problem(v) is None
    assert ok == (isinstance(v, int) and v >= ge)
    assert Int(ge=ge).problem(True) is not None  # a bool is not a count


@st.composite
def datasets(draw):
    """Finite Datasets with 1-3 float variables over (sample, y, x)."""
    n_vars = draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)
    return xr.Dataset({f"v{i}": (("sample", "y", "x"), draw(arrays(np.float32, shape, elements=values)))
                       for i in range(n_vars)})


@FAST
@given(datasets(), st.data())
def test_validators_accept_valid_and_reject_perturbed_datasets(ds, data):
    names = list(ds.data_vars)
    assert validate(ds, required=names, finite=True) is ds
    assert check_output_finite("dataset 'x'", ds, {}) is ds

    # a NaN or +-Inf anywhere in any variable is rejected, naming that variable
    name = data.draw(st.sampled_from(names))
    idx = tuple(data.draw(st.integers(0, n - 1)) for n in ds[name].shape)
    bad = ds.copy(deep=True)
    bad[name].values[idx] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    with pytest.raises(NonFiniteError, match=f"variable '{name}'"):
        validate(bad, required=names, finite=True)
    with pytest.raises(NonFiniteError, match=f"in variable '{name}'"):
        check_output_finite("dataset 'x'", bad, {})

    # a required variable that is absent is named
    with pytest.raises(MissingVariableError, match=name):
        validate(ds.drop_vars(name), required=names)
