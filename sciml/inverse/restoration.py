"""Restoring held-out images with plug-and-play and a chosen prior, tuned on validation crops.

The restoration tasks (:data:`TASKS`): deblurring (periodic Gaussian blur, sigma 1 px) at measurement noise
0.02 and 0.04, starting from ``A^T y``; and sparse-view CT (a 20-angle Radon transform, noise 0.5 in the
sinogram) inside the inscribed disc, starting from filtered back-projection. The priors (:data:`METHODS`): a
learned LPN or DnCNN (``model.denoise``), TV and BM3D, all inside PnP-ADMM.

Every method's strength (rho for a learned prior, the TV weight, BM3D's sigma) and its PnP iteration count are
chosen on the mean PSNR of validation crops of *training* images (:data:`VAL_CROPS`), never on the held-out
test crops (:func:`test_crops`, one centred crop of each of :data:`sciml.inverse.images.TEST_IMAGES`).
:func:`restore_test_images` does both and returns an ``xarray.Dataset`` of the restorations and their scores.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import xarray as xr

from sciml.errors import ConfigError
from sciml.inverse.images import TEST_IMAGES, load_grey
from sciml.inverse.metrics import mean_psnr, psnr, ssim
from sciml.inverse.operators import GaussianBlur, LinearOperator, Radon
from sciml.inverse.pnp import PnPConvergenceWarning, make_denoiser, pnp_admm
from sciml.utils.device import sync

log = logging.getLogger(__name__)

TASKS = ("deblur_noise0.02", "deblur_noise0.04", "ct_sparse")
METHODS = ("lpn", "tv", "dncnn", "bm3d")
LEARNED = ("lpn", "dncnn")  # the methods whose prior is a trained net

# validation crops (row, col) of *training* images: every method's strength and iteration count are chosen
# on their mean PSNR, never on the held-out test crops
VAL_CROPS = (("camera", (40, 60)), ("astronaut", (60, 100)), ("coins", (50, 120)))


def _disc(images: np.ndarray) -> np.ndarray:
    """``images (n, s, s)`` zeroed outside the disc inscribed in the square (CT sees only that disc)."""
    size = images.shape[-1]
    yy, xx = np.mgrid[:size, :size]
    return images * (((yy - size // 2) ** 2 + (xx - size // 2) ** 2) < (size // 2 - 1) ** 2)


def _crop(im: np.ndarray, name: str, r: int, c: int, size: int) -> np.ndarray:
    """The ``size x size`` crop of image ``im`` (called ``name``) at row ``r``, column ``c``; ConfigError when
    it does not fit."""
    if r < 0 or c < 0 or r + size > im.shape[0] or c + size > im.shape[1]:
        raise ConfigError(f"size={size}: a {size}x{size} crop at ({r}, {c}) does not fit image {name!r} "
                          f"({im.shape[0]}x{im.shape[1]}); lower size")
    return im[r:r + size, c:c + size]


def test_crops(size: int, disk: bool = False) -> np.ndarray:
    """One centred ``size x size`` crop per held-out image, ``(n, size, size)`` float32 in [0, 1];
    ``disk`` zeroes outside the inscribed circle."""
    out = []
    for name in TEST_IMAGES:
        im = load_grey(name)
        out.append(_crop(im, name, (im.shape[0] - size) // 2, (im.shape[1] - size) // 2, size))
    out = np.stack(out).astype(np.float32)
    return _disc(out) if disk else out


test_crops.__test__ = False  # a data function, not a pytest test


def val_crops(size: int, disk: bool = False) -> np.ndarray:
    """``(len(VAL_CROPS), size, size)`` crops of training images for tuning; ``disk`` as in :func:`test_crops`."""
    out = np.stack([_crop(load_grey(name), name, r, c, size) for name, (r, c) in VAL_CROPS]).astype(np.float32)
    return _disc(out) if disk else out


@dataclass(frozen=True)
class RestorationTask:
    """One restoration problem: the forward operator, the measurement noise std, whether images live in the
    CT disc, and the ADMM weight the TV prior runs with (its strength is the TV weight itself)."""

    name: str
    op: LinearOperator
    noise: float
    disk: bool
    rho_tv: float

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """The PnP starting point: filtered back-projection for CT, ``A^T y`` for deblurring (the paper's code)."""
        return self.op.fbp(y).clamp(0, 1) if self.disk else self.op.adjoint(y)


def make_task(task: str, size: int, ct_angles: int = 20, device: str = "cpu") -> RestorationTask:
    """The :class:`RestorationTask` named ``task`` (one of :data:`TASKS`) for ``size x size`` images."""
    if task == "ct_sparse":
        return RestorationTask(task, Radon((size, size), n_angles=ct_angles).to(device), 0.5, True, 10.0)
    if task.startswith("deblur_noise"):
        try:
            noise = float(task.split("noise")[1])
        except ValueError:
            raise ConfigError(f"task {task!r}: write deblur_noiseS with a number S (e.g. deblur_noise0.02)") from None
        return RestorationTask(task, GaussianBlur((size, size), 1.0).to(device), noise, False, 1.0)
    raise ConfigError(f"unknown restoration task {task!r}; use one of {', '.join(TASKS)} (or deblur_noiseS)")


def strength_grid(task: str, method: str) -> list[float]:
    """The strengths tuned over: rho (lpn, dncnn, bm3d on CT), the TV weight, BM3D's sigma on deblurring.

    Wide rho grids: a fixed-strength prox trained at noise ``s_t`` has rho ~ (noise / s_t)^2 as its
    Bayes-matched ADMM weight (0.16 for 0.02 / 0.05), but an imperfect prox can prefer another. BM3D is slow,
    so it runs one setting, untuned."""
    if method not in METHODS:
        raise ConfigError(f"unknown restoration method {method!r}; use one of {', '.join(METHODS)}")
    if task == "ct_sparse":
        return {"lpn": [1, 3, 10, 30, 100], "dncnn": [1, 3, 10, 30, 100], "tv": [0.003, 0.01, 0.03],
                "bm3d": [10]}[method]
    rho = [0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0]
    return {"lpn": rho, "dncnn": rho, "tv": [0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03],
            "bm3d": [0.03]}[method]


def restore(method: str, task: RestorationTask, y: torch.Tensor, x0: torch.Tensor, model, strength: float,
            iters: int, callback: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """PnP-ADMM reconstruction ``(B, 1, H, W)`` of ``y`` with one prior at ``strength`` (see :func:`strength_grid`).

    ``model`` is the learned net for lpn/dncnn (None otherwise); ``callback(k, z)`` sees every iterate (used to
    score several iteration counts in one run). Not converging within ``iters`` is expected here (the iteration
    count is itself tuned), so PnP's convergence warning is silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PnPConvergenceWarning)
        warnings.filterwarnings("ignore", "LPN.denoise: input range|DnCNN.denoise: input range", RuntimeWarning)
        kw = dict(x0=x0, callback=callback, iters=iters)
        if method == "tv":
            return pnp_admm(task.op, y, make_denoiser("tv", weight=strength), rho=task.rho_tv, **kw).x
        if method == "bm3d":
            if not task.disk:  # deblurring tunes BM3D's sigma; the Bayes-matched ADMM weight is (noise / sigma)^2
                return pnp_admm(task.op, y, make_denoiser("bm3d", sigma=strength), rho=(task.noise / strength) ** 2,
                                **kw).x
            return pnp_admm(task.op, y, make_denoiser("bm3d", sigma=0.05), rho=strength, **kw).x
        return pnp_admm(task.op, y, make_denoiser(method, model=model), rho=strength, **kw).x


def tune(method: str, task: RestorationTask, x_val: torch.Tensor, y_val: torch.Tensor, model,
         strengths: Sequence[float], iter_grid: Sequence[int], fixed_iters: int) -> tuple[float, int]:
    """Best (strength, iteration count) on the validation crops' mean PSNR.

    One run per strength scores every count in ``iter_grid`` through the iterate callback; a run that stops
    early (converged) scores its final iterate for the later counts. A one-point grid is not tuned: it runs
    ``fixed_iters`` iterations. A diverging setting (PnP raises, or a NaN validation PSNR) is a bad grid
    point, logged and skipped: it is never chosen."""
    if len(strengths) == 1:
        return float(strengths[0]), fixed_iters
    x0, scores = task.initial(y_val), []
    for strength in strengths:
        seen: dict[int, float] = {}

        def record(k, z):
            if k in iter_grid:
                seen[k] = mean_psnr(z, x_val)
        try:
            last = mean_psnr(restore(method, task, y_val, x0, model, strength, max(iter_grid), record), x_val)
            point = [(seen.get(k, last), strength, k) for k in iter_grid]
            # max() over tuples holding NaN depends on their order (NaN compares False), so drop them here
            if any(math.isnan(p) for p, _, _ in point):
                log.warning("%s %s strength=%s: NaN validation PSNR at iterations %s; skipped", task.name, method,
                            strength, [k for p, _, k in point if math.isnan(p)])
            scores += [t for t in point if not math.isnan(t[0])]
        except Exception as exc:  # noqa: BLE001 -- any failure of one grid point only removes that point
            log.warning("%s %s strength=%s: %s: %s", task.name, method, strength, type(exc).__name__, exc)
    if not scores:
        return float(strengths[0]), fixed_iters
    _, strength, k = max(scores)
    return float(strength), int(k)


def score_test_images(method: str, task: RestorationTask, x_test: torch.Tensor, y_test: torch.Tensor, model,
                      strength: float, iters: int, device: str) -> dict[str, np.ndarray]:
    """Restore each test image alone (a batch of one, as a user would) and score it: ``restored (n, H, W)``,
    ``psnr_db``, ``ssim`` and ``seconds`` (wall time of the restoration, device synchronised) per image."""
    truths = x_test[:, 0].cpu().numpy()
    out = {"restored": np.empty_like(truths), "psnr_db": [], "ssim": [], "seconds": []}
    for i in range(x_test.shape[0]):
        t0 = time.perf_counter()
        y = y_test[i:i + 1]
        xr_ = restore(method, task, y, task.initial(y), model, strength, iters)
        sync(device)
        out["seconds"].append(time.perf_counter() - t0)
        got = xr_[0, 0].cpu().numpy()
        out["restored"][i] = got
        out["psnr_db"].append(psnr(got, truths[i]))
        out["ssim"].append(ssim(got, truths[i]))
    return {k: np.asarray(v) for k, v in out.items()}


def restore_test_images(task_name: str, method: str, model=None, size: int = 48, ct_angles: int = 20,
                        iter_grid: Sequence[int] = (10, 20, 30), bm3d_iters: int = 4,
                        strengths: Sequence[float] | None = None, seed: int = 0, device: str = "cpu") -> xr.Dataset:
    """Tune ``method`` on the validation crops, restore the held-out test crops, and score them.

    ``model``: the learned prior for lpn/dncnn. ``strengths``: the grid tuned over (None: :func:`strength_grid`).
    The measurement noise is drawn on the CPU from ``seed`` (test) and ``seed + 7`` (validation), so it is the same
    draw on every device. Returns ``restored``, ``truth``, ``measured`` (the measurement, or its FBP for CT)
    ``(sample, y, x)`` and per-image ``psnr_db``, ``ssim``, ``seconds``; attrs hold the means, ``wall_s`` (median
    seconds per image), the chosen ``strength`` and ``iters``."""
    if method in LEARNED and model is None:
        raise ConfigError(f"method {method!r} restores with a learned prior; give its checkpoint")
    _check_counts(size, iter_grid, ct_angles, bm3d_iters)
    task = make_task(task_name, size, ct_angles, device)
    x_val = torch.tensor(val_crops(size, task.disk), device=device)[:, None]
    x_test = torch.tensor(test_crops(size, task.disk), device=device)[:, None]
    y_val, y_test = task.op.measure(x_val, task.noise, seed=seed + 7), task.op.measure(x_test, task.noise, seed=seed)
    grid = list(strengths) if strengths else strength_grid(task_name, method)
    fixed = bm3d_iters if method == "bm3d" else max(iter_grid)
    strength, iters = tune(method, task, x_val, y_val, model, grid, list(iter_grid), fixed)
    scores = score_test_images(method, task, x_test, y_test, model, strength, iters, device)
    measured = task.initial(y_test) if task.disk else y_test
    return _restoration_dataset(task, method, scores, x_test, measured, strength, iters)


def _check_counts(size: int, iter_grid: Sequence[int], ct_angles: int, bm3d_iters: int) -> None:
    """ConfigError unless a restoration can run with these sizes and counts."""
    if size < 7:
        raise ConfigError(f"size={size}: crops need at least 7 x 7 pixels (SSIM's window)")
    if not len(iter_grid) or min(iter_grid) < 1:
        raise ConfigError(f"iter_grid={list(iter_grid)}: give one or more PnP iteration counts, each >= 1")
    if ct_angles < 1 or bm3d_iters < 1:
        raise ConfigError(f"ct_angles={ct_angles}, bm3d_iters={bm3d_iters}: both must be >= 1")


def _restoration_dataset(task: RestorationTask, method: str, scores: dict, x_test: torch.Tensor,
                         measured: torch.Tensor, strength: float, iters: int) -> xr.Dataset:
    dims = ("sample", "y", "x")
    img = {"units": "1", "long_name": "grey intensity in [0, 1]"}
    ds = xr.Dataset(
        {"restored": (dims, scores["restored"], {**img, "long_name": f"{method} PnP restoration"}),
         "truth": (dims, x_test[:, 0].cpu().numpy(), img),
         "measured": (dims, measured[:, 0].cpu().numpy(), {**img, "long_name": "measurement (CT: its FBP)"}),
         "psnr_db": (("sample",), scores["psnr_db"], {"units": "dB", "long_name": "PSNR, peak 1"}),
         "ssim": (("sample",), scores["ssim"], {"units": "1", "long_name": "structural similarity, peak 1"}),
         "seconds": (("sample",), scores["seconds"], {"units": "s", "long_name": "restoration wall time"})},
        coords={"sample": list(TEST_IMAGES)})
    ds.attrs = {"task": task.name, "method": method, "psnr_db": float(np.mean(scores["psnr_db"])),
                "ssim": float(np.mean(scores["ssim"])), "wall_s": float(np.median(scores["seconds"])),
                "strength": float(strength), "iters": int(iters)}
    return ds


__all__ = ["LEARNED", "METHODS", "RestorationTask", "TASKS", "VAL_CROPS", "make_task", "restore",
           "restore_test_images", "score_test_images", "strength_grid", "test_crops", "tune", "val_crops"]
