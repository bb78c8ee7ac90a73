"""Image-quality scores of restorations: PSNR and SSIM of grey images with peak 1.

Both clip finite pixels to ``[0, 1]`` before scoring (a restoration is an image, and a few pixels just outside
the range should not dominate), but a NaN/Inf pixel makes the score NaN instead of being clipped into range,
so a broken reconstruction is reported, never hidden. PSNR is :func:`sciml.train.metrics.psnr` (the one PSNR of
the library), SSIM is scikit-image's ``structural_similarity``.
"""
from __future__ import annotations

import numpy as np
import torch

from sciml.train import metrics as M


def psnr(x: np.ndarray, ref: np.ndarray) -> float:
    """PSNR (dB, peak 1) of one image ``x`` ``(H, W)`` clipped to [0, 1] against ``ref`` ``(H, W)``."""
    x = np.where(np.isfinite(x), np.clip(x, 0, 1), np.nan)
    return float(M.psnr(torch.as_tensor(x, dtype=torch.float64)[None],
                        torch.as_tensor(ref, dtype=torch.float64)[None])[0])


def mean_psnr(batch: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean :func:`psnr` over a batch of single-channel images ``(B, 1, H, W)`` on any device."""
    return float(np.mean([psnr(a[0], b[0]) for a, b in zip(batch.detach().cpu().numpy(), ref.cpu().numpy())]))


def ssim(x: np.ndarray, ref: np.ndarray) -> float:
    """SSIM (peak 1) of ``x`` ``(H, W)`` clipped to [0, 1] against ``ref``; NaN if either holds a NaN/Inf."""
    from skimage.metrics import structural_similarity

    if not (np.isfinite(x).all() and np.isfinite(ref).all()):
        return float("nan")
    return float(structural_similarity(np.clip(x, 0, 1), ref, data_range=1.0))


__all__ = ["mean_psnr", "psnr", "ssim"]
