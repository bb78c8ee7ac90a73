"""Shared fixtures: small mock datasets built by functions, not stored blobs."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import xarray as xr

# under pytest-xdist (make test runs 2 workers) each worker gets one thread, else two
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))


def smoothing_dataset(n: int = 64, res: int = 16, seed: int = 0) -> xr.Dataset:
    """Inputs ``a`` = white noise, targets ``u`` = a fixed linear smoothing of ``a`` (a learnable operator)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, res, res)).astype("float32")
    k = np.fft.fftfreq(res) * res
    filt = 1.0 / (1.0 + 0.05 * (k[:, None] ** 2 + k[None, :] ** 2))
    u = np.real(np.fft.ifft2(np.fft.fft2(a) * filt)).astype("float32")
    x = np.linspace(0, 1, res)
    return xr.Dataset(
        {"a": (("sample", "y", "x"), a, {"units": "1", "long_name": "input noise"}),
         "u": (("sample", "y", "x"), u, {"units": "1", "long_name": "smoothed field"})},
        coords={"sample": np.arange(n), "y": ("y", x, {"units": "1"}), "x": ("x", x, {"units": "1"})},
    )


def trajectory_dataset(n: int = 4, t: int = 6, res: int = 8) -> xr.Dataset:
    """``w[s, t] = s * 100 + t`` everywhere: windows are easy to check by value."""
    w = np.zeros((n, t, res, res), dtype="float32") + (np.arange(n)[:, None] * 100 + np.arange(t)[None, :])[..., None, None]
    return xr.Dataset({"w": (("sample", "time", "y", "x"), w, {"units": "1", "long_name": "w"}),
                       "v": (("sample", "time", "y", "x"), -w, {"units": "1", "long_name": "v"})})


@pytest.fixture
def smooth_ds() -> xr.Dataset:
    return smoothing_dataset()
