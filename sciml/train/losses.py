"""Training losses: mean over the batch of the per-sample metrics in :mod:`sciml.train.metrics`."""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.config import check_kwargs
from sciml.errors import ConfigError, RegistryError
from sciml.train import metrics as M


class RelLpLoss(nn.Module):
    """Mean over samples of ||pred - target||_p / ||target||_p."""

    def __init__(self, p: float = 2.0):
        super().__init__()
        self.p = p

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return M.rel_lp(pred, target, self.p).mean()


class H1Loss(nn.Module):
    """Mean relative H1 error (finite differences). ``periodic=False`` for walls (e.g. Dirichlet Darcy)."""

    def __init__(self, spatial_dims: int = 2, periodic: bool = False):
        super().__init__()
        self.spatial_dims, self.periodic = spatial_dims, periodic

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return M.rel_h1(pred, target, self.spatial_dims, self.periodic).mean()


class L2H1Loss(nn.Module):
    """Relative L2 plus relative finite-difference H1, each a mean over the batch (:class:`RelLpLoss` +
    :class:`H1Loss`): the L2 term weighs the field itself, the H1 term its gradients. ``periodic``
    differences across the domain's edges (a torus, e.g. Navier-Stokes on the unit torus)."""

    def __init__(self, spatial_dims: int = 2, periodic: bool = False):
        super().__init__()
        self.l2, self.h1 = RelLpLoss(2.0), H1Loss(spatial_dims, periodic)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.l2(pred, target) + self.h1(pred, target)


class SpectralH1Loss(nn.Module):
    """Mean over the batch of ``||w F(pred - target)|| / ||w F(target)||`` on (B, C, H, W) fields.

    ``F`` is the orthonormal 2-D FFT over the whole grid (so walls are treated as periodic, as in the
    paper), ``w = sqrt(1 + kx^2 + ky^2)`` with integer wavenumbers and ``|k| >= cutoff`` set to 0.
    Fields of another dimension are refused (their last two axes are not a grid).
    """

    def __init__(self, cutoff: int = 20):
        super().__init__()
        self.cutoff = cutoff

    def weight(self, h: int, w: int, device) -> torch.Tensor:
        def k(n):
            kk = (torch.fft.fftfreq(n, device=device) * n).abs()
            return kk * (kk < self.cutoff)
        return (1 + k(h)[:, None] ** 2 + k(w)[None, :] ** 2).sqrt()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.ndim != 4:
            raise ConfigError(f"loss 'spectral_h1' is for 2-D fields shaped (batch, channel, y, x), got shape "
                              f"{tuple(pred.shape)}; use loss 'rel_l2' or 'h1' with spatial_dims for other grids")
        pred, target = pred.float(), target.float()
        wt = self.weight(*pred.shape[-2:], pred.device)
        fd = torch.fft.fft2(pred - target, norm="ortho") * wt
        ft = torch.fft.fft2(target, norm="ortho") * wt
        num = fd.abs().pow(2).flatten(1).sum(1).sqrt()
        den = ft.abs().pow(2).flatten(1).sum(1).sqrt().clamp_min(1e-30)
        return (num / den).mean()


class MSELoss(nn.MSELoss):
    """Plain mean squared error (alias of torch's, for the registry)."""


LOSSES = {"rel_l2": RelLpLoss, "h1": H1Loss, "l2_h1": L2H1Loss, "spectral_h1": SpectralH1Loss, "mse": MSELoss}


def build_loss(name: str, **kwargs) -> nn.Module:
    if name not in LOSSES:
        raise RegistryError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    check_kwargs(LOSSES[name], kwargs, where=f"loss {name!r}")
    return LOSSES[name](**kwargs)
