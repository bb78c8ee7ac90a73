"""Per-sample error metrics, the single implementation used by losses, evaluation and benchmarks.

Every metric maps ``(pred, target)`` of shape ``(B, C, *spatial)`` (or ``(B, ...)``) to a
per-sample tensor of shape ``(B,)``. Norms run over all non-batch dims. Relative metrics
divide by the target's norm (with a tiny floor so an all-zero target does not give NaN).
"""
from __future__ import annotations

from typing import Callable

import torch

_EPS = 1e-30


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def rel_lp(pred: torch.Tensor, target: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """||pred - target||_p / ||target||_p per sample."""
    diff = torch.linalg.vector_norm(_flat(pred - target), ord=p, dim=1)
    ref = torch.linalg.vector_norm(_flat(target), ord=p, dim=1)
    return diff / ref.clamp_min(_EPS)


def rel_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
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
    """Relative H1 error ||pred - target||_H1 / ||target||_H1 per sample (finite differences)."""
    num = h1_norm_sq(pred - target, spatial_dims, periodic)
    den = h1_norm_sq(target, spatial_dims, periodic)
    return (num / den.clamp_min(_EPS)).sqrt()


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _flat(pred - target).pow(2).mean(1)


def rmse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return mse(pred, target).sqrt()


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _flat(pred - target).abs().mean(1)


def max_abs_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _flat(pred - target).abs().amax(1)


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "rel_l2": rel_l2,
    "rel_h1": rel_h1,
    "mse": mse,
    "rmse": rmse,
    "mae": mae,
    "max_abs_error": max_abs_error,
}


def get_metric(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    from sciml.errors import RegistryError

    if name not in METRICS:
        raise RegistryError(f"unknown metric {name!r}; known: {sorted(METRICS)}")
    return METRICS[name]
