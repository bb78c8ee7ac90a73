"""A small Prithvi-WxC-style emulator: patch embedding, windowed local/global attention, residual on LPS.

Tokens: ``patch x patch`` patches of the (H, W) grid, grouped into windows of ``window`` tokens.
A block pair attends within each window (local), then across windows at the same in-window
position (global, by swapping the two axes), as Prithvi WxC's LocalGlobalLocal blocks do.
Inputs per target year t: SO2/BC at t and t - ``lag``, the LPS prediction at t (the
"climatology"), static lat/lon maps. Conditioning (Prithvi's lead/input time): LPS global
tas at t and its change over the window, and CH4, each Linear(1 -> d/4) then cos/sin.
Output = LPS + output_scale x network. ``mask_ratio`` > 0 replaces whole windows (``"local"``)
or the same token position in every window (``"global"``) by a learned mask token: masked
pre-training.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.models.climate_common import LinearPatternScaling, _scale


class _Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.local = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.glob = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, G, L, d): G windows of L tokens."""
        b, g, l, d = z.shape
        z = self.local(z.reshape(b * g, l, d)).view(b, g, l, d)
        z = self.glob(z.transpose(1, 2).reshape(b * l, g, d)).view(b, l, g, d).transpose(1, 2)
        return z


@register_model("prithvi")
class PrithviEmulator(nn.Module):
    """x (B, W, 4, H, Wd) physical inputs (target year last) -> (B, 4, H, Wd) physical outputs."""

    def __init__(self, grid: tuple[int, int] = (96, 144), patch: int = 4, window: tuple[int, int] = (4, 6),
                 embed: int = 64, heads: int = 4, encoder_pairs: int = 2, decoder_pairs: int = 1, lag: int = 5,
                 n_in: int = 4, n_out: int = 4, input_scale=None, output_scale=None):
        super().__init__()
        h, w = grid
        self.grid, self.patch, self.window, self.lag, self.n_out = tuple(grid), patch, tuple(window), lag, n_out
        self.th, self.tw = h // patch, w // patch
        if h % patch or w % patch or self.th % window[0] or self.tw % window[1]:
            raise ValueError(f"grid {grid} must split into {patch}x{patch} patches and {window} token windows")
        self.register_buffer("in_scale", _scale(input_scale, n_in))
        self.register_buffer("out_scale", _scale(output_scale, n_out))
        self.lps = LinearPatternScaling(grid, n_out)
        lat = torch.deg2rad(torch.linspace(-90, 90, h))[:, None].expand(h, w)
        lon = torch.deg2rad(torch.arange(w) * 360.0 / w)[None, :].expand(h, w)
        self.register_buffer("static", torch.stack([torch.cos(lat), torch.sin(lat), torch.cos(lon), torch.sin(lon)]))
        c_in = 4 + n_out + 4
        self.embed = nn.Conv2d(c_in, embed, patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, self.th * self.tw, embed))
        self.cond = nn.ModuleList([nn.Linear(1, embed // 4) for _ in range(3)])
        self.cond_out = nn.Linear(3 * 2 * (embed // 4), embed)
        self.mask_token = nn.Parameter(torch.zeros(embed))
        self.encoder = nn.ModuleList([_Block(embed, heads) for _ in range(encoder_pairs)])
        self.decoder = nn.ModuleList([_Block(embed, heads) for _ in range(decoder_pairs)])
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, n_out * patch * patch)
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.zeros_(self.head.weight), nn.init.zeros_(self.head.bias)  # start exactly at the LPS prediction

    def _to_windows(self, z: torch.Tensor) -> torch.Tensor:
        """(B, th*tw, d) -> (B, G, L, d)."""
        b, _, d = z.shape
        wh, ww = self.window
        z = z.view(b, self.th // wh, wh, self.tw // ww, ww, d).permute(0, 1, 3, 2, 4, 5)
        return z.reshape(b, -1, wh * ww, d)

    def _from_windows(self, z: torch.Tensor) -> torch.Tensor:
        b, _, _, d = z.shape
        wh, ww = self.window
        z = z.view(b, self.th // wh, self.tw // ww, wh, ww, d).permute(0, 1, 3, 2, 4, 5)
        return z.reshape(b, self.th, self.tw, d)

    def _mask(self, z: torch.Tensor, ratio: float, mode: str) -> torch.Tensor:
        b, g, l, _ = z.shape
        n = g if mode == "local" else l
        keep = torch.rand(b, n, device=z.device).argsort(1) >= int(round(ratio * n))
        m = keep[:, :, None] if mode == "local" else keep[:, None, :]
        return torch.where(m[..., None], z, self.mask_token.to(z.dtype))

    def forward(self, x: torch.Tensor, mask_ratio: float = 0.0, mask_mode: str = "local") -> torch.Tensor:
        b = x.shape[0]
        clim = self.lps(x)                                               # (B, 4, H, W) physical
        co2 = x[:, :, 0].mean((-2, -1))                                  # (B, W) GtCO2
        tg = self.lps.global_tas(co2)
        aer = x[:, :, 2:] / self.in_scale[None, None, 2:, None, None]
        feats = torch.cat([aer[:, -1], aer[:, -1 - self.lag], clim / self.out_scale[None, :, None, None],
                           self.static.expand(b, -1, -1, -1)], 1)
        z = self.embed(feats).flatten(2).transpose(1, 2) + self.pos     # (B, T, d)
        ch4 = x[:, -1, 1].mean((-2, -1)) / self.in_scale[1]
        conds = [tg[:, -1], tg[:, -1] - tg[:, 0], ch4]
        c = torch.cat([torch.cat([torch.cos(f(s[:, None])), torch.sin(f(s[:, None]))], -1)
                       for f, s in zip(self.cond, conds)], -1)
        z = self._to_windows(z + self.cond_out(c)[:, None])
        if mask_ratio > 0:
            z = self._mask(z, mask_ratio, mask_mode)
        for blk in self.encoder:
            z = blk(z)
        for blk in self.decoder:
            z = blk(z)
        out = self.head(self.norm(self._from_windows(z)))               # (B, th, tw, 4*p*p)
        p = self.patch
        out = out.view(b, self.th, self.tw, self.n_out, p, p).permute(0, 3, 1, 4, 2, 5)
        out = out.reshape(b, self.n_out, *self.grid)
        return clim + out * self.out_scale[None, :, None, None]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
