"""Offline natural-image data: scikit-image's bundled images and scikit-learn's digits.

``image_patches`` (registered dataset) returns grey patches in [0, 1] as an ``xarray.Dataset`` with
variable ``image (sample, y, x)``. ``split="train"`` draws from :data:`TRAIN_IMAGES` (+ digits
0-1499), ``split="test"`` from the held-out :data:`TEST_IMAGES` (+ digits 1500-), so benchmarks
evaluate on images never seen in training.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from sciml.data.params import Choice, Int, Real
from sciml.data.registry import register_dataset
from sciml.errors import ConfigError
from sciml.utils.optional import require

TRAIN_IMAGES = ("camera", "astronaut", "coins", "moon", "text", "page", "brick", "grass", "gravel",
                "rocket", "cell", "clock")
TEST_IMAGES = ("coffee", "chelsea", "hubble_deep_field", "immunohistochemistry")


def load_grey(name: str, scale: float = 0.5) -> np.ndarray:
    """Image ``name`` from ``skimage.data`` as float grey in [0, 1], rescaled by ``scale`` (anti-aliased)."""
    color, data, transform = (require(f"skimage.{m}", extra="bench", package="scikit-image")
                              for m in ("color", "data", "transform"))

    im = getattr(data, name)()
    if im.ndim == 3:
        im = color.rgb2gray(im[..., :3])
    im = np.asarray(im, dtype=np.float64)
    if im.max() > 1.0:
        im = im / 255.0
    if scale != 1.0:
        im = transform.rescale(im, scale, anti_aliasing=True)
    return np.clip(im, 0.0, 1.0)


def _digits(split: str, res: int) -> np.ndarray:
    resize = require("skimage.transform", extra="bench", package="scikit-image").resize
    load_digits = require("sklearn.datasets", extra="bench", package="scikit-learn").load_digits

    d = load_digits().images / 16.0
    d = d[:1500] if split == "train" else d[1500:]
    return np.stack([resize(im, (res, res), order=1) for im in d])


def sample_patches(n: int, res: int, split: str = "train", seed: int = 0, digits_fraction: float = 0.1,
                   scale: float = 0.5) -> np.ndarray:
    """``(n, res, res)`` random crops (with flips) of the split's images, float32 in [0, 1]."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    rng = np.random.default_rng(seed)
    images = [load_grey(k, scale) for k in (TRAIN_IMAGES if split == "train" else TEST_IMAGES)]
    smallest = min(min(im.shape) for im in images)
    if res > smallest:
        raise ConfigError(f"patch size res={res} exceeds the smallest {split} image side ({smallest} px at "
                          f"scale={scale}); lower res or raise scale")
    n_dig = int(round(n * digits_fraction))
    out = np.empty((n, res, res), dtype=np.float32)
    for i in range(n - n_dig):
        im = images[rng.integers(len(images))]
        r, c = rng.integers(0, im.shape[0] - res + 1), rng.integers(0, im.shape[1] - res + 1)
        p = im[r:r + res, c:c + res]
        if rng.random() < 0.5:
            p = p[:, ::-1]
        out[i] = p
    if n_dig:
        dig = _digits(split, res)
        out[n - n_dig:] = dig[rng.integers(0, len(dig), n_dig)]
    return out


@register_dataset("image_patches", res=Int(ge=4), split=Choice("train", "test"), digits_fraction=Real(ge=0, le=1),
                  scale=Real(gt=0))
def image_patches(n: int = 2000, res: int = 32, seed: int = 0, split: str = "train",
                  digits_fraction: float = 0.1, scale: float = 0.5) -> xr.Dataset:
    """Grey natural-image patches for training/evaluating denoisers and priors (see module doc)."""
    p = sample_patches(n, res, split, seed, digits_fraction, scale)
    coords = {"sample": np.arange(n), "y": ("y", np.arange(res), {"units": "pixel"}),
              "x": ("x", np.arange(res), {"units": "pixel"})}
    return xr.Dataset({"image": (("sample", "y", "x"), p,
                                 {"units": "1", "long_name": "grey intensity in [0, 1]"})}, coords=coords,
                      attrs={"source": f"skimage.data {split} images + sklearn digits", "split": split})
