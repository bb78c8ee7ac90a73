"""The MEDIDA correction model: the missing tendency of an imperfect two-layer QG model, as discovered.

MEDIDA (:mod:`sciml.discovery`) writes the structural error of a QG model as a sparse combination of
candidate terms (:data:`TERMS`, the same for both layer equations :data:`EQUATIONS`). The
``medida_correction`` model holds the discovered coefficients (2 equations x 12 terms, physical units)
and the parameters of the imperfect QG model they correct, so a checkpoint rebuilds the corrected
model alone: ``load_model(path).corrected_model()``.

The candidate library lives here, below the discovery method that fits it, because evaluating the
correction needs exactly the terms the regression used.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.pde.qg import QGModel

TERMS = ("psi1", "psi2", "lap_psi1", "lap_psi2", "lap2_psi1", "lap2_psi2",
         "dx_psi1", "dx_psi2", "dx_q1", "dx_q2", "J(psi1,q1)", "J(psi2,q2)")
EQUATIONS = ("q1_t", "q2_t")


def library_hat(model: QGModel, qh: torch.Tensor) -> torch.Tensor:
    """Spectra of the candidate terms of :data:`TERMS`: (..., n_terms, ny, nk) from ``qh`` (..., 2, ny, nk).

    The same terms serve both layer equations. ``q_k`` itself is left out: it is an exact linear
    combination of ``lap_psi_k``, ``psi1`` and ``psi2``. Jacobians are computed exactly as the
    model computes them (same dealiasing), spectrally.
    """
    ph = model.invert(qh)
    jh = model.jacobian_hat(ph, qh)
    lap = -model.wv2 * ph
    cols = [ph[..., 0, :, :], ph[..., 1, :, :], lap[..., 0, :, :], lap[..., 1, :, :],
            -model.wv2 * lap[..., 0, :, :], -model.wv2 * lap[..., 1, :, :],
            model.ik * ph[..., 0, :, :], model.ik * ph[..., 1, :, :],
            model.ik * qh[..., 0, :, :], model.ik * qh[..., 1, :, :], jh[..., 0, :, :], jh[..., 1, :, :]]
    return torch.stack(cols, dim=-3)


def library(model: QGModel, q: torch.Tensor) -> torch.Tensor:
    """Candidate terms in physical space: (..., n_terms, ny, nx) from ``q`` (..., 2, ny, nx)."""
    return model.ifft(library_hat(model, model.fft(q)))


def equation_text(coef, terms=TERMS, equations=EQUATIONS) -> str:
    """The discovered missing tendency as text, one line per equation (``0`` when no term is selected)."""
    parts = []
    for i, eq in enumerate(equations):
        rhs = " ".join(f"{float(c):+.4g} {t}" for c, t in zip(coef[i], terms) if c != 0) or "0"
        parts.append(f"{eq} (missing) = {rhs}")
    return "\n".join(parts)


@register_model("medida_correction")
class MedidaCorrection(nn.Module):
    """``q (..., 2, ny, nx) [1/s] -> the missing PV tendency (..., 2, ny, nx) [1/s^2]``:
    ``coef (2, n_terms) . library(q)``, on the grid of the imperfect QG model ``QGModel(nx, **qg)``.

    ``coef`` (a float64 buffer, physical units: 1/s^2 per unit of each term) starts at zero and is
    set by the discovery (``load_coefficients``); ``qg`` are the imperfect model's constructor
    arguments that differ from the pyqg defaults (e.g. ``{"rek": 0.0}``).
    """

    def __init__(self, nx: int = 64, qg: dict[str, Any] | None = None):
        super().__init__()
        self.qg = dict(qg or {})
        self.model = QGModel(nx=nx, **self.qg)
        self.register_buffer("coef", torch.zeros(len(EQUATIONS), len(TERMS), dtype=torch.float64))

    def load_coefficients(self, coef) -> "MedidaCorrection":
        """Set the discovered coefficients (2, n_terms) in physical units; returns the model."""
        with torch.no_grad():
            self.coef.copy_(torch.as_tensor(coef, dtype=torch.float64))
        return self

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        th = library(self.model, q)                                       # (..., n_terms, ny, nx)
        return torch.einsum("et,...tyx->...eyx", self.coef.to(th), th)

    def corrected_model(self) -> QGModel:
        """The imperfect QG model with the discovered terms added to its tendency."""
        return self.model.replace(extra_tendency=self)

    def equation(self) -> str:
        return equation_text(self.coef.cpu().numpy())
