"""Candidate-term libraries and analysis increments for the two-layer QG model.

The increment of a one-step forecast from an observed/analysed history is
``h = (q(t+1) - M(q(t), q(t-1), q(t-2))) / dt`` (1/s^2). Because the model steps with filtered
AB3, a missing tendency term ``Theta xi`` shows up in ``h`` as ``filter * AB3(Theta) xi``; the
library is therefore combined with the same AB3 weights and filter (:func:`stepped_library`),
which makes ``h = Theta_ab3 xi`` exact for truth states rather than an O(dt) approximation.
"""
from __future__ import annotations

import math

import torch

# the candidate terms and their spectra are defined beside the correction model that evaluates them
from sciml.models.medida import EQUATIONS, TERMS, library, library_hat  # noqa: F401
from sciml.pde.qg import AB3, QGModel


def stepped_library(model: QGModel, q_hist: torch.Tensor) -> torch.Tensor:
    """``filter * AB3`` combination of the library over a history (3, ..., 2, ny, nx) -> (..., n_terms, ny, nx)."""
    th = library_hat(model, model.fft(q_hist))
    comb = AB3[0] * th[0] + AB3[1] * th[1] + AB3[2] * th[2]
    return model.ifft(model.filtr * comb)


def histories(traj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a trajectory (T, ..., 2, ny, nx) of consecutive states into AB3 histories
    (3, T-3, ...) = (q_t, q_{t-1}, q_{t-2}) and the next states (T-3, ...)."""
    if traj.shape[0] < 4:
        raise ValueError(f"traj needs at least 4 consecutive states, got {traj.shape[0]}")
    hist = torch.stack([traj[2:-1], traj[1:-2], traj[:-3]])
    return hist, traj[3:]


def increments(model: QGModel, traj: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Increments h (T-3, ..., 2, ny, nx) in 1/s^2 and the stepped library (T-3, ..., n_terms, ny, nx).

    ``targets`` (T, ..., 2, ny, nx), optional: what the forecast from ``traj`` is compared with,
    e.g. the observations when ``traj`` is an analysis (h = (q_obs - q_model) / dt, the
    observation-minus-forecast increment). Default: ``traj`` itself. Using the observations avoids
    the Kalman-gain shrinkage of analysis-minus-forecast increments.
    """
    hist, nxt = histories(traj)
    if targets is not None:
        nxt = targets[3:].to(nxt)
    h = (nxt - model.step_from_history(hist)) / model.dt
    return h, stepped_library(model, hist)


def window_sums(f: torch.Tensor, window: int) -> torch.Tensor:
    """Sums of ``window`` consecutive increments (or stepped library terms) along dim 0, in
    non-overlapping windows aligned to the end (the oldest ``len % window`` are dropped):
    (T', ...) -> (T' // window, ...).

    Summed increments keep ``h = Theta xi`` exact (both sides are summed) while the state-error
    part of the increments, ``(e(t+1) - e(t)) / dt`` to leading order, telescopes: its sum over a
    window is ``(e(t+w) - e(t)) / dt``, not w times larger, whereas the model-error signal grows w
    times (ADR 0064). Cycled analyses that correct a point only when it is observed spread the
    signal over the following steps; windows longer than the revisit time gather it back.
    """
    if window < 1 or window > f.shape[0]:
        raise ValueError(f"window must be in [1, {f.shape[0]}], got {window}")
    n = f.shape[0] // window
    return f[f.shape[0] - n * window:].reshape(n, window, *f.shape[1:]).sum(1)


def lowpass(model: QGModel, f: torch.Tensor, kcut: float | None) -> torch.Tensor:
    """Keep the wavenumbers |k| <= ``kcut`` * (nx / 2) of fields (..., ny, nx) (sharp isotropic cut).

    Applied to both h and the library it keeps ``h = Theta xi`` exact, and with ``kcut`` below the
    filter cut-off (0.65) it discards the scales where interpolation and observation errors, and
    the filter's damping of them, dominate the increments.
    """
    if kcut is None or kcut >= math.sqrt(2):
        return f
    kint = torch.sqrt(model.wv2) * model.L / (2 * math.pi)
    keep = (kint <= kcut * model.nx / 2).to(f.dtype)
    return model.ifft(model.fft(f) * keep)


def design_matrices(h: torch.Tensor, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per equation: (X (n_samples, n_terms), y (n_samples,)) flattened over time, batch and space."""
    n_terms = theta.shape[-3]
    X = theta.movedim(-3, -1).reshape(-1, n_terms)
    return [(X, h[..., k, :, :].reshape(-1)) for k in range(h.shape[-3])]
