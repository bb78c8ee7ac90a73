"""Cycled analysis of sparse observations: the (imperfect) model carries information across time.

A single snapshot of 25 % of the grid points cannot determine the filtered QG state (ADR 0098);
cycling can. At each observation time the background is the model's one-step forecast from the
previous analyses, ``x_b(t) = M(x_a(t-1), x_a(t-2), x_a(t-3))``; the innovation
``d = y(t) - H x_b(t)`` at the observed points is interpolated onto the grid and added:
``x_a(t) = x_b(t) + Q fill(d)`` (``H`` observes psi or q at the points, ``Q`` maps an interpolated
psi correction to PV). The interpolator is used on the small innovation instead of the full field,
and the points observed at earlier times stay constrained through the forecast (ADR 0064).
``x_a(t+1) - M(x_a(t), ...)`` is then exactly the analysis increment ``Q fill(d(t+1))``, which the
increments of :mod:`sciml.discovery.library` compute from the analyses.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from sciml.discovery.library import histories, stepped_library
from sciml.discovery.regression import sparse_fit
from sciml.pde.qg import QGModel

Fill = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _per_time(mask: torch.Tensor, T: int) -> torch.Tensor:
    """(T, n, n) masks from per-time masks or one fixed (n, n) sensor mask."""
    return mask if mask.dim() == 3 else mask.expand(T, *mask.shape)


def cycled_analysis(models: QGModel | Sequence[QGModel], obs: torch.Tensor, mask: torch.Tensor, fill: Fill,
                    observed: str = "psi") -> tuple[torch.Tensor, torch.Tensor]:
    """Cycle ``models`` over observations ``obs`` (T, 2, n, n) of ``observed`` ("psi" or "q"),
    valid where ``mask`` ((T, n, n), or (n, n) for fixed sensors) is True, one per model step.

    The first three analyses are snapshot interpolations (``Q fill(y)``), which seed the AB3
    history; then ``x_a = x_b + Q fill(y - H x_b)``. Several models (e.g. different imperfect
    models) are cycled side by side so each time's interpolation solve is shared.
    Returns (analyses, backgrounds), each (T, M, 2, n, n) PV (1/s), or (T, 2, n, n) for one model;
    the backgrounds of the first three times are the snapshot analyses.
    """
    if observed not in ("psi", "q"):
        raise ValueError(f"observed must be 'psi' or 'q', got {observed!r}")
    single = isinstance(models, QGModel)
    models = [models] if single else list(models)
    m0 = models[0]
    obs = obs.to(m0.device, m0.dtype)
    masks = _per_time(mask, obs.shape[0])
    n_m = len(models)

    def to_q(p: torch.Tensor) -> torch.Tensor:
        return m0.pv(p) if observed == "psi" else p

    def H(x: torch.Tensor) -> torch.Tensor:
        return m0.psi(x) if observed == "psi" else x

    hist = [to_q(fill(torch.nan_to_num(obs[t]), masks[t])).expand(n_m, *obs.shape[1:]).clone() for t in range(3)]
    analyses, backgrounds = list(hist), list(hist)
    for t in range(3, obs.shape[0]):
        xb = torch.stack([m.step_from_history(torch.stack([hist[-1][i], hist[-2][i], hist[-3][i]]))
                          for i, m in enumerate(models)])                              # (M, 2, n, n)
        d = torch.where(masks[t], torch.nan_to_num(obs[t]) - H(xb), torch.zeros_like(xb))
        xa = xb + to_q(fill(d, masks[t]))
        hist = hist[-2:] + [xa]
        analyses.append(xa)
        backgrounds.append(xb)
    a, b = torch.stack(analyses), torch.stack(backgrounds)
    return (a[:, 0], b[:, 0]) if single else (a, b)


def observation_space_fit(model: QGModel, analyses: torch.Tensor, obs: torch.Tensor, mask: torch.Tensor,
                          observed: str = "psi", method: str = "stlsq", threshold: float = 0.2
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Regression in observation space: ``(y(t+1) - H M(x_a(t), ...)) / dt`` at the observed points
    on ``H`` of the stepped library of the analyses, one joint system for both layer equations
    (``H`` observes psi, a non-local function of both layers' PV tendencies).

    ``analyses`` (T, 2, n, n) consecutive analyses, ``obs`` (T, 2, n, n) observations valid where
    ``mask`` ((T, n, n) or (n, n)) is True. No interpolation of the increments is involved, but
    the forecast error at a point includes whatever the analysis absorbed since that point was
    last observed (ADR 0064). Returns (coef, stderr), each (2, n_terms).
    """
    hist, _ = histories(analyses.to(model.device, model.dtype))
    target = obs[3:].to(hist)
    H = model.psi if observed == "psi" else (lambda x: x)
    h = (target - H(model.step_from_history(hist))) / model.dt                           # (T-3, 2, n, n)
    th = stepped_library(model, hist)                                                    # (T-3, p, n, n)
    z = torch.zeros_like(th)
    cols = torch.cat([H(torch.stack([th, z], 2)), H(torch.stack([z, th], 2))], 1)        # (T-3, 2p, 2, n, n)
    masks = _per_time(mask, obs.shape[0])[3:].to(h.device)
    sel = masks[:, None].expand_as(h)
    coef, err = sparse_fit([(cols.movedim(1, -1)[sel], h[sel])], method, threshold, "common")
    return coef.reshape(2, -1), err.reshape(2, -1)
