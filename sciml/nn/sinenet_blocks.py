"""Building blocks of SineNet's U-shaped "waves" (ICLR 2024), structured as in the reference code.

A wave with L levels and channel multiplier m on C channels has widths
``C, int(C m), int(C m^2), ..., int(C m^L)``: L encoder stages each halve the grid (AvgPool(2))
and widen, L decoder stages upsample (bicubic x2) and narrow back to C. Every stage is one
:class:`ConvBlock` (two 3x3 convs, each followed by GroupNorm(1) and GELU) plus a 1x1-conv
shortcut. The "disentangled" branch pools the wave's input alongside and concatenates it to every
encoder stage after the first, so each scale sees the raw state and not only its processed version.

Optional conditioning (off unless ``cond_channels > 0``): a conditioning vector ``emb: (B, E)``
(:class:`ConditionEmbedding` of dt and/or PDE parameters) is mapped per block by a linear layer
to a scale and a shift that modulate the features after the block's first conv + norm + GELU,
``h * (1 + scale) + shift`` (scale-shift normalisation, as in PDEArena's conditioned U-Nets and
SineNet's conditioned variant). Without it the blocks have exactly the unconditioned parameters.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal_embedding(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(B,) scalars -> (B, dim): cos and sin of ``values * f`` at ``dim // 2`` frequencies ``f`` from 1
    down to ``1 / max_period`` (geometric), zero-padded to ``dim`` when it is odd."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device, dtype=torch.float32) / half)
    args = values.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim - 2 * half))


class ConditionEmbedding(nn.Module):
    """(B, n) scalars (dt, PDE parameters) -> (B, 4 C): per scalar, a sinusoidal embedding of width C
    followed by Linear(C, 4C) -> GELU -> Linear(4C, 4C); the per-scalar embeddings are summed.
    ``scale`` multiplies the raw values first so that their range spans the embedding's frequencies
    (the slowest period is 2 pi max_period): e.g. dt in [0.01, 0.1] with scale 100."""

    def __init__(self, n: int, channels: int, scale: float | list[float] = 1.0):
        super().__init__()
        self.channels, self.out_channels = channels, 4 * channels
        scales = torch.as_tensor(scale, dtype=torch.float32).expand(n).clone()
        self.register_buffer("scale", scales, persistent=False)
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(channels, 4 * channels), nn.GELU(),
                                                nn.Linear(4 * channels, 4 * channels)) for _ in range(n))

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        cond = cond.reshape(cond.shape[0], -1)
        if cond.shape[1] != len(self.mlps):
            raise ValueError(f"expected {len(self.mlps)} conditioning scalars per sample, got {cond.shape[1]}")
        cond = cond * self.scale.to(cond.device)
        return sum(mlp(sinusoidal_embedding(cond[:, i], self.channels)) for i, mlp in enumerate(self.mlps))


class ConvBlock(nn.Module):
    """conv3x3 -> GroupNorm(1) -> GELU, twice: (B, c_in, H, W) -> (B, c_out, H, W).

    With ``cond_channels > 0`` the features after the first GELU are scale-shifted by
    ``Linear(cond_channels, 2 c_out)`` of the conditioning vector ``emb: (B, cond_channels)``.
    """

    def __init__(self, c_in: int, c_out: int, padding_mode: str = "zeros", cond_channels: int = 0):
        super().__init__()
        conv = lambda a, b: nn.Conv2d(a, b, 3, padding=1, padding_mode=padding_mode)  # noqa: E731
        self.net = nn.Sequential(conv(c_in, c_out), nn.GroupNorm(1, c_out), nn.GELU(),
                                 conv(c_out, c_out), nn.GroupNorm(1, c_out), nn.GELU())
        self.cond = nn.Linear(cond_channels, 2 * c_out) if cond_channels else None

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond is None:
            return self.net(x)
        scale, shift = self.cond(emb)[:, :, None, None].chunk(2, dim=1)
        return self.net[3:](self.net[:3](x) * (1 + scale) + shift)


def down2(x: torch.Tensor) -> torch.Tensor:
    """AvgPool(2); odd sizes are padded by replication so every cell is covered."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


def upsample2(x: torch.Tensor, size: tuple[int, int], periodic: bool) -> torch.Tensor:
    """Bicubic x2 upsampling to ``size`` (B, C, *size).

    On a periodic domain the input is first padded circularly by 2 cells so the cubic stencil
    wraps around instead of seeing an edge; the 4 upsampled cells per side are cropped after.
    """
    if periodic:
        h, w = x.shape[-2:]  # wrap by indexing: exact even on grids smaller than the pad (1x1 at the bottom)
        iy, ix = (torch.arange(-2, n + 2, device=x.device) % n for n in (h, w))
        y = F.interpolate(x[..., iy, :][..., ix], scale_factor=2, mode="bicubic", align_corners=False)
        y = y[..., 4:-4, 4:-4]
    else:
        y = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    if y.shape[-2:] != tuple(size):  # odd grids: the pooled size was rounded up
        y = y[..., : size[0], : size[1]] if y.shape[-2] >= size[0] and y.shape[-1] >= size[1] else \
            F.interpolate(y, size=size, mode="bilinear", align_corners=False)
    return y


class DownStage(nn.Module):
    """Pool, (concatenate the pooled wave input), ConvBlock, plus a 1x1 shortcut of the pooled features."""

    def __init__(self, c_in: int, c_out: int, c_inject: int, padding_mode: str, cond_channels: int = 0):
        super().__init__()
        self.block = ConvBlock(c_in + c_inject, c_out, padding_mode, cond_channels)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)
        self.inject = c_inject > 0

    def forward(self, h: torch.Tensor, pooled_input: torch.Tensor | None, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = down2(h)
        z = torch.cat([h, pooled_input], dim=1) if self.inject else h
        return self.block(z, emb) + self.shortcut(h)


class UpStage(nn.Module):
    """Upsample, concatenate the same-level skip, ConvBlock, plus a 1x1 shortcut of the upsampled features."""

    def __init__(self, c_in: int, c_out: int, padding_mode: str, cond_channels: int = 0):
        super().__init__()
        self.block = ConvBlock(c_in + c_out, c_out, padding_mode, cond_channels)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)
        self.periodic = padding_mode == "circular"

    def forward(self, h: torch.Tensor, skip: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        up = upsample2(h, skip.shape[-2:], self.periodic)
        return self.block(torch.cat([skip, up], dim=1), emb) + self.shortcut(up)


def wave_channels(channels: int, mult: float, levels: int) -> list[int]:
    """Widths ``[C, int(C m), ..., int(C m^levels)]`` of a wave (truncation, as in the reference code)."""
    return [channels] + [int(channels * mult ** (l + 1)) for l in range(levels)]


class Wave(nn.Module):
    """One U-shaped wave: (B, C, H, W) -> (B, C, H, W); skips stay inside the wave.

    Parameters
    ----------
    channels : C, the width at full resolution (the wave's input and output).
    mult : per-level channel multiplier.
    levels : number of pooling stages (the grid is divided by 2^levels at the bottom).
    padding_mode : "circular" (periodic domains) or "zeros".
    disentangle : feed the repeatedly pooled wave input into encoder stages 2..levels.
    cond_channels : width E of the conditioning vector (0: unconditioned); ``forward(x, emb)``.
    """

    def __init__(self, channels: int, mult: float, levels: int = 4, padding_mode: str = "zeros",
                 disentangle: bool = True, cond_channels: int = 0):
        super().__init__()
        ch = wave_channels(channels, mult, levels)
        self.disentangle = disentangle
        self.down = nn.ModuleList(DownStage(ch[l], ch[l + 1], channels if (disentangle and l) else 0, padding_mode,
                                            cond_channels) for l in range(levels))
        self.up = nn.ModuleList(UpStage(ch[l + 1], ch[l], padding_mode, cond_channels)
                                for l in reversed(range(levels)))

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        skips, h, pooled = [x], x, x
        for stage in self.down:
            pooled = down2(pooled) if self.disentangle else None
            h = stage(h, pooled, emb)
            skips.append(h)
        h = skips.pop()
        for stage in self.up:
            h = stage(h, skips.pop(), emb)
        return h
