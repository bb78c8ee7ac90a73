"""Autoregressive rollouts and their per-step errors, shared by PDE surrogates and climate emulators.

A one-step model maps ``history`` frames, stacked time-major as channels ``(B, history * F, ...)``
(oldest first, a frame's F fields adjacent, as :class:`sciml.data.TrajectoryDataset` stacks them),
to the next frame ``(B, F, ...)``. :func:`rollout` feeds its predictions back in.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from sciml.train.metrics import rel_l2


@torch.no_grad()
def rollout(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], history: torch.Tensor, steps: int,
            fields: int, batch_size: int | None = None,
            forcing: Callable[[int], torch.Tensor] | None = None) -> torch.Tensor:
    """Predict ``steps`` frames from ``history: (B, h * F, *spatial)``; returns ``(B, steps, F, *spatial)``.

    ``batch_size`` splits the batch to bound memory. ``forcing(k) -> (B, Fc, *spatial)``, if
    given, is appended to the model input at step k (prescribed boundary or climate forcings).
    Everything stays on ``history``'s device.
    """
    if batch_size is not None and history.shape[0] > batch_size:
        parts = [rollout(model, history[i:i + batch_size], steps, fields, None,
                         None if forcing is None else (lambda k, i=i: forcing(k)[i:i + batch_size]))
                 for i in range(0, history.shape[0], batch_size)]
        return torch.cat(parts)
    if history.shape[1] % fields:
        raise ValueError(f"history has {history.shape[1]} channels, not a multiple of fields={fields}")
    frames = list(history.unflatten(1, (-1, fields)).unbind(1))
    h = len(frames)
    out = []
    for k in range(steps):
        x = torch.cat(frames[-h:], dim=1)
        if forcing is not None:
            x = torch.cat([x, forcing(k)], dim=1)
        nxt = model(x)
        out.append(nxt)
        frames.append(nxt)
    return torch.stack(out, dim=1)


def rollout_errors(pred: torch.Tensor, truth: torch.Tensor, per_field: bool = False) -> torch.Tensor:
    """Relative L2 per sample and step of ``pred, truth: (B, T, F, ...)``.

    Returns ``(B, T)`` (all fields jointly) or, with ``per_field``, ``(B, T, F)``.
    """
    b, t, f = pred.shape[:3]
    if per_field:
        return rel_l2(pred.reshape(b * t * f, -1), truth.reshape(b * t * f, -1)).reshape(b, t, f)
    return rel_l2(pred.reshape(b * t, -1), truth.reshape(b * t, -1)).reshape(b, t)


def field_rel_l2_loss(fields: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Training loss: relative L2 per sample and field, averaged; ``pred, target: (B, k * F, ...)``."""

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        b = pred.shape[0]
        p, t = pred.reshape(b, -1, fields, *pred.shape[2:]), target.reshape(b, -1, fields, *target.shape[2:])
        return rollout_errors(p.float(), t.float(), per_field=True).mean()

    return loss
