"""MEDIDA on two-layer QG turbulence, step by step: truth, observations, state estimate, discovery, scores.

The experiment (the ``medida`` recipe, :mod:`sciml.discovery.recipe`) injects a structural error into
the pyqg-default QG model (:data:`ERRORS`), observes the truth, estimates the states from the
observations, and discovers the missing tendency from the imperfect model's increments:

1. :func:`truth_window`: the true PV states (T, 2, n, n) [1/s] after a cached spin-up
   (:func:`cached_spin_up`), plus the states before them that a cycled analysis also observes.
2. :func:`observe_truth`: full states, full states with relative noise, or sparse point
   observations of psi or q from fixed or moving sensors (NaN where unobserved).
3. :func:`estimate_states`: the observations themselves (``direct``), the stochastic EnKF
   (:func:`enkf_states`), a snapshot interpolator (:func:`interpolate_snapshots`) or a cycled
   analysis with the imperfect model (:func:`cycled_states`).
4. :func:`discover`: sparse regression of the increments (or of the innovations in observation
   space) on the candidate library: the coefficients (2, n_terms) in 1/s^2 per unit of each term.
5. :func:`estimate_diagnostics` / :func:`cycle_errors`: where the signal is lost; :func:`score`
   and :func:`forecast_errors`: how good the discovered correction is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sciml.discovery.cycled import cycled_analysis, observation_space_fit
from sciml.discovery.enkf import StochasticEnKF
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import (CubicFill, RidgeFill, rff_interpolate, rff_ridge_interpolate,
                                         rff_select_sigma, scipy_interpolate, spectral_interpolate)
from sciml.discovery.library import TERMS, increments, lowpass
from sciml.discovery.observe import observe
from sciml.errors import ConfigError
from sciml.pde.qg import QGModel, spin_up
from sciml.train.checkpoint import load_tensors, save_tensors
from sciml.train.metrics import rel_l2

__all__ = ["ERRORS", "CHECKPOINTS", "TruthWindow", "imperfect_model", "true_coefficients", "cached_spin_up",
           "truth_window", "truth_and_future", "observe_truth", "estimate_states", "enkf_states",
           "interpolate_snapshots", "cycled_states", "discover", "estimate_diagnostics", "cycle_errors", "score",
           "forecast", "forecast_errors", "rel"]

# the injected structural errors: changes to the pyqg-default QG model (rek in 1/s, beta in 1/(m s))
ERRORS = {"drag2x": {"rek": 2 * 5.787e-7}, "drag0": {"rek": 0.0}, "nobeta": {"beta": 0.0},
          "jac": {"jacobian_scale": 0.9}}
# the trained RFF-MLP interpolator's settings (:func:`~sciml.discovery.interpolate.rff_interpolate`)
MLP = {"steps": 1000, "lr": 2e-3, "width": 256, "depth": 2, "n_freq": 128, "sigma": 8.0}
CHECKPOINTS = (0, 5, 10, 20, 40, 70, 100)  # cycles at which a cycled analysis' error is reported (and the last)


@dataclass
class TruthWindow:
    """The true trajectory a run observes: ``pre`` (P, 2, n, n) then ``states`` (T, 2, n, n), PV in 1/s.

    ``states`` is the regression window; ``pre`` the states before it (P = 0 unless a cycled analysis
    spins up on them). ``restart_mismatch``: relative difference between the step after ``pre`` and
    ``states[0]`` (round-off: the two come from spin-ups of different lengths)."""

    pre: torch.Tensor
    states: torch.Tensor
    restart_mismatch: float = 0.0

    @property
    def all(self) -> torch.Tensor:
        """``pre`` and ``states`` in time order (P + T, 2, n, n)."""
        return torch.cat([self.pre, self.states]) if len(self.pre) else self.states


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| over all values (NaN if either holds a NaN/Inf): :func:`sciml.train.metrics.rel_l2`."""
    return float(rel_l2(a.reshape(1, -1), b.reshape(1, -1))[0])


def imperfect_model(truth: QGModel, error: str) -> QGModel:
    """``truth`` with the structural error ``error`` (a key of :data:`ERRORS`) injected."""
    if error not in ERRORS:
        raise ConfigError(f"unknown MEDIDA error model {error!r}; choose one of {', '.join(ERRORS)}")
    return truth.replace(**ERRORS[error])


def true_coefficients(truth: QGModel, error: str) -> np.ndarray:
    """The missing tendency (truth minus imperfect model) on the library :data:`TERMS`, per layer
    equation: (2, n_terms) in 1/s^2 per unit of each term."""
    c = np.zeros((2, len(TERMS)))
    ix = TERMS.index
    if error == "drag2x":
        c[1, ix("lap_psi2")] = truth.rek               # model drag -2 rek lap psi2, truth -rek lap psi2
    elif error == "drag0":
        c[1, ix("lap_psi2")] = -truth.rek
    elif error == "nobeta":
        c[0, ix("dx_psi1")], c[1, ix("dx_psi2")] = -truth.beta, -truth.beta
    elif error == "jac":
        c[0, ix("J(psi1,q1)")], c[1, ix("J(psi2,q2)")] = -0.1, -0.1
    else:
        raise ConfigError(f"unknown MEDIDA error model {error!r}; choose one of {', '.join(ERRORS)}")
    return c


def cached_spin_up(truth: QGModel, steps: int, seed: int = 0) -> tuple[torch.Tensor, list]:
    """:func:`~sciml.pde.qg.spin_up` of ``truth`` for ``steps`` steps from ``seed``'s random state:
    (state (1, 2, n, n), AB3 history), cached in ``$SCIML_CACHE`` (default ``~/.cache/sciml``) per grid
    size, step count and seed (the pyqg-default parameters are the only truth used here)."""
    root = Path(os.environ.get("SCIML_CACHE", Path.home() / ".cache" / "sciml"))
    cache = root / f"medida_qg{truth.nx}_{steps}" / f"seed{seed}.pt"
    if cache.exists():
        q0, hist = load_tensors(cache, what="spin-up cache")
        return q0, list(hist)
    q0, hist = spin_up(truth, steps, seed=seed)
    save_tensors((q0, hist), cache)
    return q0, hist


def truth_and_future(truth: QGModel, spinup: int, n_states: int, n_future: int, seed: int = 0
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n_states`` true states after a ``spinup``-step spin-up and the ``n_future`` that follow
    them: ((n_states, 2, n, n), (n_future, 2, n, n)) PV in 1/s."""
    q0, hist = cached_spin_up(truth, spinup, seed)
    traj, _ = truth.run(q0, n_states + n_future, history=hist)
    return traj[:n_states, 0], traj[n_states:, 0]


def truth_window(truth: QGModel, spinup: int, n_states: int, n_pre: int = 0, seed: int = 0) -> TruthWindow:
    """The regression window (``n_states`` states after a ``spinup``-step spin-up) and the ``n_pre``
    states before it (from a spin-up ``n_pre`` steps shorter, continued)."""
    states, _ = truth_and_future(truth, spinup, n_states, 0, seed)
    if n_pre == 0:
        return TruthWindow(states[:0], states)
    if n_pre > spinup:
        raise ConfigError(f"cycle_pre ({n_pre}) must not exceed spinup ({spinup}): the cycle starts after the spin-up")
    q, hist = cached_spin_up(truth, spinup - n_pre, seed)
    traj, _ = truth.run(q, n_pre + 1, history=hist)
    return TruthWindow(traj[:-1, 0], states, rel(traj[-1, 0], states[0]))


def observe_truth(truth: QGModel, window: TruthWindow, kind: str, density: float = 1.0, observed: str = "psi",
                  sensors: str = "fixed", noise: float = 1e-3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Observations of ``window.all``: (values (T, 2, n, n) with NaN where unobserved, mask (T, 2, n, n)).

    ``kind``: ``full`` (the PV states), ``noisy`` (PV plus Gaussian noise of ``noise`` x each field's
    RMS, seed ``seed + 1``) or ``sparse`` (``observed`` = ``psi`` [m^2/s] or ``q`` at a random
    ``density`` of the points, the same for both layers, seed ``seed + 2``; ``sensors`` ``fixed``: one
    mask for all times, ``moving``: a new mask at every time).
    """
    q = window.all
    if kind == "full":
        return q.clone(), torch.ones_like(q, dtype=torch.bool)
    if kind == "noisy":
        return observe(q, 1.0, noise, seed=seed + 1)
    if kind != "sparse":
        raise ConfigError(f"observations must be full, noisy or sparse, got {kind!r}")
    if observed not in ("psi", "q") or sensors not in ("fixed", "moving"):
        raise ConfigError(f"sparse observations need observed = psi or q and sensors = fixed or moving, "
                          f"got {observed!r} and {sensors!r}")
    field = truth.psi(q) if observed == "psi" else q
    return observe(field, density, 0.0, seed=seed + 2, fixed=sensors == "fixed")


@dataclass(frozen=True)
class EstimateSettings:
    """How :func:`estimate_states` turns observations into PV states.

    ``method``: ``direct`` (the observations are the states: full or noisy PV), ``enkf`` (stochastic
    EnKF with the imperfect model: ``members``, ``inflation``, localisation radius ``loc_radius`` in
    grid points, observation error ``noise`` x the true RMS of each layer), ``interpolate`` (each
    snapshot on its own with ``interpolator``) or ``cycled`` (the imperfect model's forecast
    corrected by the ``interpolator``-filled innovations, ADR 0064). ``interpolator``: ``rff`` (ridge
    readout on ``rff_features`` Gaussian random Fourier features; snapshots: scale chosen among
    ``rff_sigmas`` by cross-validation on the first state's observed points, cycled: ``cycle_sigma``),
    ``rff_mlp`` (the trained RFF-MLP, ``mlp`` = its ``rff_interpolate`` arguments; snapshots only),
    ``cubic`` (periodic Clough-Tocher) or ``spectral`` (band-limited least squares; snapshots only).
    ``observed``: what the sparse sensors measure (``psi``: PV is computed from the filled psi).
    """

    method: str = "cycled"
    interpolator: str = "rff"
    observed: str = "psi"
    noise: float = 1e-3
    members: int = 16
    inflation: float = 10.0
    loc_radius: float = 1.0
    rff_sigmas: tuple[float, ...] = (4.0, 5.0, 6.0, 7.0, 8.0)
    rff_features: int = 2 ** 20
    rff_ridge: float = 1e-6
    cycle_sigma: float = 6.0
    mlp: dict[str, int | float] = field(default_factory=lambda: dict(MLP))
    device: str = "cpu"
    seed: int = 0


def estimate_states(truth: QGModel, model: QGModel, window: TruthWindow, values: torch.Tensor, mask: torch.Tensor,
                    how: EstimateSettings) -> tuple[torch.Tensor, dict[str, float]]:
    """PV estimates (P + T, 2, n, n) [1/s] of ``window.all`` from its observations ``values`` / ``mask``
    (:func:`observe_truth`), and facts about the estimate (``rff_sigma``: the scale cross-validation
    chose, for a snapshot ``rff``). ``model`` is the imperfect model the EnKF and the cycle run."""
    if how.method == "direct":
        if not bool(mask.all()):
            raise ConfigError("estimate 'direct' uses the observations as states; it needs full (or noisy) "
                              "observations, not sparse ones")
        return values, {}
    if how.method == "enkf":
        obs_std = how.noise * window.all.pow(2).mean((0, 2, 3)).sqrt()   # the observation error std per layer
        return enkf_states(model, values, obs_std, how), {}
    if how.method == "interpolate":
        filled, info = interpolate_snapshots(values.nan_to_num(), mask[:, 0], how)
        return (truth.pv(filled) if how.observed == "psi" else filled), info
    if how.method == "cycled":
        return cycled_states(model, values, mask, how), {}
    raise ConfigError(f"estimate must be direct, enkf, interpolate or cycled, got {how.method!r}")


def enkf_states(model: QGModel, values: torch.Tensor, obs_std: torch.Tensor, how: EstimateSettings) -> torch.Tensor:
    """Analysis means (T, 2, n, n) of the stochastic EnKF (:class:`~sciml.discovery.enkf.StochasticEnKF`)
    cycling ``model`` over PV observations ``values`` (T, 2, n, n; NaN = missing) with error std
    ``obs_std`` (2,) [1/s]."""
    enkf = StochasticEnKF(model, how.members, loc_radius=how.loc_radius, inflation=how.inflation, seed=how.seed)
    return enkf.run(values, obs_std)[0]


def interpolate_snapshots(values: torch.Tensor, mask: torch.Tensor, how: EstimateSettings
                          ) -> tuple[torch.Tensor, dict[str, float]]:
    """Fill each snapshot of ``values`` (T, 2, n, n; zeros where unobserved) from the points where
    ``mask`` (T, n, n) is True with ``how.interpolator``; returns (fields (T, 2, n, n), facts).

    ``rff`` picks its scale by cross-validation on the first state's observed points (both layers)
    and fits every state with it (``facts["rff_sigma"]``)."""
    if how.interpolator == "rff":
        n = mask.shape[-1]
        idx = torch.nonzero(mask[0].reshape(-1)).squeeze(1)
        first = values[0].reshape(-1, n * n)[:, idx].T                      # (points, 2)
        sigma = rff_select_sigma(first, idx, n, how.rff_sigmas, how.rff_features, how.rff_ridge, how.seed)
        return rff_ridge_interpolate(values, mask, sigma, how.rff_features, how.rff_ridge, how.seed), {"rff_sigma": sigma}
    if how.interpolator == "rff_mlp":
        return rff_interpolate(values, mask, seed=how.seed, device=how.device, **dict(how.mlp)), {}
    if how.interpolator == "spectral":
        return spectral_interpolate(values, mask), {}
    if how.interpolator == "cubic":
        return scipy_interpolate(values, mask, "cubic"), {}
    raise ConfigError(f"interpolator must be rff, rff_mlp, cubic or spectral, got {how.interpolator!r}")


def cycled_states(model: QGModel, values: torch.Tensor, mask: torch.Tensor, how: EstimateSettings) -> torch.Tensor:
    """Cycled analyses (T, 2, n, n) [1/s] of ``model`` over sparse observations ``values`` (T, 2, n, n) of
    ``how.observed`` (:func:`~sciml.discovery.cycled.cycled_analysis`); the innovations are filled by
    the ridge RFF model of scale ``how.cycle_sigma`` (``rff``) or periodic cubic interpolation."""
    if how.interpolator == "rff":
        fill = RidgeFill(model.nx, how.cycle_sigma, how.rff_features, how.rff_ridge, how.seed)
    elif how.interpolator == "cubic":
        fill = CubicFill()
    else:
        raise ConfigError(f"a cycled analysis fills its innovations with rff or cubic, got {how.interpolator!r}")
    return cycled_analysis(model, values, mask[:, 0], fill, observed=how.observed)[0]


def discover(model: QGModel, states: torch.Tensor, threshold: float = 0.2, kcut: float | None = 0.5,
             scale: str = "equation", window: int = 1, regression: str = "increments",
             values: torch.Tensor | None = None, mask: torch.Tensor | None = None, observed: str = "psi"
             ) -> np.ndarray:
    """The missing tendency of ``model`` found from consecutive estimated states (T, 2, n, n): coefficients
    (2, n_terms) in 1/s^2 per unit of each term of :data:`TERMS`.

    ``regression``: ``increments`` (:class:`~sciml.discovery.estimator.ModelErrorDiscovery`: STLSQ with
    ``threshold`` on ``scale``-scaled increments and library, low-passed to |k| <= ``kcut`` x Nyquist,
    summed over ``window`` steps) or ``observation_space`` (the innovations at the observed points,
    ``values`` / ``mask`` (T, 2, n, n) of ``observed``, regressed on the observed library:
    :func:`~sciml.discovery.cycled.observation_space_fit`)."""
    if regression == "increments":
        med = ModelErrorDiscovery(model, threshold=threshold, kcut=kcut, scale=scale, window=window)
        return med.fit(states).coef_
    if regression == "observation_space":
        if values is None or mask is None:
            raise ConfigError("observation-space regression needs the observations (values and mask)")
        return observation_space_fit(model, states, values, mask[:, 0], observed, "stlsq", threshold)[0]
    raise ConfigError(f"regression must be increments or observation_space, got {regression!r}")


def estimate_diagnostics(truth: QGModel, model: QGModel, estimate: torch.Tensor, states: torch.Tensor,
                         kcut: float | None = 0.5) -> dict[str, float]:
    """Where the model-error signal is lost: errors of the estimated states (T, 2, n, n) against the true
    ``states``, and of their increments and library against those of the true states (both for the
    imperfect ``model``; relative RMS, the library's as the median over terms).

    ``increment_err_over_signal``: RMS increment error over the RMS model-error signal (``model``'s
    increments minus the truth's, on the true states); ``*_lowpassed``: after the low-pass to
    |k| <= ``kcut`` x Nyquist that the regression applies.
    """
    h0, th0 = increments(model, states)
    signal = float((h0 - increments(truth, states)[0]).pow(2).mean().sqrt())
    h, th = increments(model, estimate)

    def lp(f: torch.Tensor) -> torch.Tensor:
        return lowpass(truth, f, kcut)
    cols = range(th.shape[1])
    return {"interp_rel_err": rel(estimate, states), "psi_rel_err": rel(truth.psi(estimate), truth.psi(states)),
            "increment_err_over_signal": float((h - h0).pow(2).mean().sqrt()) / signal,
            "increment_err_over_signal_lowpassed": float(lp(h - h0).pow(2).mean().sqrt()) / signal,
            "library_rel_err_median": float(np.median([rel(th[:, j], th0[:, j]) for j in cols])),
            "library_rel_err_median_lowpassed": float(np.median([rel(lp(th[:, j]), lp(th0[:, j])) for j in cols]))}


def cycle_errors(truth: QGModel, analyses: torch.Tensor, window: TruthWindow) -> dict[str, float]:
    """Relative RMS errors of cycled analyses (P + T, 2, n, n) against ``window.all`` in q and in psi at
    the cycles of :data:`CHECKPOINTS` and the last: ``analysis_rel_err_c{t}``, ``analysis_psi_rel_err_c{t}``."""
    true = window.all
    out = {}
    for t in [c for c in CHECKPOINTS if c < len(true)] + [len(true) - 1]:
        out[f"analysis_rel_err_c{t}"] = rel(analyses[t], true[t])
        out[f"analysis_psi_rel_err_c{t}"] = rel(truth.psi(analyses[t]), truth.psi(true[t]))
    return out


def forecast(model: QGModel, states: torch.Tensor, n: int) -> torch.Tensor:
    """``model``'s ``n``-step forecast (n, 2, ny, nx) from the last three ``states`` (T, 2, ny, nx), its AB3
    history made of its own tendencies of them."""
    hist = [model.tendency_hat(model.fft(states[-2])), model.tendency_hat(model.fft(states[-3]))]
    out, _ = model.run(states[-1], n, history=hist)
    return out


def forecast_errors(model: QGModel, states: torch.Tensor, future: torch.Tensor) -> list[float]:
    """Relative RMS error of ``model``'s forecast from the last ``states`` against ``future`` (n, 2, ny, nx),
    per step."""
    fc = forecast(model, states, len(future))
    return [rel(fc[i], future[i]) for i in range(len(future))]
