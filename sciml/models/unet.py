"""A small standard U-Net baseline for field-to-field regression."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from sciml.models import register_model


class ConvBlock(nn.Module):
    """Two 3x3 convs, each GroupNorm + GELU: (B, C_in, H, W) -> (B, C_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, padding_mode: str = "zeros", groups: int = 8):
        super().__init__()
        g = groups if c_out % groups == 0 else 1
        self.net = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode=padding_mode), nn.GroupNorm(g, c_out), nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode=padding_mode), nn.GroupNorm(g, c_out), nn.GELU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model("unet")
class UNet(nn.Module):
    """U-Net: ``depth`` levels of (ConvBlock, 2x avg-pool) down, bilinear up with skip concatenation.

    Works on any H, W (inputs are padded to a multiple of 2**depth and cropped back).
    ``padding_mode`` is ``"zeros"`` for walls or ``"circular"`` for periodic domains.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 16, depth: int = 3,
                 padding_mode: str = "zeros"):
        super().__init__()
        chans = [width * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.inc = ConvBlock(in_channels, chans[0], padding_mode)
        self.down = nn.ModuleList(ConvBlock(chans[i], chans[i + 1], padding_mode) for i in range(depth))
        self.up = nn.ModuleList(ConvBlock(chans[i + 1] + chans[i], chans[i], padding_mode) for i in reversed(range(depth)))
        self.out = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        x = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        skips = [self.inc(x)]
        for block in self.down:
            skips.append(block(F.avg_pool2d(skips[-1], 2)))
        y = skips.pop()
        for block in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        return self.out(y)[..., :h, :w]
