"""``ModelErrorDiscovery``: the MEDIDA estimator (increments -> library -> sparse regression)."""
from __future__ import annotations

import numpy as np
import torch

from sciml.discovery.library import EQUATIONS, TERMS, design_matrices, increments, library, lowpass, window_sums
from sciml.discovery.regression import sparse_fit
from sciml.models.medida import equation_text
from sciml.pde.qg import QGModel


class ModelErrorDiscovery:
    """Discover the missing tendency of an imperfect QG ``model`` from states of the true system.

    >>> med = ModelErrorDiscovery(imperfect_model, method="stlsq", threshold=0.05, kcut=0.5)
    >>> med.fit(states)          # (T, ..., 2, ny, nx): consecutive observed or analysed states
    >>> med.report()             # pandas table: equation, term, coefficient, stderr
    >>> fixed = med.corrected_model()

    ``window`` > 1 regresses sums of that many consecutive increments on the summed library
    (:func:`~sciml.discovery.library.window_sums`; for cycled analyses, ADR 0064).
    """

    def __init__(self, model: QGModel, method: str = "stlsq", threshold: float = 0.05, kcut: float | None = None,
                 scale: str = "common", window: int = 1):
        self.model, self.method, self.threshold, self.kcut, self.scale = model, method, threshold, kcut, scale
        self.window = window
        self.terms, self.equations = TERMS, EQUATIONS

    def fit(self, states: torch.Tensor, targets: torch.Tensor | None = None) -> "ModelErrorDiscovery":
        """Fit on consecutive states (T >= 4, ..., 2, ny, nx) spaced by ``model.dt``; ``targets``
        (same shape, optional): observations the one-step forecasts are compared with (see
        :func:`~sciml.discovery.library.increments`)."""
        h, theta = increments(self.model, states.to(self.model.device, self.model.dtype), targets)
        h, theta = lowpass(self.model, h, self.kcut), lowpass(self.model, theta, self.kcut)
        if self.window > 1:
            h, theta = window_sums(h, self.window), window_sums(theta, self.window)
        self.coef_, self.stderr_ = sparse_fit(design_matrices(h, theta), self.method, self.threshold, self.scale)
        self.increment_rms_ = float(h.pow(2).mean().sqrt())
        return self

    def report(self):
        """The discovered equation as a table (one row per selected term); units 1/s^2 per term unit."""
        import pandas as pd
        rows = [{"equation": eq, "term": t, "coefficient": self.coef_[i, j], "stderr": self.stderr_[i, j]}
                for i, eq in enumerate(self.equations) for j, t in enumerate(self.terms) if self.coef_[i, j] != 0]
        return pd.DataFrame(rows, columns=["equation", "term", "coefficient", "stderr"])

    def equation(self) -> str:
        """The discovered missing tendency as text, one line per equation."""
        return equation_text(self.coef_, self.terms, self.equations)

    def correction(self):
        """The discovered tendency as a function ``q (..., 2, ny, nx) -> dq/dt``."""
        coef = torch.as_tensor(self.coef_, dtype=self.model.dtype, device=self.model.device)

        def extra(q: torch.Tensor) -> torch.Tensor:
            th = library(self.model, q)                                   # (..., n_terms, ny, nx)
            return torch.einsum("et,...tyx->...eyx", coef, th)
        return extra

    def corrected_model(self) -> QGModel:
        return self.model.replace(extra_tendency=self.correction())


def score(coef: np.ndarray, true_coef: np.ndarray) -> dict[str, float]:
    """``correct_terms`` (1 if the support equals the true support) and ``coef_rel_err`` (worst
    relative error over the true terms); both NaN if ``coef`` holds a NaN/Inf."""
    if not np.isfinite(coef).all():  # a NaN coefficient is neither zero nor a value: no score
        return {"correct_terms": float("nan"), "coef_rel_err": float("nan")}
    true_support, support = true_coef != 0, coef != 0
    rel = np.abs(coef[true_support] - true_coef[true_support]) / np.abs(true_coef[true_support])
    return {"correct_terms": float(np.array_equal(true_support, support)), "coef_rel_err": float(rel.max())}
