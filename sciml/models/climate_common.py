"""Shared pieces of the climate emulators: channel order, scaling and the LPS module.

Every emulator maps a window of ClimateBench inputs in physical units,
``x: (B, W, 4, H, Wd)`` with channels (CO2, CH4, SO2, BC) and the target year last, to the
four outputs ``(B, 4, H, Wd)`` (tas, diurnal_temperature_range, pr, pr90) in physical units.
Scales live in the model config, so a checkpoint alone rebuilds a working emulator.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.models import register_model


def _scale(values, n: int, default: float = 1.0) -> torch.Tensor:
    values = [default] * n if values is None else list(values)
    if len(values) != n:
        raise ValueError(f"expected {n} scale values, got {len(values)}")
    return torch.tensor(values, dtype=torch.float32)


@register_model("lps")
class LinearPatternScaling(nn.Module):
    """Linear pattern scaling (Lütjens et al.): T_g = a CO2_cum + b; local_v = c_v(x) + d_v(x) T_g.

    Fitted in closed form by :meth:`fit` (no gradient training); coefficients are buffers, so the
    fitted model saves and loads as a normal sciml checkpoint.
    """

    def __init__(self, grid: tuple[int, int] = (96, 144), n_out: int = 4):
        super().__init__()
        self.register_buffer("global_coef", torch.zeros(2))          # (a, b): K per GtCO2, K
        self.register_buffer("intercept", torch.zeros(n_out, *grid))
        self.register_buffer("slope", torch.zeros(n_out, *grid))

    def global_tas(self, co2_cum: torch.Tensor) -> torch.Tensor:
        """Global-mean tas anomaly [K], shape of ``co2_cum`` (cumulative CO2 emissions [GtCO2])."""
        return self.global_coef[0] * co2_cum + self.global_coef[1]

    @torch.no_grad()
    def fit(self, co2_cum: torch.Tensor, y: torch.Tensor, lat: torch.Tensor) -> "LinearPatternScaling":
        """Least-squares fit, in float64: co2_cum (N,) [GtCO2]; y (N, 4, H, W) member-mean outputs (tas, DTR [K],
        pr, pr90 [kg m-2 s-1]), channel 0 = tas; lat (H,) degrees north. Returns ``self``."""
        co2_cum, y = co2_cum.double(), y.double()
        w = torch.cos(torch.deg2rad(lat.double()))[:, None].expand(y.shape[-2:])
        tg = (y[:, 0] * w).sum((-2, -1)) / w.sum()
        A = torch.stack([co2_cum, torch.ones_like(co2_cum)], 1)
        self.global_coef.copy_(torch.linalg.lstsq(A, tg[:, None]).solution[:, 0].float())
        B = torch.stack([torch.ones_like(tg), tg], 1)
        coef = torch.linalg.lstsq(B, y.reshape(len(tg), -1)).solution  # (2, 4*H*W)
        self.intercept.copy_(coef[0].reshape(self.intercept.shape).float())
        self.slope.copy_(coef[1].reshape(self.slope.shape).float())
        return self

    def predict_from_tas(self, tg: torch.Tensor) -> torch.Tensor:
        """tg (N,) global-mean tas [K] -> (N, 4, H, W) maps of tas, DTR [K], pr, pr90 [kg m-2 s-1]."""
        return self.intercept + self.slope * tg[:, None, None, None]

    @torch.no_grad()
    def predict(self, co2_cum: torch.Tensor) -> torch.Tensor:
        """co2_cum (N,) cumulative CO2 emissions [GtCO2] -> (N, 4, H, W) output maps, units as in :meth:`fit`."""
        return self.predict_from_tas(self.global_tas(co2_cum.to(self.slope)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, W, 4, H, Wd) input windows (the emulator interface) -> (B, 4, H, Wd): only the last year's CO2 counts."""
        co2 = x[:, -1, 0].mean((-2, -1))
        return self.predict_from_tas(self.global_tas(co2))
