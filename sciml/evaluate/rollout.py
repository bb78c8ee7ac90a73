"""Autoregressive rollouts and their per-step errors, shared by PDE surrogates and climate emulators.

A one-step model maps ``history`` frames, stacked time-major as channels ``(B, history * F, ...)``,
to the next frame ``(B, F, ...)``. :func:`rollout` feeds its predictions back in.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.train.metrics import rel_l2


@torch.no_grad()
def rollout(model: nn.Module, history: torch.Tensor, steps: int, fields: int) -> torch.Tensor:
    """Predict ``steps`` frames from ``history: (B, h * F, *spatial)``; returns ``(B, steps, F, *spatial)``."""
    frames = list(history.unflatten(1, (-1, fields)).unbind(1))
    h = len(frames)
    out = []
    for _ in range(steps):
        nxt = model(torch.cat(frames[-h:], dim=1))
        out.append(nxt)
        frames.append(nxt)
    return torch.stack(out, dim=1)


def rollout_errors(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Relative L2 per sample and step: ``pred, truth: (B, T, F, ...)`` -> ``(B, T)`` (all fields jointly)."""
    b, t = pred.shape[:2]
    return rel_l2(pred.reshape(b * t, -1), truth.reshape(b * t, -1)).reshape(b, t)
