"""Flexible preconditioned CG in torch (float64, any device), the outer loop of the grid solvers.

Flexible (Polak-Ribiere) beta, ``beta = z_k^T (r_k - r_{k-1}) / z_{k-1}^T r_{k-1}``, so a
preconditioner that is not exactly linear or symmetric (a float32 V-cycle, a network) still gives
a monotone energy-norm descent; for an exact SPD preconditioner it equals standard PCG. Since
``r_k - r_{k-1} = -alpha A p``, it is computed as ``beta = -z_k^T A p / p^T A p``: the new
direction is ``z_k`` made A-orthogonal to ``p``, with no copy of the old residual.
"""
from __future__ import annotations

from typing import Callable

import torch

from sciml.linalg.checks import Monitor


@torch.no_grad()
def flexible_pcg(apply_A: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor,
                 M: Callable[[torch.Tensor], torch.Tensor] | None, rtol: float, atol: float, maxiter: int,
                 x0: torch.Tensor | None = None, callback: Callable | None = None, history: list | None = None,
                 name: str = "pcg", window: int = 50) -> tuple[torch.Tensor, int]:
    """Solve ``A x = b`` (flat float64 tensors); returns ``(x, info)`` with scipy's ``info``.

    ``callback(x)`` gets the iterate as a numpy array after each iteration. Stops on the tolerance
    ``max(rtol ||b||, atol)``, ``maxiter``, stagnation over ``window`` iterations, or a breakdown
    (``p^T A p <= 0`` or ``z^T r <= 0``: A or M not positive definite); see
    :class:`~sciml.linalg.checks.Monitor`.
    """
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    bnorm = float(b.norm())
    if bnorm == 0.0:  # scipy: the solution of A x = 0 is 0
        return torch.zeros_like(b), 0
    r = b - apply_A(x) if x0 is not None else b.clone()
    mon = Monitor(bnorm, rtol, atol, window, name, history)
    if mon.start(float(r.norm())) or maxiter == 0:
        return x, mon.info(maxiter)
    z = M(r) if M else r.clone()
    rz = float(r @ z)
    p = z.clone()
    for _ in range(maxiter):
        if not rz > 0:
            mon.breakdown(f"r^T M^-1 r = {rz:.3g} <= 0 (the preconditioner is not positive definite)")
            break
        Ap = apply_A(p)
        pAp = float(p @ Ap)
        if not pAp > 0:
            mon.breakdown(f"p^T A p = {pAp:.3g} <= 0 (A is not positive definite)")
            break
        alpha = rz / pAp
        x.add_(p, alpha=alpha)
        r.add_(Ap, alpha=-alpha)
        if callback is not None:
            callback(x.cpu().numpy())
        if mon.update(float(r.norm())):
            break
        z = M(r) if M else r.clone()
        rz = float(r @ z)
        beta = -float(z @ Ap) / pAp
        p = torch.add(z, p, alpha=beta, out=p)
    return x, mon.info(maxiter)
