"""Image-quality scores of restorations: PSNR and SSIM of grey images with peak 1, through scikit-image.

Both are scikit-image's (``skimage.metrics.peak_signal_noise_ratio`` and ``structural_similarity``, in
float64), so the numbers are the ones the imaging literature reports. Finite pixels are clipped to
``[0, 1]`` before scoring (a restoration is an image, and a few pixels just outside the range should not
dominate), but a NaN/Inf pixel makes the score NaN instead of being clipped into range, so a broken
reconstruction is reported, never hidden. A perfect restoration has PSNR ``+inf``.
"""
from __future__ import annotations

import numpy as np
import torch

from sciml.utils.optional import require


def _as_images(x, ref) -> tuple[np.ndarray, np.ndarray]:
    """``x`` clipped to [0, 1] where finite (NaN elsewhere) and ``ref``, both float64 arrays of one shape."""
    x, ref = np.asarray(x, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"image shapes differ: restoration {x.shape}, reference {ref.shape}")
    return np.where(np.isfinite(x), np.clip(x, 0.0, 1.0), np.nan), ref


def psnr(x: np.ndarray, ref: np.ndarray) -> float:
    """PSNR (dB, peak 1) of one image ``x`` ``(H, W)`` against ``ref`` ``(H, W)``; NaN if either holds a NaN/Inf."""
    x, ref = _as_images(x, ref)
    if not (np.isfinite(x).all() and np.isfinite(ref).all()):
        return float("nan")
    metrics = require("skimage.metrics", extra="bench", package="scikit-image")
    with np.errstate(divide="ignore"):  # an exact restoration is +inf dB, not a warning
        return float(metrics.peak_signal_noise_ratio(ref, x, data_range=1.0))


def ssim(x: np.ndarray, ref: np.ndarray) -> float:
    """SSIM (peak 1, scikit-image's 7x7 window) of ``x`` ``(H, W)`` against ``ref``; NaN if either holds a NaN/Inf."""
    x, ref = _as_images(x, ref)
    if not (np.isfinite(x).all() and np.isfinite(ref).all()):
        return float("nan")
    metrics = require("skimage.metrics", extra="bench", package="scikit-image")
    return float(metrics.structural_similarity(x, ref, data_range=1.0))


def mean_psnr(batch: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean :func:`psnr` over a batch of single-channel images ``(B, 1, H, W)`` on any device (NaN if any is NaN)."""
    return float(np.mean([psnr(a[0], b[0]) for a, b in zip(batch.detach().cpu().numpy(), ref.detach().cpu().numpy())]))


__all__ = ["mean_psnr", "psnr", "ssim"]
