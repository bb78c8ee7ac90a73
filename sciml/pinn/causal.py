"""Causal weighting of the PDE residual (Wang, Sankaran, Perdikaris 2022, "Respecting causality is
all you need for training physics-informed neural networks").

Time-dependent PINNs can fit the residual at late times before the early-time solution is right,
and then converge to a wrong (often trivial) state; Allen-Cahn is the standard example. Causal
weighting splits [t0, t1] into ``M`` slices, measures the mean squared residual ``L_i`` of each slice
and weights slice ``i`` by

    w_i = exp(-eps * sum_{k < i} L_k)          (w_0 = 1; no gradient flows through w)

so a slice only counts once every earlier slice has a small residual. The residual loss is
``mean_i(w_i L_i)``; with ``eps = 0`` this is the plain mean over slices (close to mean r^2 for
uniform points). The same function serves every model (PIG, MLP PINN, Fourier PINN), because it
acts on residuals, not on the model.
"""
from __future__ import annotations

import torch


def causal_weights(slice_losses: torch.Tensor, eps: float) -> torch.Tensor:
    """(M,) slice losses -> (M,) weights exp(-eps * cumulative loss of the earlier slices), detached."""
    l = slice_losses.detach()
    earlier = torch.cumsum(l, 0) - l  # exclusive cumulative sum: sum_{k < i} L_k
    return torch.exp(-eps * earlier)


def slice_losses(t: torch.Tensor, r2: torch.Tensor, t0: float, t1: float, n_slices: int) -> torch.Tensor:
    """Mean of ``r2`` (P,) over the points whose time ``t`` (P,) falls in each of ``n_slices`` equal
    slices of [t0, t1]; (M,). An empty slice has loss 0."""
    idx = ((t.detach() - t0) / (t1 - t0) * n_slices).long().clamp(0, n_slices - 1)
    total = torch.zeros(n_slices, dtype=r2.dtype, device=r2.device).index_add(0, idx, r2)
    count = torch.bincount(idx, minlength=n_slices).to(r2.dtype)
    return total / count.clamp_min(1)


def causal_residual_loss(t: torch.Tensor, r: torch.Tensor, t0: float, t1: float, n_slices: int = 32,
                         eps: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, weights): ``mean_i(w_i L_i)`` for residuals ``r`` (P,) at times ``t`` (P,)."""
    losses = slice_losses(t, r.pow(2), t0, t1, n_slices)
    w = causal_weights(losses, eps)
    return (w * losses).mean(), w
