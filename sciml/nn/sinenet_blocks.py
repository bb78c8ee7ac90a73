"""Building blocks of SineNet's U-shaped "waves": residual conv blocks and padding-aware resampling."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    """Two 3x3 convs (GroupNorm(1) + GELU each) plus a 1x1-conv shortcut: (B, c_in, H, W) -> (B, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, padding_mode: str = "zeros"):
        super().__init__()
        self.net = nn.Sequential(
            nn.GroupNorm(1, c_in), nn.GELU(), nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode=padding_mode),
            nn.GroupNorm(1, c_out), nn.GELU(), nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode=padding_mode),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.net(x)


def upsample2(x: torch.Tensor, size: tuple[int, int], periodic: bool) -> torch.Tensor:
    """Bicubic x2 upsampling to ``size``; on a periodic domain, pad circularly first so the
    interpolation wraps around instead of seeing an edge."""
    if periodic:
        p = 2
        y = F.interpolate(F.pad(x, (p, p, p, p), mode="circular"), scale_factor=2, mode="bicubic", align_corners=False)
        y = y[..., 2 * p: -2 * p, 2 * p: -2 * p]
    else:
        y = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    if y.shape[-2:] != tuple(size):
        y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
    return y


def down2(x: torch.Tensor) -> torch.Tensor:
    """AvgPool(2), padding odd sizes by replication so every cell is covered."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


class Wave(nn.Module):
    """One U-shaped wave with ``levels`` levels, channels ``chans[l]`` at level l.

    Encoder level l: ResBlock(input + projection of the l-times pooled wave input); decoder: bicubic
    up, concatenate the skip of the same level, ResBlock. Skips stay inside the wave.
    """

    def __init__(self, chans: list[int], padding_mode: str = "zeros", disentangle: bool = True):
        super().__init__()
        self.periodic = padding_mode == "circular"
        c0 = chans[0]
        self.enc = nn.ModuleList(ResBlock(chans[max(l - 1, 0)] if l else c0, chans[l], padding_mode)
                                 for l in range(len(chans)))
        self.inject = nn.ModuleList(nn.Conv2d(c0, chans[l - 1], 1) for l in range(1, len(chans))) if disentangle else None
        self.dec = nn.ModuleList(ResBlock(chans[l + 1] + chans[l], chans[l], padding_mode)
                                 for l in reversed(range(len(chans) - 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, h, pooled = [], x, x
        for l, block in enumerate(self.enc):
            if l:
                h, pooled = down2(h), down2(pooled)
                if self.inject is not None:  # disentangled branch: the raw input at this scale
                    h = h + self.inject[l - 1](pooled)
            h = block(h)
            skips.append(h)
        h = skips.pop()
        for block in self.dec:
            skip = skips.pop()
            h = block(torch.cat([upsample2(h, skip.shape[-2:], self.periodic), skip], dim=1))
        return h
