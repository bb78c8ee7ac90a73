"""Input-convex neural networks (ICNNs), dense and convolutional.

An ICNN ``psi(x)`` is convex in its input because

- every hidden-to-hidden ("path") weight is non-negative,
- activations are convex and non-decreasing (softplus with sharpness ``beta``),
- the input enters every layer through unconstrained affine "skip" maps (affine in x keeps convexity),
- and a strongly convex term ``alpha * ||x||^2`` is added (so ``grad psi`` is invertible).

Convexity is kept by *clamping*: :meth:`project_` sets negative path weights to zero. The learned-
proximal-network code calls it after every optimiser step (see :func:`attach_projection`), and the
LPN wrapper calls it before every forward pass too, so every evaluated ``psi`` is convex.
Path weights start tiny and positive (``exp(N(-10, 0.1))``, as in Fang et al.'s code) so the
first layers start near the affine skip maps.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _init_positive_(w: torch.Tensor, mean: float = -10.0, std: float = 0.1) -> None:
    with torch.no_grad():
        w.copy_(torch.exp(torch.randn_like(w) * std + mean))


class _ICNNBase(nn.Module):
    """Shared clamping/convexity checks; subclasses list their path weights in ``self.path``."""

    path: nn.ModuleList

    def path_weights(self) -> list[torch.Tensor]:
        return [m.weight for m in self.path]

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp every path weight to >= 0 (the projection onto the convex-network set)."""
        for w in self.path_weights():
            w.clamp_(min=0.0)

    def is_convex(self) -> bool:
        # one host sync for all layers (this runs before every LPN forward; a sync per layer stalls a GPU)
        return bool(torch.stack([w.min() for w in self.path_weights()]).min() >= 0)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        return F.softplus(z, beta=self.beta)


class DenseICNN(_ICNNBase):
    """psi: (B, dim) -> (B,), a fully connected ICNN plus ``alpha ||x||^2``.

    Parameters
    ----------
    dim : input dimension.
    hidden : width of each hidden layer.
    layers : number of hidden layers (>= 1).
    beta : softplus sharpness (larger = closer to ReLU).
    alpha : weight of the strongly convex quadratic term.
    """

    def __init__(self, dim: int = 1, hidden: int = 50, layers: int = 4, beta: float = 10.0, alpha: float = 0.0):
        super().__init__()
        if layers < 1 or hidden < 1 or dim < 1:
            raise ValueError(f"dim, hidden and layers must be >= 1, got {dim}, {hidden}, {layers}")
        self.beta, self.alpha = float(beta), float(alpha)
        self.skip = nn.ModuleList([nn.Linear(dim, hidden) for _ in range(layers)] + [nn.Linear(dim, 1)])
        self.path = nn.ModuleList([nn.Linear(hidden, hidden, bias=False) for _ in range(layers - 1)]
                                  + [nn.Linear(hidden, 1, bias=False)])
        for w in self.path_weights():
            _init_positive_(w, mean=-3.0 if w.shape[0] == 1 else -10.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.act(self.skip[0](x))
        for k, lin in enumerate(self.path[:-1]):
            z = self.act(lin(z) + self.skip[k + 1](x))
        out = self.path[-1](z) + self.skip[-1](x)
        return out.squeeze(-1) + self.alpha * x.pow(2).sum(-1)


class ConvICNN(_ICNNBase):
    """psi: (B, C, H, W) -> (B,), a convolutional ICNN plus ``alpha ||x||^2``.

    Hidden maps keep the image size (padding ``kernel // 2``); the last layer is a non-negative 1x1
    convolution to one channel summed over pixels, so ``psi`` is a sum of convex local terms and
    works on any image size. Weights are for images scaled to about [0, 1].

    Padding is ``"circular"`` by default. With zero padding the border pixels see a dark frame, and
    a trained LPN's error on the first row was ~8x its interior error (0.13 vs 0.015 mean abs);
    PnP with a periodic (FFT) data step then spreads it inwards. Circular padding makes ``psi`` a sum
    of identical local terms on the torus, so every pixel is treated alike (reflect padding counts
    near-border pixels twice). Any of these paddings copies entries linearly, so a non-negative conv
    after it is still non-negative and ``psi`` stays convex.

    Parameters
    ----------
    in_channels : image channels.
    hidden : channels of each hidden map.
    layers : number of hidden conv layers (>= 1).
    kernel : odd kernel size of the convolutions.
    beta : softplus sharpness.
    alpha : weight of the quadratic term.
    padding_mode : "circular" (default), "reflect", "replicate" or "zeros".
    strides : stride of each hidden-to-hidden conv (``layers - 1`` entries; default all 1). With 2s the
        network is multiscale, as the official image LPNs (stride 1 / 2 alternating): each skip map then
        sees the input bilinearly resized to its layer's grid (linear in x, so convexity holds) and the
        coarse terms of ``psi`` see large windows (three 2s: 8x coarser).
    """

    def __init__(self, in_channels: int = 1, hidden: int = 32, layers: int = 4, kernel: int = 3,
                 beta: float = 10.0, alpha: float = 0.01, padding_mode: str = "circular",
                 strides: tuple[int, ...] | None = None):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd (same-size maps), got {kernel}")
        if layers < 1 or hidden < 1:
            raise ValueError(f"hidden and layers must be >= 1, got {hidden}, {layers}")
        self.strides = tuple(strides) if strides is not None else (1,) * (layers - 1)
        if len(self.strides) != layers - 1 or any(s not in (1, 2) for s in self.strides):
            raise ValueError(f"strides needs layers - 1 = {layers - 1} entries of 1 or 2, got {strides}")
        self.beta, self.alpha = float(beta), float(alpha)
        pad, mode = kernel // 2, padding_mode
        self.skip = nn.ModuleList([nn.Conv2d(in_channels, hidden, kernel, padding=pad, padding_mode=mode)
                                   for _ in range(layers)])
        self.path = nn.ModuleList([nn.Conv2d(hidden, hidden, kernel, stride=s, padding=pad, bias=False,
                                             padding_mode=mode) for s in self.strides]
                                  + [nn.Conv2d(hidden, 1, 1, bias=False)])
        self.skip_out = nn.Conv2d(in_channels, 1, 1)
        for w in self.path_weights()[:-1]:
            _init_positive_(w)
        with torch.no_grad():  # output layer: a small positive average of the last hidden map
            self.path[-1].weight.fill_(1.0 / hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"ConvICNN expects (B, C, H, W), got shape {tuple(x.shape)}")
        z = self.act(self.skip[0](x))
        for k, conv in enumerate(self.path[:-1]):
            z = conv(z)
            xs = x if z.shape[-2:] == x.shape[-2:] else F.interpolate(x, size=z.shape[-2:], mode="bilinear")
            z = self.act(z + self.skip[k + 1](xs))
        if z.shape[-2:] == x.shape[-2:]:
            out = (self.path[-1](z) + self.skip_out(x)).sum(dim=(1, 2, 3))
        else:  # multiscale: the coarse terms and the fine output skip are summed on their own grids
            out = self.path[-1](z).sum(dim=(1, 2, 3)) + self.skip_out(x).sum(dim=(1, 2, 3))
        return out + self.alpha * x.pow(2).sum(dim=(1, 2, 3))


def attach_projection(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Clamp ``model``'s ICNN path weights after every ``optimizer.step()`` (keeps convexity)."""
    icnns = [m for m in model.modules() if isinstance(m, _ICNNBase)]

    def hook(*_args, **_kwargs):
        for m in icnns:
            m.project_()

    optimizer.register_step_post_hook(hook)
