"""Damped wave equation in a closed box: ``u_tt + gamma u_t = c^2 Lap u`` on [0,1]^2, ``u = 0`` on the walls.

Solved exactly, mode by mode: on the sine basis sin(m pi x) sin(n pi y) each coefficient is a
damped oscillator with a closed-form solution, so there is no time-stepping error at all; the
discrete sine transform (DST-I) maps between the grid and the modes. Walls make this the
non-periodic system of the SineNet benchmark: waves reflect, so zero padding is the right
boundary treatment for a network.
"""
from __future__ import annotations

import numpy as np
import scipy.fft
import xarray as xr

from sciml.data.params import Int, Real, Relation
from sciml.data.registry import register_dataset


def _omega(res: int, c: float) -> np.ndarray:
    k = np.arange(1, res + 1) * np.pi
    return c * np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)


def wave_solution(u0: np.ndarray, v0: np.ndarray, times: np.ndarray, c: float = 1.0, gamma: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact (u, u_t) at ``times`` for interior-node fields ``u0, v0: (B, m, m)`` (walls excluded).

    Returns arrays ``(B, T, m, m)``. Modes follow ``a'' + gamma a' + omega^2 a = 0``.
    """
    m = u0.shape[-1]
    a0 = scipy.fft.dstn(u0, type=1, axes=(-2, -1), norm="ortho")
    b0 = scipy.fft.dstn(v0, type=1, axes=(-2, -1), norm="ortho")
    w = _omega(m, c)
    wd = np.sqrt(np.maximum(w**2 - gamma**2 / 4, 1e-300))  # underdamped for all modes if gamma < 2 omega_min
    t = np.asarray(times)[:, None, None]
    decay = np.exp(-gamma * t / 2)
    cos, sin = np.cos(wd * t), np.sin(wd * t)
    a = decay * (a0[:, None] * cos + (b0[:, None] + gamma / 2 * a0[:, None]) * sin / wd)
    da = decay * (b0[:, None] * cos - (wd * a0[:, None] + gamma / 2 * (b0[:, None] + gamma / 2 * a0[:, None]) / wd) * sin)
    to_grid = lambda x: scipy.fft.idstn(x, type=1, axes=(-2, -1), norm="ortho")  # noqa: E731
    return to_grid(a), to_grid(da)


def energy(u: np.ndarray, v: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Discrete energy 1/2 sum(v^2 + c^2 |grad u|^2) h^2 over the last two axes (walls at zero)."""
    m = u.shape[-1]
    h = 1.0 / (m + 1)
    up = np.pad(u, [(0, 0)] * (u.ndim - 2) + [(1, 1), (1, 1)])
    gx, gy = np.diff(up, axis=-1) / h, np.diff(up, axis=-2) / h
    return 0.5 * h**2 * ((v**2).sum((-2, -1)) + c**2 * ((gx**2).sum((-2, -1)) + (gy**2).sum((-2, -1))))


# the modal solution assumes every mode is underdamped: gamma < 2 omega_min = 2 sqrt(2) pi c
@register_dataset("wave_box", res=Int(ge=4), frames=Int(ge=1), frame_dt=Real(gt=0), c=Real(gt=0), gamma=Real(ge=0),
                  bumps=Int(ge=1),
                  relations=(Relation(("gamma", "c"), lambda p: p["gamma"] < 2 * np.sqrt(2) * np.pi * p["c"],
                                      "gamma must be below 2 sqrt(2) pi c (every mode underdamped, as the exact "
                                      "solution assumes)"),))
def make_wave_box(n: int = 20, res: int = 32, seed: int = 0, frames: int = 20, frame_dt: float = 0.05,
                  c: float = 1.0, gamma: float = 0.1, bumps: int = 3) -> xr.Dataset:
    """Trajectories of ``u`` and ``v = u_t`` (sample, time, y, x) from random Gaussian bumps at rest.

    At ``res = 32`` and ``frame_dt = 0.05`` a wave front moves about 1.6 cells per frame.
    """
    rng = np.random.default_rng(seed)
    x = np.arange(1, res + 1) / (res + 1)
    X, Y = np.meshgrid(x, x)
    u0 = np.zeros((n, res, res))
    for _ in range(bumps):
        cx, cy = rng.uniform(0.2, 0.8, (2, n, 1, 1))
        amp, width = rng.uniform(-1, 1, (n, 1, 1)), rng.uniform(0.04, 0.1, (n, 1, 1))
        u0 += amp * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * width**2))
    times = np.arange(frames + 1) * frame_dt
    u, v = wave_solution(u0, np.zeros_like(u0), times, c, gamma)
    dims = ("sample", "time", "y", "x")
    return xr.Dataset(
        {"u": (dims, u.astype(np.float32), {"units": "1", "long_name": "displacement"}),
         "v": (dims, v.astype(np.float32), {"units": "1 / s", "long_name": "velocity du/dt"})},
        coords={"time": ("time", times, {"units": "s"}), "y": ("y", x, {"units": "1"}), "x": ("x", x, {"units": "1"})},
        attrs={"title": "damped wave equation in a closed box, exact modal solution", "c": c, "gamma": gamma},
    )
