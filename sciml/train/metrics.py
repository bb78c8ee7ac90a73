"""Per-sample error metrics, the single implementation used by losses, evaluation and benchmarks.

Every metric maps ``(pred, target)`` of shape ``(B, C, *spatial)`` (or ``(B, ...)``) to a
per-sample tensor of shape ``(B,)``. Norms run over all non-batch dims. Relative metrics
divide by the target's norm (with a tiny floor so an all-zero target does not give NaN).

Non-finite values: a sample whose prediction or target holds any NaN or +-Inf scores NaN, in
every metric, never a number computed from the finite part. Means over samples then stay NaN
(no NaN-skipping reductions), and the commands that report scores refuse NaN scores with a
:class:`sciml.errors.NonFiniteError` naming the variable.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch

from sciml.errors import RegistryError

_EPS = 1e-30


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def finite_samples(*tensors: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: True where every value of the sample is finite in all ``tensors`` (each ``(B, ...)``)."""
    ok = torch.isfinite(_flat(tensors[0])).all(1)
    for t in tensors[1:]:
        ok = ok & torch.isfinite(_flat(t)).all(1)
    return ok


def _nan_unless_finite(score: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``score`` with NaN for the samples whose ``pred`` or ``target`` holds a NaN/Inf (see the module doc)."""
    return score.masked_fill(~finite_samples(pred, target), float("nan"))


def rel_lp(pred: torch.Tensor, target: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """||pred - target||_p / ||target||_p per sample (NaN where either holds a NaN/Inf)."""
    diff = torch.linalg.vector_norm(_flat(pred - target), ord=p, dim=1)
    ref = torch.linalg.vector_norm(_flat(target), ord=p, dim=1)
    return _nan_unless_finite(diff / ref.clamp_min(_EPS), pred, target)


def rel_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||pred - target||_2 / ||target||_2 per sample (NaN where either holds a NaN/Inf)."""
    return rel_lp(pred, target, 2.0)


def grid_gradient(u: torch.Tensor, spatial_dims: int, periodic: bool = False,
                  domain_length: float = 1.0) -> list[torch.Tensor]:
    """Finite-difference gradient of ``u: (B, C, *spatial)`` along the last ``spatial_dims`` axes.

    Central differences in the interior; one-sided at walls, or wrap-around when ``periodic``.
    The spacing is ``domain_length / (n - 1)`` for walls (vertex grid) and ``domain_length / n``
    when periodic.
    """
    grads = []
    for k in range(spatial_dims):
        dim = u.ndim - spatial_dims + k
        n = u.shape[dim]
        if periodic:
            h = domain_length / n
            grads.append((torch.roll(u, -1, dim) - torch.roll(u, 1, dim)) / (2 * h))
        else:
            h = domain_length / max(n - 1, 1)
            grads.append(torch.gradient(u, spacing=h, dim=dim)[0])
    return grads


def h1_norm_sq(u: torch.Tensor, spatial_dims: int, periodic: bool = False) -> torch.Tensor:
    """Per-sample squared H1 norm: ||u||^2 + sum_k ||d_k u||^2, means over grid points (domain [0,1]^d)."""
    total = _flat(u).pow(2).mean(1)
    for g in grid_gradient(u, spatial_dims, periodic):
        total = total + _flat(g).pow(2).mean(1)
    return total


def rel_h1(pred: torch.Tensor, target: torch.Tensor, spatial_dims: int = 2, periodic: bool = False) -> torch.Tensor:
    """Relative H1 error ||pred - target||_H1 / ||target||_H1 per sample (finite differences; NaN on NaN/Inf)."""
    num = h1_norm_sq(pred - target, spatial_dims, periodic)
    den = h1_norm_sq(target, spatial_dims, periodic)
    return _nan_unless_finite((num / den.clamp_min(_EPS)).sqrt(), pred, target)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample (NaN where either holds a NaN/Inf)."""
    return _nan_unless_finite(_flat(pred - target).pow(2).mean(1), pred, target)


def rmse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Root mean squared error per sample (NaN where either holds a NaN/Inf)."""
    return mse(pred, target).sqrt()


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per sample (NaN where either holds a NaN/Inf)."""
    return _nan_unless_finite(_flat(pred - target).abs().mean(1), pred, target)


def max_abs_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Largest absolute error per sample (NaN where either holds a NaN/Inf)."""
    return _nan_unless_finite(_flat(pred - target).abs().amax(1), pred, target)


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per sample in dB: ``10 log10(data_range^2 / mse)``.

    ``+inf`` where ``pred`` equals ``target`` (zero error); NaN where either holds a NaN/Inf.
    """
    return 10.0 * torch.log10(data_range**2 / mse(pred, target))


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "rel_l2": rel_l2,
    "rel_h1": rel_h1,
    "mse": mse,
    "rmse": rmse,
    "mae": mae,
    "max_abs_error": max_abs_error,
    "psnr": psnr,
}


def accepted_options(fn: Callable[..., Any], **options: Any) -> dict[str, Any]:
    """The ``options`` (settings the data decides, e.g. ``periodic``) that ``fn``, a metric or a loss class,
    takes by name: the one rule by which such settings reach the metrics and the losses; the others are not
    passed."""
    takes = inspect.signature(fn).parameters
    return {k: v for k, v in options.items() if k in takes}


def get_metric(name: str, **options: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The per-sample metric ``name``, with those ``options`` bound that it takes (:func:`accepted_options`),
    e.g. ``periodic`` for ``rel_h1``."""
    if name not in METRICS:
        raise RegistryError(f"unknown metric {name!r}; known: {sorted(METRICS)}")
    bound = accepted_options(METRICS[name], **options)
    return functools.partial(METRICS[name], **bound) if bound else METRICS[name]
