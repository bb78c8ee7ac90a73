"""Plug-and-play (PnP) solvers around any prox or denoiser, with convergence monitoring.

A *denoiser* is any callable ``D(v: (B, 1, H, W)) -> (B, 1, H, W)``: a learned prox (LPN), the TV
prox, a DnCNN, BM3D or the identity (:func:`make_denoiser` builds them). PnP-ADMM solves

    x = argmin_x 1/2 ||A x - y||^2 + rho/2 ||x - (z - u)||^2   (operator's exact/CG data prox)
    z = D(x + u);   u = u + x - z

and PnP-PGD iterates ``x = D(x - step * A^T (A x - y))``. Both stop when the relative change of the
iterate drops below ``tol``; otherwise they warn (:class:`PnPConvergenceWarning`) or, with
``strict=True``, raise :class:`sciml.errors.ConvergenceError`. NaN/Inf, or an iterate norm above ``blowup`` times the initial one, always raises.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch

from sciml.errors import ConvergenceError
from sciml.inverse.operators import LinearOperator
from sciml.inverse.tv import tv_prox
from sciml.utils.optional import require

Denoiser = Callable[[torch.Tensor], torch.Tensor]


class PnPConvergenceWarning(RuntimeWarning):
    """A PnP solver stopped at ``iters`` without meeting its tolerance."""


@dataclass
class PnPResult:
    x: torch.Tensor                      # (B, 1, H, W) reconstruction
    iterations: int
    converged: bool
    residuals: list[float] = field(default_factory=list)  # max over batch of ||z_k - z_{k-1}|| / ||z_k||


def make_denoiser(kind: str, model=None, weight: float = 0.05, sigma: float = 0.05) -> Denoiser:
    """``kind``: "lpn"/"dncnn"/"model" (``model.denoise``), "tv" (prox of ``weight * TV``),
    "bm3d" (``bm3d`` package at noise std ``sigma``; hard-thresholding stage only, for speed) or "identity"."""
    if kind in ("lpn", "dncnn", "model"):
        if model is None:
            raise ValueError(f"denoiser {kind!r} needs a model")
        return model.denoise if hasattr(model, "denoise") else model
    if kind == "tv":
        return lambda v: tv_prox(v, weight)
    if kind == "identity":
        return lambda v: v
    if kind == "bm3d":
        bm3d = require("bm3d", extra="bench")

        def run(v: torch.Tensor) -> torch.Tensor:
            out = [bm3d.bm3d(im[0].detach().cpu().double().numpy(), sigma_psd=sigma,
                             stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING) for im in v]
            return torch.tensor(__import__("numpy").stack(out), dtype=v.dtype, device=v.device)[:, None]

        return run
    raise ValueError(f"unknown denoiser kind {kind!r}; use lpn, dncnn, model, tv, bm3d or identity")


def _rel_change(new: torch.Tensor, old: torch.Tensor) -> float:
    num = (new - old).flatten(1).norm(dim=1)
    den = new.flatten(1).norm(dim=1).clamp_min(1e-12)
    return float((num / den).max())


def _monitor(res: list[float], k: int, z: torch.Tensor, name: str, blowup: float, scale: float) -> None:
    """Raise on NaN/Inf, or when the iterate's norm exceeds ``blowup`` times the initial guess's."""
    if not torch.isfinite(z).all() or not all(map(lambda r: r == r, res[-1:])):
        raise ConvergenceError(f"{name}: the iterate became NaN/Inf at iteration {k}. Lower the step "
                               "(PGD) or raise rho (ADMM), and check the denoiser on these inputs.")
    norm = float(z.flatten(1).norm(dim=1).max())
    if norm > blowup * max(scale, 1e-12):
        raise ConvergenceError(f"{name}: diverging at iteration {k} (iterate norm {norm:.3g} vs {scale:.3g} "
                               "at the start). Lower the step (PGD) / raise rho (ADMM).")


def _step(out: PnPResult, k: int, new: torch.Tensor, old: torch.Tensor, name: str, blowup: float,
          scale: float, tol: float) -> torch.Tensor:
    """Record iteration ``k`` of either PnP loop in ``out`` (relative change, divergence check,
    convergence flag) and return the accepted iterate ``new``."""
    out.residuals.append(_rel_change(new, old))
    _monitor(out.residuals, k, new, name, blowup, scale)
    out.x, out.iterations = new, k
    out.converged = out.residuals[-1] < tol
    return new


def _finish(res: PnPResult, name: str, tol: float, strict: bool) -> PnPResult:
    if not res.converged:
        msg = (f"{name} did not converge in {res.iterations} iterations (last relative change "
               f"{res.residuals[-1]:.3g} > tol {tol:g}); raise iters or change rho/step.")
        if strict:
            raise ConvergenceError(msg)
        warnings.warn(msg, PnPConvergenceWarning, stacklevel=3)
    return res


def _initial(op: LinearOperator, y: torch.Tensor, x0: torch.Tensor | None, rho: float) -> torch.Tensor:
    op._check(y, op.out_shape(), "measurement y")
    if x0 is not None:
        op._check(x0, op.in_shape, "initial guess x0")
        return x0.clone()
    zeros = torch.zeros(y.shape[0], *op.in_shape, device=y.device, dtype=y.dtype)
    return op.data_prox(zeros, y, rho)


def pnp_admm(op: LinearOperator, y: torch.Tensor, denoiser: Denoiser, rho: float = 0.1, iters: int = 50,
             x0: torch.Tensor | None = None, tol: float = 1e-4, strict: bool = False,
             blowup: float = 1e3, callback: Callable[[int, torch.Tensor], None] | None = None) -> PnPResult:
    """PnP-ADMM; returns the denoised iterate ``z``. ``rho`` weighs the prior step against the data.

    ``callback(k, z)``, if given, sees every accepted iterate (e.g. to score several iteration counts in one run).
    """
    if rho <= 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    z = _initial(op, y, x0, rho)
    scale = float(z.flatten(1).norm(dim=1).max())
    u = torch.zeros_like(z)
    out = PnPResult(z, 0, False)
    for k in range(1, iters + 1):
        x = op.data_prox(z - u, y, rho)
        z_new = denoiser(x + u)
        u = u + x - z_new
        z = _step(out, k, z_new, z, "pnp_admm", blowup, scale, tol)
        if callback is not None:
            callback(k, z)
        if out.converged:
            break
    return _finish(out, "pnp_admm", tol, strict)


def pnp_pgd(op: LinearOperator, y: torch.Tensor, denoiser: Denoiser, step: float = 1.0, iters: int = 100,
            x0: torch.Tensor | None = None, tol: float = 1e-4, strict: bool = False,
            blowup: float = 1e3, callback: Callable[[int, torch.Tensor], None] | None = None) -> PnPResult:
    """PnP proximal gradient: ``x = D(x - step * A^T (A x - y))``; ``step`` <= 1 / ||A||^2 for stability.

    ``callback(k, x)`` as in :func:`pnp_admm`.
    """
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    x = _initial(op, y, x0, 1.0)
    scale = float(x.flatten(1).norm(dim=1).max())
    out = PnPResult(x, 0, False)
    for k in range(1, iters + 1):
        x_new = denoiser(x - step * op._adjoint_op(op._forward_op(x) - y))
        x = _step(out, k, x_new, x, "pnp_pgd", blowup, scale, tol)
        if callback is not None:
            callback(k, x)
        if out.converged:
            break
    return _finish(out, "pnp_pgd", tol, strict)
