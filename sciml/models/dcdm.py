"""The DCDM network: a small fully convolutional CNN approximating the action of A^-1 (up to scale).

Fully convolutional, so a net trained on 16^3/32^3 grids applies to 64^3 and 128^3. Input channels:
the normalised residual and (``use_mask=True``) the fluid mask, so the net sees the obstacles.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from sciml.models import build_model, register_model


def _conv(dim: int):
    return nn.Conv3d if dim == 3 else nn.Conv2d


def conv(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``, but through oneDNN on CPU fp32: this torch build sends 3-D convs to its slow
    im2col kernel (``slow_conv3d``), about 10x slower than ``mkldnn_convolution`` for 16 channels.
    Same result and gradients (tested); see ADR 0091."""
    if (x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and not torch.is_autocast_enabled("cpu")):
        cl = x.is_contiguous(memory_format=torch.channels_last_3d) if x.ndim == 5 else False
        return torch.ops.aten.mkldnn_convolution(x if cl else x.contiguous(), layer.weight, layer.bias, list(layer.padding),
                                                 list(layer.stride), list(layer.dilation), layer.groups)
    return layer(x)


class _Res(nn.Module):
    def __init__(self, c: int, dim: int, dilation: tuple[int, int] = (1, 1), zero_init: bool = False):
        super().__init__()
        d1, d2 = dilation
        self.c1 = _conv(dim)(c, c, 3, padding=d1, dilation=d1)
        self.c2 = _conv(dim)(c, c, 3, padding=d2, dilation=d2)
        if zero_init:  # the block starts as the identity, so it can be added to a trained net (ADR 0095)
            nn.init.zeros_(self.c2.weight), nn.init.zeros_(self.c2.bias)

    def forward(self, x):
        return x + conv(self.c2, F.relu(conv(self.c1, F.relu(x))))


@register_model("dcdm")
class DCDMNet(nn.Module):
    """(B, 1 or 2, *grid) -> (B, 1, *grid) for ``dim`` = 2 or 3.

    Stem conv, ``blocks`` residual blocks at full resolution, AvgPool(2), ``coarse_blocks`` (default
    ``blocks``) residual blocks at half resolution, nearest upsampling added to the full-resolution
    skip, one more block, 1x1 head. Coarse blocks cost 1/8 (3-D) of fine ones and widen the receptive
    field twice as fast, so the shipped model puts its depth there (ADR 0090).

    ``wide``: dilations, in pairs, of extra residual blocks at the coarse level after the coarse blocks
    (e.g. ``[4, 8]``: one block whose convs have dilation 4 and 8, +-24 fine cells of receptive
    field for 14k parameters and 1/4 of a fine conv's cost); zero-initialised, so they can be added to
    a trained net without changing its output (ADR 0095). Still one pooling level with a skip.

    ``zero_offset``: return ``body(x) - body(x with channel 0 zeroed)``, so a zero residual maps to zero
    as it does under A^-1. The biases and the mask channel otherwise add a residual-independent vector
    to every proposal (the same one each iteration), which slows DCDM down; ``offset(mask)`` is that
    vector, which the solver computes once per solve (ADR 0096).
    """

    def __init__(self, dim: int = 3, channels: int = 16, blocks: int = 2, use_mask: bool = True,
                 coarse_blocks: int | None = None, wide: list[int] | tuple[int, ...] = (), zero_offset: bool = False):
        super().__init__()
        self.zero_offset = zero_offset
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim}")
        self.dim, self.use_mask = dim, use_mask
        C = _conv(dim)
        self.stem = C(2 if use_mask else 1, channels, 3, padding=1)
        self.fine = nn.Sequential(*[_Res(channels, dim) for _ in range(blocks)])
        nc = blocks if coarse_blocks is None else coarse_blocks
        self.coarse = nn.Sequential(*[_Res(channels, dim) for _ in range(nc)])
        if len(wide) % 2:
            raise ValueError(f"wide takes dilations in pairs (one pair per block), got {list(wide)}")
        self.wide = nn.Sequential(*[_Res(channels, dim, (int(wide[i]), int(wide[i + 1])), zero_init=True)
                                    for i in range(0, len(wide), 2)])
        self.merge = _Res(channels, dim)
        self.head = C(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.dim + 2:
            raise ValueError(f"the dcdm model is {self.dim}-D and takes (B, C, *{self.dim} grid dims), got shape "
                             f"{tuple(x.shape)}")
        if not self.zero_offset:
            return self.body(x)
        both = self.body(torch.cat([x, self._zeroed(x)]))  # one batched call for the input and its offset
        return both[: len(x)] - both[len(x):]

    @staticmethod
    def _zeroed(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:]], 1)

    def offset(self, x: torch.Tensor) -> torch.Tensor:
        """The residual-independent part ``body(x with channel 0 zeroed)`` (B, 1, *grid); zero if not ``zero_offset``."""
        return self.body(self._zeroed(x)) if self.zero_offset else torch.zeros_like(x[:, :1])

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """The network itself, without the offset correction."""
        # unit-norm residuals have entries ~ n^-1/2, which shrink with the grid; rescale channel 0 to unit
        # RMS so the net sees the same magnitudes at 16^3 and 128^3 (DCDM ignores the output's scale)
        dims = tuple(range(2, x.ndim))
        rms = x[:, :1].pow(2).mean(dims, keepdim=True).sqrt().clamp_min(1e-30)
        x = torch.cat([x[:, :1] / rms, x[:, 1:]], 1)
        h = self.fine(conv(self.stem, x))
        pool = F.avg_pool3d if self.dim == 3 else F.avg_pool2d
        c = self.wide(self.coarse(pool(h, 2, ceil_mode=True)))
        up = F.interpolate(c, scale_factor=2, mode="nearest")[(...,) + tuple(slice(0, s) for s in h.shape[2:])]
        return conv(self.head, self.merge(h + up))


def rebuild(model: DCDMNet, **overrides) -> DCDMNet:
    """A ``dcdm`` net with ``model``'s config changed by ``overrides`` (e.g. ``zero_offset=True`` or more
    ``wide`` blocks) and ``model``'s weights loaded. New zero-initialised ``wide`` blocks may be added (the
    output is unchanged); any other mismatch raises, naming the keys."""
    new = build_model("dcdm", **{**model.sciml_config["config"], **overrides})
    try:
        missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    except RuntimeError as exc:  # shapes differ (e.g. another channel count)
        raise ValueError(f"cannot rebuild the dcdm net with {overrides}: {exc}") from exc
    if unexpected or any(not k.startswith("wide.") for k in missing):
        raise ValueError(f"cannot rebuild the dcdm net with {overrides}: missing {missing}, unexpected {unexpected}")
    return new
