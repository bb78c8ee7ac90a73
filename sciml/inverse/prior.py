"""Evaluate the regulariser ``R`` behind a learned proximal network.

For ``f = grad psi`` with ``psi`` convex, ``f = prox_R`` with
``R(x) = <y, x> - 1/2 ||x||^2 - psi(y)`` at ``y = f^{-1}(x)`` (up to an additive constant).
``y`` solves the strongly convex problem ``min_y psi(y) - <x, y>`` (L-BFGS, batched: the objective
is a sum over samples).
"""
from __future__ import annotations

import warnings

import torch

from sciml.errors import NonFiniteError


def invert_prox(model, x: torch.Tensor, iters: int = 100, tol: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``y`` with ``f(y) ~= x`` and the per-sample relative residual ``||f(y) - x|| / ||x||``."""
    if not torch.isfinite(x).all():
        raise NonFiniteError("prior_value: x contains NaN or Inf")
    x = x.detach()
    y = x.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([y], lr=1.0, max_iter=iters, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        obj = (model.potential(y) - (x * y).flatten(1).sum(1)).sum()
        obj.backward()
        return obj

    with torch.enable_grad():
        try:
            opt.step(closure)
        except RuntimeError as exc:  # the line search overflowed: psi(y) - <x, y> has no minimum within float range
            warnings.warn(f"prior_value: f(y) = x has no solution within float range ({exc}); x lies outside the "
                          "range of the learned prox. R is NaN there.", RuntimeWarning, stacklevel=2)
            return torch.full_like(x, float("nan")), torch.full((x.shape[0],), float("inf"), device=x.device)
        fy = model(y.detach().requires_grad_(True)).detach()
    res = (fy - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(1e-8)
    if bool((~(res <= tol)).any()):  # NaN residuals fail too
        warnings.warn(f"prior_value: f(y) = x solved only to relative residual {float(res.max()):.2g} "
                      f"(> {tol:g}); x may lie outside the range of the learned prox (e.g. outside "
                      "the training intensity range). R values there are unreliable.", RuntimeWarning,
                      stacklevel=2)
    return y.detach(), res


def prior_value(model, x: torch.Tensor, iters: int = 100, tol: float = 1e-3) -> torch.Tensor:
    """``R(x)`` per sample, shape ``(B,)``, for an LPN ``model`` (``x`` shaped like its inputs)."""
    y, _ = invert_prox(model, x, iters=iters, tol=tol)
    with torch.no_grad():
        return (y * x).flatten(1).sum(1) - 0.5 * x.flatten(1).pow(2).sum(1) - model.potential(y)
