"""PIG: Physics-Informed Gaussians (Kang, Oh, Hong, Park, ICLR 2025), registered as ``pig``.

u(x) = MLP(FE(x)) with FE the trainable Gaussian embedding of :mod:`sciml.nn.gaussian_embedding`
(C channels, each with its own N Gaussians) and a small tanh MLP (C -> 16 -> 1 in the paper).
Inputs are rescaled to [-1, 1]^d, so ``sigma0`` is in those units (the paper rescales to [0, 2],
same width). The Gaussians move and reshape during training: an adaptive mesh.
"""
from __future__ import annotations

import torch

from sciml.models import register_model
from sciml.models.pinn import BoxModel
from sciml.nn.gaussian_embedding import GaussianEmbedding
from sciml.nn.jet_mlp import JetMLP


@register_model("pig")
class PIG(BoxModel):
    """Physics-informed Gaussians.

    Parameters
    ----------
    lower, upper : the physical box (length d each).
    n_gaussians : Gaussians per channel (N).
    channels : feature channels (C = 4 in the paper).
    hidden : MLP hidden widths ([16] in the paper).
    sigma0, sigma_floor, full_cov, truncate_k, learn_means : see GaussianEmbedding.
    seed : initialisation seed of the Gaussians.
    """

    def __init__(self, lower: list[float], upper: list[float], n_gaussians: int = 100, channels: int = 4,
                 hidden: list[int] | None = None, sigma0: float = 0.1, sigma_floor: float = 1e-3,
                 full_cov: bool = False, truncate_k: int | None = None, learn_means: bool = True,
                 seed: int = 0):
        super().__init__(lower, upper)
        gen = torch.Generator().manual_seed(seed)
        self.embed = GaussianEmbedding(self.in_dim, n_gaussians, channels, sigma0, sigma_floor, full_cov,
                                       truncate_k, learn_means, generator=gen)
        self.head = JetMLP(channels, [16] if hidden is None else list(hidden), 1)

    def features(self, z, order):
        return self.embed.jet(z, order)

    def gaussian_centres(self) -> torch.Tensor:
        """(C * N, d) means in physical coordinates (for pictures of where the Gaussians went)."""
        return (self.embed.means.detach().reshape(-1, self.in_dim) * self.halfwidth + self.center)
