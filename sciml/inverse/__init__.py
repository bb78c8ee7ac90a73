"""Imaging inverse problems: forward operators, plug-and-play solvers, TV prox, learned-prox priors."""
from sciml.inverse.matching import DenoisingObjective, gamma_schedule, proximal_matching_loss
from sciml.inverse.operators import CompressedSensing, GaussianBlur, Inpainting, LinearOperator, Radon
from sciml.inverse.pnp import PnPConvergenceWarning, PnPResult, make_denoiser, pnp_admm, pnp_pgd
from sciml.inverse.pretrained import pretrained, pretrained_provenance
from sciml.inverse.prior import invert_prox, prior_value
from sciml.inverse.tv import total_variation, tv_prox

__all__ = ["CompressedSensing", "GaussianBlur", "Inpainting", "LinearOperator", "Radon", "DenoisingObjective",
           "gamma_schedule", "proximal_matching_loss", "PnPConvergenceWarning", "PnPResult", "make_denoiser",
           "pnp_admm", "pnp_pgd", "pretrained", "pretrained_provenance", "invert_prox", "prior_value", "total_variation", "tv_prox"]
