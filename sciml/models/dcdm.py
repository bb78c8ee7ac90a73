"""The DCDM network: a small fully convolutional CNN approximating the action of A^-1 (up to scale).

Fully convolutional, so a net trained on 16^3/32^3 grids applies to 64^3 and 128^3. Input channels:
the normalised residual and (``use_mask=True``) the fluid mask, so the net sees the obstacles.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from sciml.models import register_model


def _conv(dim: int):
    return nn.Conv3d if dim == 3 else nn.Conv2d


class _Res(nn.Module):
    def __init__(self, c: int, dim: int):
        super().__init__()
        self.c1, self.c2 = _conv(dim)(c, c, 3, padding=1), _conv(dim)(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(F.relu(x))))


@register_model("dcdm")
class DCDMNet(nn.Module):
    """(B, 1 or 2, *grid) -> (B, 1, *grid) for ``dim`` = 2 or 3.

    Stem conv, ``blocks`` residual blocks at full resolution, AvgPool(2), ``blocks`` residual blocks at
    half resolution, nearest upsampling added to the full-resolution skip, one more block, 1x1 head.
    The head's output is added to the input residual (``skip_input``), so the untrained net already
    proposes the steepest-descent direction; without it, training stalls on a plateau at loss ~1.
    """

    def __init__(self, dim: int = 3, channels: int = 16, blocks: int = 2, use_mask: bool = True,
                 skip_input: bool = True):
        super().__init__()
        self.skip_input = skip_input
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim}")
        self.dim, self.use_mask = dim, use_mask
        C = _conv(dim)
        self.stem = C(2 if use_mask else 1, channels, 3, padding=1)
        self.fine = nn.Sequential(*[_Res(channels, dim) for _ in range(blocks)])
        self.coarse = nn.Sequential(*[_Res(channels, dim) for _ in range(blocks)])
        self.merge = _Res(channels, dim)
        self.head = C(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fine(self.stem(x))
        pool = F.avg_pool3d if self.dim == 3 else F.avg_pool2d
        c = self.coarse(pool(h, 2, ceil_mode=True))
        up = F.interpolate(c, scale_factor=2, mode="nearest")[(...,) + tuple(slice(0, s) for s in h.shape[2:])]
        out = self.head(self.merge(h + up))
        return out + x[:, :1] if self.skip_input else out
