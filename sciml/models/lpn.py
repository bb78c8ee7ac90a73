"""Learned proximal network (LPN) and a small DnCNN denoiser baseline.

LPN (Fang, Buchanan & Sulam, ICLR 2024): ``f = grad psi`` with ``psi`` an input-convex network
(:mod:`sciml.nn.icnn`). The gradient of a convex function is exactly the proximal operator of some
(possibly nonconvex) regulariser ``R``, so a trained LPN is a denoiser *and* an evaluable prior
(:func:`sciml.inverse.prior_value`).
"""
from __future__ import annotations

import warnings

import torch
import torch.nn as nn

from sciml.errors import DimensionError, NonFiniteError
from sciml.models import register_model
from sciml.nn.icnn import ConvICNN, DenseICNN


def _check_input(x: torch.Tensor, data_range: tuple[float, float], name: str, ndim: int) -> None:
    if x.ndim != ndim:
        raise DimensionError(f"{name} expects a {ndim}-D tensor, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise NonFiniteError(f"{name} got NaN or Inf in its input")
    lo, hi = data_range
    margin = 0.5 * (hi - lo)
    if x.numel() and (x.min() < lo - margin or x.max() > hi + margin):
        warnings.warn(f"{name}: input range [{x.min():.3g}, {x.max():.3g}] lies far outside the training "
                      f"range [{lo}, {hi}]; the learned prox is unreliable there. Rescale the images.",
                      RuntimeWarning, stacklevel=3)


@register_model("lpn")
class LPN(nn.Module):
    """Learned proximal network ``f(y) = grad psi(y)``.

    Input/output: ``(B, C, H, W)`` images for ``kind="conv"``, ``(B, dim)`` vectors for ``kind="dense"``.

    Parameters
    ----------
    kind : "conv" (images) or "dense" (vectors, e.g. the 1-D Laplacian toy).
    in_channels, hidden, layers, kernel : ICNN size (``kernel`` for conv only).
    dim : vector dimension for ``kind="dense"``.
    beta : softplus sharpness; alpha : weight of ``alpha ||x||^2`` in ``psi``.
    padding_mode : border handling of the conv ICNN ("circular" default; see :class:`ConvICNN`).
    strides : strides of the conv ICNN's hidden convs (multiscale with 2s; see :class:`ConvICNN`).
    data_range : value range of the training data; :meth:`denoise` warns well outside it.
    """

    def __init__(self, kind: str = "conv", in_channels: int = 1, hidden: int = 32, layers: int = 4,
                 kernel: int = 3, dim: int = 1, beta: float = 10.0, alpha: float = 0.01,
                 data_range: tuple[float, float] = (0.0, 1.0), padding_mode: str = "circular",
                 strides: tuple[int, ...] | None = None):
        super().__init__()
        if kind == "conv":
            self.psi = ConvICNN(in_channels, hidden, layers, kernel, beta, alpha, padding_mode, strides)
        elif kind == "dense":
            self.psi = DenseICNN(dim, hidden, layers, beta, alpha)
        else:
            raise ValueError(f"kind must be 'conv' or 'dense', got {kind!r}")
        self.kind = kind
        self.data_range = (float(data_range[0]), float(data_range[1]))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """The prox ``grad psi(y)``; differentiable when training or when ``y`` requires grad."""
        if not self.psi.is_convex():  # clamping is the projection; keeps every evaluated psi convex
            self.psi.project_()
        create_graph = torch.is_grad_enabled() and (self.training or y.requires_grad)
        with torch.enable_grad():
            y_in = y if y.requires_grad else y.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.psi(y_in).sum(), y_in, create_graph=create_graph)
        return g if create_graph else g.detach()

    def potential(self, y: torch.Tensor) -> torch.Tensor:
        """``psi(y)`` per sample, shape ``(B,)``."""
        return self.psi(y)

    def denoise(self, y: torch.Tensor, batch: int = 64) -> torch.Tensor:
        """Checked, chunked, no-grad prox for inference (plug-and-play)."""
        _check_input(y, self.data_range, "LPN.denoise", 4 if self.kind == "conv" else 2)
        with torch.no_grad():
            return torch.cat([self(c) for c in y.split(batch)])


@register_model("dncnn")
class DnCNN(nn.Module):
    """Small DnCNN (Zhang et al. 2017): conv-ReLU stack predicting the noise; output ``y - noise``.

    Input/output ``(B, C, H, W)``. ``depth`` conv layers of ``hidden`` channels (BatchNorm omitted:
    small batches on CPU, and PnP wants a fixed map).
    """

    def __init__(self, in_channels: int = 1, hidden: int = 32, depth: int = 6, kernel: int = 3,
                 data_range: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        pad = kernel // 2
        layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden, kernel, padding=pad), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(hidden, hidden, kernel, padding=pad), nn.ReLU()]
        layers.append(nn.Conv2d(hidden, in_channels, kernel, padding=pad))
        self.net = nn.Sequential(*layers)
        self.data_range = (float(data_range[0]), float(data_range[1]))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y - self.net(y)

    def denoise(self, y: torch.Tensor, batch: int = 64) -> torch.Tensor:
        _check_input(y, self.data_range, "DnCNN.denoise", 4)
        with torch.no_grad():
            return torch.cat([self(c) for c in y.split(batch)])
