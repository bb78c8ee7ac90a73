"""The derivative bundle a residual reads: ``Jet(u, du, ddu)``, from autograd or closed form.

Every problem writes its residual once, against a :class:`Jet`. The jet comes either from
``model.jet(x)`` (closed-form forward-mode, fast) or from :func:`autograd_jet` on any
function ``x -> u`` (exact solutions in tests, models without a ``jet`` method).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Jet:
    """u (P,), du (P, d) first derivatives, ddu (P, d) pure second derivatives (or None)."""

    u: torch.Tensor
    du: torch.Tensor
    ddu: torch.Tensor | None = None

    def d(self, k: int) -> torch.Tensor:
        return self.du[:, k]

    def dd(self, k: int) -> torch.Tensor:
        if self.ddu is None:
            raise ValueError("second derivatives were not computed (order=1)")
        return self.ddu[:, k]


def autograd_jet(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, order: int = 2,
                 create_graph: bool = True) -> Jet:
    """Jet of a scalar field ``fn: (P, d) -> (P,)`` or ``(P, 1)`` by nested torch autograd."""
    x = x.detach().requires_grad_(True)
    u = fn(x).reshape(-1)
    du = torch.autograd.grad(u.sum(), x, create_graph=True, materialize_grads=True)[0]
    ddu = None
    if order >= 2:
        cols = [torch.autograd.grad(du[:, k].sum(), x, create_graph=create_graph,
                                    materialize_grads=True)[0][:, k] for k in range(x.shape[1])]
        ddu = torch.stack(cols, dim=1)
    if not create_graph:
        u, du = u.detach(), du.detach()
        ddu = ddu.detach() if ddu is not None else None
    return Jet(u, du, ddu)


def model_jet(model: torch.nn.Module, x: torch.Tensor, order: int = 2) -> Jet:
    """Jet of a model: its closed-form ``jet`` when it has one, autograd otherwise."""
    if hasattr(model, "jet"):
        u, du, ddu = model.jet(x, order=order)
        return Jet(u, du, ddu)
    return autograd_jet(model, x, order=order)
