"""The ``medida`` recipe: discover the structural error of a two-layer QG model (MEDIDA) from observations.

One run injects one error model (``error``, :data:`~sciml.discovery.medida.ERRORS`) into the pyqg-default
QG model, observes the truth, estimates the states, discovers the missing tendency and writes it as a
``medida_correction`` checkpoint (``medida.pt``); the evaluator scores the discovered coefficients
against the injected error and forecasts with the corrected model. The defaults are the configuration
that works from the sparsest data (ADR 0064): psi at 25 % of the points, a new random mask at every time,
cycled analysis with the imperfect model and RFF-filled innovations, regression on window-summed
increments. Spec (``sciml bench medida --dry-run`` prints the benchmark's)::

    recipe: medida
    name: sparse25_drag2x
    out_dir: runs/medida/sparse25_drag2x
    seed: 0
    params: {error: drag2x, observations: sparse, density: 0.25, sensors: moving, estimate: cycled}
"""
from __future__ import annotations

import time
from pathlib import Path

import xarray as xr

from sciml.discovery.medida import (ERRORS, MLP, EstimateSettings, cycle_errors, discover, estimate_diagnostics,
                                    estimate_states, forecast_errors, imperfect_model, observe_truth, score,
                                    true_coefficients, truth_and_future, truth_window)
from sciml.errors import ConfigError
from sciml.models import build_model, model_from_checkpoint
from sciml.pde.qg import QGModel
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.utils.files import write_json


def evaluate_medida(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of a ``medida`` checkpoint: ``correct_terms`` (1 if exactly the injected error's terms were
    selected), ``coef_rel_err`` (worst relative coefficient error over them; 1 = one was missed), the
    relative RMS error of the corrected and the uncorrected model's forecast from the last true state
    after ``fc_steps`` steps (``forecast_rel_err``, ``forecast_rel_err_uncorrected``), and the facts the
    run measured (state-estimate errors and diagnostics, stage times). The truth is regenerated from the
    run's settings, so ``data`` must be None. Writes ``out_dir/eval.json`` (with the per-step forecast
    errors and the discovered equation)."""
    if data is not None:
        raise ConfigError("a medida checkpoint is scored against the QG truth it was discovered from; give no data file")
    ckpt = load_checkpoint(checkpoint)
    extra = ckpt.get("extra", {})
    if "truth" not in extra:
        raise ConfigError(f"{str(checkpoint)!r} records no QG truth; it was not written by the medida recipe")
    correction, t = model_from_checkpoint(ckpt, source=checkpoint), extra["truth"]
    truth = QGModel(nx=t["nx"])
    states, future = truth_and_future(truth, t["spinup"], t["n_states"], t["fc_steps"], t["seed"])
    scores = score(correction.coef.numpy(), true_coefficients(truth, extra["error"]))
    uncorrected = forecast_errors(correction.model, states, future)
    corrected = forecast_errors(correction.corrected_model(), states, future)
    scores.update(forecast_rel_err=corrected[-1], forecast_rel_err_uncorrected=uncorrected[-1], **extra["measured"])
    write_json(Path(out_dir) / "eval.json", {"error": extra["error"], "equation": correction.equation(),
                                             "scores": scores, "forecast_steps": t["fc_steps"], "dt_s": truth.dt,
                                             "forecast_rel_err": corrected, "forecast_rel_err_uncorrected": uncorrected})
    return xr.Dataset(attrs={**scores, "error": extra["error"], "equation": correction.equation()})


def check_medida_choices(observations: str, estimate: str, regression: str, window: int, n_states: int) -> None:
    """ConfigError unless the observations, the state estimate and the regression fit together."""
    if not 1 <= window <= n_states - 3:
        raise ConfigError(f"window must be between 1 and n_states - 3 = {n_states - 3} (the number of increments "
                          f"of {n_states} states), got {window}")
    fits = {"direct": ("full", "noisy"), "enkf": ("noisy", "full"), "interpolate": ("sparse",), "cycled": ("sparse",)}
    if estimate not in fits:
        raise ConfigError(f"estimate must be one of {', '.join(fits)}, got {estimate!r}")
    if observations not in fits[estimate]:
        raise ConfigError(f"estimate {estimate!r} works on {' or '.join(fits[estimate])} observations, "
                          f"not {observations!r}; change observations or estimate")
    if regression == "observation_space" and estimate != "cycled":
        raise ConfigError("regression 'observation_space' regresses a cycled analysis' innovations; "
                          "use estimate: cycled or regression: increments")


def check_medida_sizes(nx: int, spinup: int, cycle_pre: int, fc_steps: int, density: float, members: int,
                       noise: float) -> None:
    """ConfigError unless the grid, step counts, observation density, ensemble and noise can run."""
    bad = [text for fails, text in (
        (nx < 8, f"nx={nx} (at least 8)"), (spinup < 0, f"spinup={spinup} (at least 0)"),
        (cycle_pre < 0, f"cycle_pre={cycle_pre} (at least 0)"), (fc_steps < 1, f"fc_steps={fc_steps} (at least 1)"),
        (not 0 < density <= 1, f"density={density} (in (0, 1])"), (members < 2, f"members={members} (at least 2)"),
        (noise < 0, f"noise={noise} (at least 0)")) if fails]
    if bad:
        raise ConfigError(f"medida: {', '.join(bad)}")


@register_recipe("medida", evaluate=evaluate_medida)
def run_medida(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "cpu", error: str = "drag2x",
               observations: str = "sparse", density: float = 0.25, observed: str = "psi", sensors: str = "moving",
               noise: float = 1e-3, estimate: str = "cycled", interpolator: str = "rff",
               regression: str = "increments", window: int = 4, nx: int = 64, spinup: int = 20000,
               n_states: int = 16, cycle_pre: int = 100, fc_steps: int = 240, threshold: float = 0.2,
               kcut: float | None = 0.5, scale: str = "equation", members: int = 16, inflation: float = 10.0,
               loc_radius: float = 1.0, rff_sigmas: tuple[float, ...] = (4.0, 5.0, 6.0, 7.0, 8.0),
               rff_features: int = 2 ** 20, rff_ridge: float = 1e-6, cycle_sigma: float = 6.0,
               mlp: dict[str, int | float] | None = None) -> Path:
    """MEDIDA on two-layer QG: discover an injected structural error from (sparse) observations of the truth.

    ``error``: drag2x, drag0, nobeta or jac. ``observations``: full, noisy (relative ``noise``) or sparse
    (``observed`` psi or q at a ``density`` of the points from ``fixed`` or ``moving`` ``sensors``).
    ``estimate``: direct, enkf (``members``, ``inflation``, ``loc_radius``), interpolate or cycled
    (``cycle_pre`` cycles before the window), filled by ``interpolator`` (rff: CV over ``rff_sigmas`` for
    snapshots, ``cycle_sigma`` when cycled; rff_mlp: ``mlp``; cubic; spectral). Truth: ``nx``^2 grid,
    ``spinup`` steps from ``seed``'s random state, ``n_states`` states in the regression window.
    ``regression``: increments (STLSQ ``threshold``, ``scale``, low-pass ``kcut`` x Nyquist, sums over
    ``window`` steps) or observation_space. ``fc_steps``: the evaluator's forecast length.
    """
    if resume:
        raise ConfigError("recipe 'medida' cannot resume; rerun it (a run takes seconds to minutes)")
    check_medida_choices(observations, estimate, regression, window, n_states)
    check_medida_sizes(nx, spinup, cycle_pre, fc_steps, density, members, noise)
    how = EstimateSettings(estimate, interpolator, observed, noise, members, inflation, loc_radius, tuple(rff_sigmas),
                           rff_features, rff_ridge, cycle_sigma, {**MLP, **(mlp or {})}, device, seed)
    truth = QGModel(nx=nx)
    model = imperfect_model(truth, error)
    t0 = time.perf_counter()
    win = truth_window(truth, spinup, n_states, cycle_pre if estimate == "cycled" else 0, seed)
    values, mask = observe_truth(truth, win, observations, density, observed, sensors, noise, seed)
    t1 = time.perf_counter()
    est, facts = estimate_states(truth, model, win, values, mask, how)
    t2 = time.perf_counter()
    coef = discover(model, est[-n_states:], threshold, kcut, scale, window, regression,
                    values[-n_states:], mask[-n_states:], observed)
    t3 = time.perf_counter()
    measured = {**estimate_diagnostics(truth, model, est[-n_states:], win.states, kcut), **facts,
                **(cycle_errors(truth, est, win) if estimate == "cycled" else {}),
                "truth_s": t1 - t0, "estimate_s": t2 - t1, "regression_s": t3 - t2}
    correction = build_model("medida_correction", nx=nx, qg=dict(ERRORS[error])).load_coefficients(coef)
    extra = {"recipe": "medida", "error": error, "measured": measured, "restart_mismatch": win.restart_mismatch,
             "truth": {"nx": nx, "spinup": spinup, "n_states": n_states, "fc_steps": fc_steps, "seed": seed}}
    return save_checkpoint(Path(out_dir) / "medida.pt", correction, extra=extra)
