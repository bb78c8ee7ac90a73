"""Learned image priors (an LPN or a DnCNN) trained on natural-image patches, and how they are scored.

Both kinds train on the same data: ``n_patches`` random ``res x res`` crops of the training images
(:func:`sciml.inverse.images.sample_patches`) with fresh Gaussian noise of std ``sigma_train`` each step. The
LPN follows the paper (l1 pre-training, then proximal matching: :func:`~sciml.inverse.denoiser_training.train_lpn`);
the DnCNN minimises the MSE with a cosine learning rate. A step budget can instead be a time budget: the
step count is then sized before training starts (:func:`plan_steps`), so the schedules are fixed and recorded.

Scoring a prior: :func:`heldout_denoising` (PSNR of the denoiser alone on held-out patches at several noise
levels) and, for an LPN, :func:`prior_vs_noise` (the learned regulariser ``R`` should grow with the noise).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn as nn

from sciml.errors import ConfigError
from sciml.inverse.denoiser_training import steps_in_budget, train_lpn, train_steps
from sciml.inverse.images import TRAIN_IMAGES, sample_patches
from sciml.inverse.matching import DenoisingObjective
from sciml.inverse.metrics import mean_psnr
from sciml.inverse.prior import prior_value
from sciml.models import build_model
from sciml.utils.device import sync

#: the architecture of each kind where a spec names only the kind: 16-channel nets that train in minutes on
#: one CPU core (LPN: softplus beta 10, strong convexity alpha 0.01, circular padding; DnCNN: 6 convs)
DEFAULT_NETS = {"lpn": {"hidden": 16, "layers": 4, "beta": 10.0, "alpha": 0.01, "padding_mode": "circular"},
                "dncnn": {"hidden": 16, "depth": 6}}
#: noise levels of the held-out denoising scores, and of the prior-vs-noise check
DENOISE_LEVELS = (0.02, 0.05)
PRIOR_LEVELS = (0.0, 0.025, 0.05, 0.1, 0.2)


def build_prior(model: dict[str, Any] | None = None) -> nn.Module:
    """An untrained ``lpn`` or ``dncnn`` from ``{"name": ..., **options}`` (options missing from the spec come
    from :data:`DEFAULT_NETS`); a registered model, so its checkpoint rebuilds it."""
    spec = dict(model or {})
    name = spec.pop("name", "lpn")
    if name not in DEFAULT_NETS:
        raise ConfigError(f"model.name {name!r} is not an image prior; use one of {', '.join(DEFAULT_NETS)}")
    return build_model(name, **{**DEFAULT_NETS[name], **spec})


@dataclass
class PriorSteps:
    """Optimiser steps of one prior: LPN ``l1`` then ``pm`` (proximal matching) steps, or DnCNN ``mse`` steps."""

    l1: int = 0
    pm: int = 0
    mse: int = 0


def plan_steps(net: nn.Module, kind: str, patches: torch.Tensor, sigma: float, batch_size: int,
               steps: PriorSteps, budget_s: float | None, pm_fraction: float, seed: int, device: str) -> PriorSteps:
    """``steps`` as given, or with ``budget_s`` the steps that fit that many seconds on ``device`` (timed on a
    copy of ``net``; the LPN gives ``pm_fraction`` of them to proximal matching)."""
    if not budget_s:
        return steps
    loss = "l1" if kind == "lpn" else "l2"
    total = steps_in_budget(net, DenoisingObjective(patches, sigma, loss, batch_size, seed=seed + 99), budget_s,
                            1e-3, device)
    if kind == "dncnn":
        return PriorSteps(mse=total)
    pm = int(round(total * pm_fraction))
    return PriorSteps(l1=total - pm, pm=pm)


def train_prior(net: nn.Module, kind: str, patches: torch.Tensor, sigma: float, batch_size: int, steps: PriorSteps,
                seed: int = 0, device: str = "cpu") -> float:
    """Train ``net`` (an ``lpn`` or a ``dncnn``) on ``patches (N, 1, H, W)`` at noise ``sigma``; returns the
    training wall time in seconds (device synchronised). Adam at lr 1e-3 (the LPN's proximal matching 1e-4)."""
    t0 = time.perf_counter()
    if kind == "lpn":
        train_lpn(net, patches, sigma, steps.l1, steps.pm, batch_size, device=device, seed=seed)
    else:
        train_steps(net, DenoisingObjective(patches, sigma, "l2", batch_size, seed=seed), steps.mse, 1e-3, device,
                    seed, scheduler="cosine")
    sync(device)
    return time.perf_counter() - t0


def data_note(n_patches: int, res: int, sigma: float, seed: int) -> str:
    """What the priors are trained on, in words (recorded in each checkpoint's provenance)."""
    return (f"{n_patches} random {res}x{res} crops (with flips) of the skimage training images "
            f"{', '.join(TRAIN_IMAGES)} + sklearn digits 0-1499 (10 %), noise std {sigma}; "
            f"sciml.inverse.images.sample_patches(seed={seed})")


def heldout_denoising(model: nn.Module | None, res: int, seed: int = 0, levels: Sequence[float] = DENOISE_LEVELS,
                      device: str = "cpu", n: int = 64) -> dict[float, float]:
    """Mean PSNR (dB) of ``model.denoise`` on ``n`` held-out ``res x res`` patches at each noise level;
    ``model=None`` scores the noisy input itself. The patches (``seed + 5``) and the noise (one generator,
    ``seed + 11``, drawn level after level) are the same for every model."""
    x = torch.tensor(sample_patches(n, res, "test", seed=seed + 5))[:, None]
    gen = torch.Generator().manual_seed(seed + 11)
    out = {}
    for s in levels:
        y = (x + s * torch.randn(x.shape, generator=gen)).to(device)
        with torch.no_grad():
            out[float(s)] = mean_psnr(y if model is None else model.denoise(y), x)
    return out


def prior_vs_noise(model: nn.Module, res: int, seed: int = 0, levels: Sequence[float] = PRIOR_LEVELS,
                   device: str = "cpu", n: int = 16) -> dict[float, float]:
    """Mean learned ``R`` of an LPN over ``n`` held-out ``res x res`` patches (``seed + 3``) as the noise
    (one generator, ``seed``) grows; a prior that has learned natural images rises with it."""
    x = torch.tensor(sample_patches(n, res, "test", seed=seed + 3))[:, None]
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for s in levels:
        with warnings.catch_warnings():  # far from the training noise f(y) = x is solved loosely; R is still monotone
            warnings.simplefilter("ignore", RuntimeWarning)
            r = prior_value(model, (x + s * torch.randn(x.shape, generator=gen)).to(device), iters=200)
        out[float(s)] = float(r.mean())
    return out


def prior_setup(extra: dict[str, Any]) -> dict[str, Any]:
    """``res``, ``seed`` and ``sigma_train`` a prior checkpoint was trained with: from a ``denoiser`` run's
    ``extra``, or from the provenance record of a shipped net (:mod:`sciml.inverse.pretrained`)."""
    if "training" in extra:
        return {"res": extra["training"]["res"], "seed": extra["seed"], "sigma_train": extra["training"]["sigma_train"]}
    net_cfg = extra.get("provenance", {}).get("net_cfg")
    if not net_cfg:
        raise ConfigError("this checkpoint records no training patches (res, seed); it was not written by the "
                          "denoiser recipe")
    return {"res": net_cfg["res"], "seed": extra["provenance"].get("seed", 0), "sigma_train": net_cfg["sigma_train"]}


__all__ = ["DEFAULT_NETS", "DENOISE_LEVELS", "PRIOR_LEVELS", "PriorSteps", "build_prior", "data_note",
           "heldout_denoising", "plan_steps", "prior_setup", "prior_vs_noise", "train_prior"]
