"""SineNet (ICLR 2024): K sequential U-Net "waves" for time-dependent PDEs.

``build_model("sinenet", waves=K)``: a 3x3 stem lifts the stacked history (history x fields
channels) to ``channels``; K waves (:class:`sciml.nn.sinenet_blocks.Wave`) update it as
``x <- x + wave(x)``; a 3x3 conv maps to the next state's fields. ``waves=1`` is the U-Net
baseline. When ``mult`` is not given it is chosen so the parameter count matches the K = 1 model
with ``mult = base_mult`` (within 2%), which is how the paper compares K = 1, 2, 4, 8 at equal
parameters (at C = 16, 4 frames in: 2.116M parameters, multipliers 2, 1.795, 1.601, 1.4145).

``cond_dim = n > 0`` conditions the model on n scalars per sample (dt and/or PDE parameters):
``model(x, cond)`` with ``cond: (B, n)``; each scalar gets a sinusoidal embedding and an MLP to
4C channels (summed), and every block scale-shifts its features by a linear map of it. Off by
default; the unconditioned model has no extra parameters. ``mult`` is matched without them.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.nn.sinenet_blocks import ConditionEmbedding, Wave
from sciml.utils.cost import gmacs


@register_model("sinenet")
class SineNet(nn.Module):
    """(B, history * fields, H, W) -> (B, fields, H, W); frames stacked time-major (oldest first).

    ``residual_output=True`` predicts the increment over the last input frame instead of the
    state itself. ``padding_mode="circular"`` for periodic domains, ``"zeros"`` otherwise.
    ``cond_dim`` scalars per sample condition the model (``forward(x, cond)``, ``cond: (B, cond_dim)``),
    multiplied by ``cond_scale`` (one value or one per scalar) before the sinusoidal embedding.
    """

    def __init__(self, fields: int = 1, history: int = 2, channels: int = 16, waves: int = 8, levels: int = 4,
                 mult: float | None = None, base_mult: float = 2.0, padding_mode: str = "circular",
                 disentangle: bool = True, residual_output: bool = False, cond_dim: int = 0,
                 cond_scale: float | list[float] = 1.0):
        super().__init__()
        if padding_mode not in ("circular", "zeros"):
            raise ValueError(f"padding_mode must be 'circular' or 'zeros', got {padding_mode!r}")
        if mult is None:
            mult = matched_mult(fields, history, channels, waves, levels, base_mult, padding_mode, disentangle)
        self.mult, self.fields, self.residual_output = mult, fields, residual_output
        self.stem = nn.Conv2d(history * fields, channels, 3, padding=1, padding_mode=padding_mode)
        self.cond_dim = cond_dim
        self.embed = ConditionEmbedding(cond_dim, channels, cond_scale) if cond_dim else None
        e = 4 * channels if cond_dim else 0
        self.waves = nn.ModuleList(Wave(channels, mult, levels, padding_mode, disentangle, e) for _ in range(waves))
        self.head = nn.Conv2d(channels, fields, 3, padding=1, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if (cond is None) != (self.embed is None):
            raise ValueError("pass cond (B, cond_dim) exactly when the model was built with cond_dim > 0 "
                             f"(cond_dim={self.cond_dim}, cond given: {cond is not None})")
        emb = self.embed(cond) if self.embed is not None else None
        h = self.stem(x)
        for wave in self.waves:
            h = h + wave(h, emb)
        out = self.head(h)
        return out + x[:, -self.fields:] if self.residual_output else out


def _count(fields, history, channels, waves, levels, mult, padding_mode, disentangle) -> int:
    """Parameter count without building K waves: stem + head + K x one wave (waves are identical)."""
    with torch.device("meta"):
        wave = Wave(channels, mult, levels, padding_mode, disentangle)
    stem_head = (history * fields * 9 + 1) * channels + (channels * 9 + 1) * fields
    return stem_head + waves * sum(p.numel() for p in wave.parameters())


@functools.lru_cache(maxsize=None)
def matched_mult(fields: int, history: int, channels: int, waves: int, levels: int, base_mult: float,
                 padding_mode: str = "circular", disentangle: bool = True) -> float:
    """The multiplier giving ``waves`` waves the parameter count of one wave at ``base_mult`` (bisection)."""
    if waves == 1:
        return base_mult
    target = _count(fields, history, channels, 1, levels, base_mult, padding_mode, disentangle)
    lo, hi = 1.0, base_mult
    for _ in range(16):  # bisection to 1e-5 in mult (the count is a step function: int() widths)
        mid = 0.5 * (lo + hi)
        if _count(fields, history, channels, waves, levels, mid, padding_mode, disentangle) > target:
            hi = mid
        else:
            lo = mid
    lo, hi = round(lo, 4), round(hi + 5e-5, 4)  # the count at the step just below and just above target
    count = lambda m: _count(fields, history, channels, waves, levels, m, padding_mode, disentangle)  # noqa: E731
    return min((lo, hi), key=lambda m: abs(count(m) - target))


@functools.lru_cache(maxsize=None)
def compute_matched_channels(fields: int, history: int, channels: int, waves: int, res: int,
                             padding_mode: str = "circular") -> int:
    """The width C' of a U-Net (``waves=1``) whose forward pass costs what SineNet-``waves`` at width
    ``channels`` costs on a ``res`` x ``res`` grid: multiply-accumulates grow about as C^2, so
    ``C' = round(C * sqrt(GMACs_K / GMACs_1))`` (counted by :func:`sciml.utils.cost.gmacs`). The models
    are built under a forked RNG, so the caller's random streams are untouched."""
    x = torch.zeros(1, history * fields, res, res)
    with torch.random.fork_rng(devices=[]):
        cost = [gmacs(SineNet(fields, history, channels, k, padding_mode=padding_mode), x) for k in (1, waves)]
    return int(round(channels * (cost[1] / cost[0]) ** 0.5))
