"""ClimateBench CNN-LSTM baseline (Watson-Parris et al. 2022).

TimeDistributed Conv2D(20, 3x3, ReLU) -> AvgPool(2) -> global average pool -> LSTM(25)
-> Dense(4 x H x W), over a 10-year window of inputs (CO2, CH4, SO2, BC maps).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.models.climate_common import _scale


@register_model("cnn_lstm")
class CNNLSTM(nn.Module):
    """x (B, W, 4, H, Wd) physical inputs -> (B, 4, H, Wd) physical outputs.

    ``input_scale``/``output_scale``: per-channel divisors (training std), stored in the config.
    """

    def __init__(self, grid: tuple[int, int] = (96, 144), n_in: int = 4, n_out: int = 4, filters: int = 20,
                 hidden: int = 25, input_pool: int = 1, input_scale=None, output_scale=None, output_mean=None):
        super().__init__()
        self.grid, self.n_out = tuple(grid), n_out
        self.register_buffer("in_scale", _scale(input_scale, n_in))
        self.register_buffer("out_scale", _scale(output_scale, n_out))
        self.register_buffer("out_mean", _scale(output_mean, n_out, 0.0))
        # input_pool > 1 averages the inputs first: a CPU-only shortcut (the conv is the cost)
        self.pool_in = nn.AvgPool2d(input_pool) if input_pool > 1 else nn.Identity()
        self.conv = nn.Sequential(nn.Conv2d(n_in, filters, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.lstm = nn.LSTM(filters, hidden, batch_first=True)
        self.dense = nn.Linear(hidden, n_out * grid[0] * grid[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, w = x.shape[:2]
        z = x / self.in_scale[None, None, :, None, None]
        feats = self.conv(self.pool_in(z.flatten(0, 1))).view(b, w, -1)
        h, _ = self.lstm(feats)
        out = self.dense(torch.relu(h[:, -1])).view(b, self.n_out, *self.grid)
        return out * self.out_scale[None, :, None, None] + self.out_mean[None, :, None, None]
