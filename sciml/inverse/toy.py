"""The 1-D Laplacian toy of Fang et al. (2024): which denoiser does each loss learn?

Prior ``x ~ Laplace(0, 1)``, observation ``y = x + N(0, 1)``. The MAP denoiser is the prox of
``-log p = |x|`` with weight ``sigma^2 = 1``: soft-thresholding at ``lambda = 1``. Training an LPN with
l2 gives the posterior mean (MMSE), with l1 the posterior median, and with proximal matching
(gamma -> small) the MAP / soft-threshold, whose regulariser is ``R(x) = |x|`` up to a constant.
The exact MMSE and median are computed by quadrature for comparison.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from sciml.inverse.denoiser_training import train_steps
from sciml.inverse.matching import DenoisingObjective
from sciml.inverse.prior import prior_value
from sciml.models import build_model


def laplace_sampler(scale: float = 1.0):
    """``sampler(n, generator) -> (n, 1)`` Laplace(0, scale) draws."""

    def draw(n: int, gen: torch.Generator) -> torch.Tensor:
        u = (torch.rand(n, 1, generator=gen) - 0.5).clamp(-0.4999999, 0.4999999)  # avoid log(0)
        return -scale * torch.sign(u) * torch.log1p(-2 * u.abs())

    return draw


def soft_threshold(y: np.ndarray, lam: float = 1.0) -> np.ndarray:
    return np.sign(y) * np.maximum(np.abs(y) - lam, 0.0)


def posterior_stats(y: np.ndarray, sigma: float = 1.0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior mean and median of ``x | y`` by quadrature on a fine grid."""
    xs = np.linspace(-12, 12, 24001)
    logp = -np.abs(xs)[None, :] / scale - (y[:, None] - xs[None, :]) ** 2 / (2 * sigma**2)
    w = np.exp(logp - logp.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    mean = (w * xs).sum(1)
    cdf = np.cumsum(w, 1)
    median = xs[np.argmax(cdf >= 0.5, axis=1)]
    return mean, median


def train_toy(loss: str, steps: int = 1500, batch_size: int = 2000, seed: int = 0, hidden: int = 50,
              layers: int = 4, beta: float = 10.0, gamma: tuple[float, float] = (0.5, 0.1), lr: float = 5e-3):
    """Train a dense LPN on the toy with ``loss`` in {"l2", "l1", "prox_matching"}; returns the model (eval mode).

    Adam at ``lr`` with a cosine schedule on batches of ``batch_size`` fresh draws; proximal matching first
    warm-starts with ``steps // 3`` l1 steps, then anneals gamma from ``gamma[0]`` to ``gamma[1]`` at ``lr / 3``."""
    torch.manual_seed(seed)
    model = build_model("lpn", kind="dense", dim=1, hidden=hidden, layers=layers, beta=beta, alpha=0.0,
                        data_range=(-10.0, 10.0))
    if loss == "prox_matching":  # warm start with l1 (as the paper does), then anneal gamma
        train_steps(model, DenoisingObjective(None, 1.0, "l1", batch_size, sampler=laplace_sampler(), seed=seed),
                    steps // 3, lr, device="cpu", seed=seed, scheduler="cosine")
        g0, g1 = gamma
        factors = tuple(np.geomspace(g0 / g1, 1.0, 4))
        obj = DenoisingObjective(None, 1.0, loss, batch_size, total_steps=steps, gamma_min=g1, factors=factors,
                                 sampler=laplace_sampler(), seed=seed + 1)
        train_steps(model, obj, steps, lr / 3, device="cpu", seed=seed + 1, scheduler="cosine")
    else:
        obj = DenoisingObjective(None, 1.0, loss, batch_size, sampler=laplace_sampler(), seed=seed)
        train_steps(model, obj, steps, lr, device="cpu", seed=seed, scheduler="cosine")
    return model.eval()


def evaluate_toy(model, y: np.ndarray) -> np.ndarray:
    """The learned denoiser ``f(y)`` of a toy LPN at the observations ``y (n,)``, as ``(n,)``."""
    with torch.no_grad():
        return model(torch.tensor(y, dtype=torch.float32)[:, None]).numpy()[:, 0]


#: the observations the toy's denoisers are compared on, and the inner range the errors are taken over
TOY_Y = np.linspace(-4, 4, 161)
INNER = 3.0


def toy_errors(f: np.ndarray, y: np.ndarray = TOY_Y) -> dict[str, float]:
    """How far a learned denoiser ``f(y)`` is from each truth: ``max_err_soft`` / ``_mmse`` / ``_median`` (max
    absolute error over ``|y| <= 3``) and the fitted threshold ``lambda`` = mean(|y| - |f(y)|) over ``|y| >= 2``
    (soft-thresholding, the MAP denoiser, has lambda 1)."""
    mean, median = posterior_stats(y)
    inner, big = np.abs(y) <= INNER, np.abs(y) >= 2
    out = {f"max_err_{k}": float(np.abs(f - truth)[inner].max())
           for k, truth in (("soft", soft_threshold(y)), ("mmse", mean), ("median", median))}
    out["lambda"] = float(np.mean(np.abs(y[big]) - np.abs(f[big])))
    return out


def toy_regulariser(model, half_width: float = 3.0, n: int = 61) -> tuple[np.ndarray, np.ndarray]:
    """The learned ``R(x)`` of a toy LPN on ``n`` points of ``[-half_width, half_width]``, shifted to ``R(0) = 0``
    (``n`` odd, so 0 is a grid point); the MAP prior's regulariser is ``|x|``."""
    xs = torch.linspace(-half_width, half_width, n)[:, None]
    with warnings.catch_warnings():  # the tails of f(y) = x are solved loosely; the check is against |x|
        warnings.simplefilter("ignore", RuntimeWarning)
        r = prior_value(model, xs, iters=200).numpy()
    return xs[:, 0].numpy(), r - r[n // 2]
