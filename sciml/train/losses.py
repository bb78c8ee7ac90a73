"""Training losses: mean over the batch of the per-sample metrics in :mod:`sciml.train.metrics`."""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.errors import RegistryError
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


class MSELoss(nn.MSELoss):
    """Plain mean squared error (alias of torch's, for the registry)."""


LOSSES = {"rel_l2": RelLpLoss, "h1": H1Loss, "mse": MSELoss}


def build_loss(name: str, **kwargs) -> nn.Module:
    if name not in LOSSES:
        raise RegistryError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    return LOSSES[name](**kwargs)
