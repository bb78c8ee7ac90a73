"""Learned image priors that ship with sciml: an LPN and a DnCNN trained on natural-image patches.

Both nets were trained by ``sciml bench lpn --preset gpu`` on one GPU, on the same patches
(:func:`sciml.inverse.images.sample_patches`, training images only), at noise std 0.05, for the
same wall time; each checkpoint's ``extra["provenance"]`` records data, steps, hardware and
command. They expect grey images scaled to [0, 1], shape ``(B, 1, H, W)``, any ``H, W`` (the
LPN is multiscale: sizes divisible by 8 avoid resampling at its coarse levels).

    from sciml.inverse import GaussianBlur, make_denoiser, pnp_admm, pretrained, prior_value

    lpn = pretrained("lpn")                    # eval mode, on the CPU
    clean = lpn.denoise(noisy)                 # the learned proximal operator
    r = prior_value(lpn, clean)                # the learned regulariser R, one value per image
    op = GaussianBlur((48, 48), 1.0)
    x = pnp_admm(op, y, make_denoiser("lpn", model=lpn), rho=0.1, iters=20).x
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch.nn as nn

from sciml.errors import RegistryError
from sciml.models import load_model
from sciml.train.checkpoint import load_checkpoint

#: registry name -> file under ``sciml/assets``
SHIPPED = {"lpn": "lpn_natural_images.pt", "dncnn": "dncnn_natural_images.pt"}
#: environment variable naming another folder to read the shipped files from
ASSETS_ENV = "SCIML_ASSETS"


def pretrained_path(name: str = "lpn") -> Path:
    """Path of the shipped checkpoint ``name`` ("lpn" or "dncnn")."""
    if name not in SHIPPED:
        raise RegistryError(f"no pretrained image prior {name!r}; shipped: {sorted(SHIPPED)}")
    folder = os.environ.get(ASSETS_ENV)
    if folder:
        return Path(folder) / SHIPPED[name]
    return Path(str(resources.files("sciml") / "assets" / SHIPPED[name]))


def pretrained(name: str = "lpn", device: str = "cpu") -> nn.Module:
    """The shipped ``name`` net ("lpn" or "dncnn") in eval mode on ``device``."""
    return load_model(str(pretrained_path(name)), map_location=device).to(device).eval()


def pretrained_provenance(name: str = "lpn") -> dict[str, Any]:
    """What the shipped net was trained on and how: data, steps, seconds, hardware, command, scores."""
    return dict(load_checkpoint(pretrained_path(name), expected_model=name)["extra"].get("provenance", {}))
