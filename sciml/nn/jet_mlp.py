"""An MLP that pushes a 2-jet (value, first and pure second derivatives) forward in closed form.

PINN residuals need u, grad u and the diagonal of the Hessian with respect to the input
coordinates. Given the features ``h`` and their derivatives ``dh``, ``ddh`` (from any
embedding), a tanh MLP propagates them layer by layer:

    z = W a + b,  z_k = W a_k,  z_kk = W a_kk
    a' = tanh z,  a'_k = s z_k,  a'_kk = s z_kk - 2 t s z_k^2      (t = tanh z, s = 1 - t^2)

This is forward-mode differentiation written out, so the parameter gradient needs only
first-order autograd (cheaper than autograd-of-autograd on the CPU; see docs/adr/0081).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class JetMLP(nn.Module):
    """tanh MLP ``in_dim -> hidden... -> out_dim`` with a closed-form :meth:`jet`.

    ``hidden`` is a list of widths (may be empty: a linear map).
    """

    def __init__(self, in_dim: int, hidden: list[int], out_dim: int = 1):
        super().__init__()
        sizes = [in_dim, *hidden, out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for lin in self.layers:  # Glorot for tanh nets, as in PINN practice
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for i, lin in enumerate(self.layers):
            h = lin(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h

    def jet(self, h: torch.Tensor, dh: torch.Tensor, ddh: torch.Tensor | None):
        """h (P, F), dh (P, F, d), ddh (P, F, d) or None -> u (P, O), du (P, O, d), ddu (P, O, d)."""
        for i, lin in enumerate(self.layers):
            w = lin.weight
            h = lin(h)
            dh = torch.einsum("of,pfd->pod", w, dh)
            if ddh is not None:
                ddh = torch.einsum("of,pfd->pod", w, ddh)
            if i < len(self.layers) - 1:
                t = torch.tanh(h)
                s = (1 - t * t).unsqueeze(-1)
                if ddh is not None:
                    ddh = s * ddh - 2 * t.unsqueeze(-1) * s * dh * dh
                dh = s * dh
                h = t
        return h, dh, ddh
