"""The page of ``sciml bench medida``: summary, diagnostics, cycled-analysis errors, all tasks, forecasts,
stage times, the forecast figure and how to read the results. Tables only: every number is a score of a
``medida`` run (:mod:`sciml.discovery.recipe`), read from the benchmark's rows or, for the discovered
equations and the forecast curves, from the runs' ``eval.json``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sciml.utils.files import save_figure

WHY = """\
The per-step model-error signal is about 1e-3 of the PV tendency F (drag: rek dt = 0.4 % of
lap psi2 per 2-hour step). A state error e enters the increment as e(t+1)/dt minus the forecast's
response to e(t), and the library through lap^2 psi, d_x q and J, so the regression only works when
the increment error (table "Where the signal is lost") is small against the signal. Full
noise-free states are exact by construction (ADR 0060).

Noisy observations: 0.1 % white noise is harmless once the increments and library are low-passed
to |k| <= kcut (the noise lives at all wavenumbers, the signal at large scales) and 13 increments
are pooled: the raw noisy observations (`obs`) already give the right terms. The EnKF runs the
imperfect model, whose forecast error (the signal itself) is not in the ensemble; with little
inflation it trusts the biased forecast and analysis increments shrink by the Kalman gain
(inflation 1.3 and radius 3 make every coefficient 40 % too small). Inflation 10 with a
1-grid-point localisation radius keeps the gain near 1 and the analysis error below the noise.

Sparse observations: the sensors are fixed in time, so a linear interpolator's error (P - I) q is
correlated in time and its e/dt part cancels in the increments (`cubic_moving_mask` shows the
increment error without that cancellation). What is left is the interpolation error of the
tendency, about |P - I| |F|, i.e. the q interpolation error times ~1e3 in units of the signal
before the low-pass: the regression needs q to within a few per cent. The sensors observe psi
(both layers; q = lap psi + stretching is computed spectrally from the interpolated psi); the
`*_qobs` rows observe q at the same points instead. `rff` is the Gaussian random-Fourier-feature
model with 2^20 integer-wavenumber features and its linear readout solved exactly by ridge
regression (the kernel limit of the random-feature model), sigma chosen by 5-fold
cross-validation on the observed points (ADR 0098). `rff_mlp` is the trained 2 x 256 tanh
RFF-MLP: it fits the observed points but not the rest (its implicit prior is the problem, not the
optimiser). Cubic interpolation (spectral bias) selects wrong terms. `spectral` (band-limited
least squares, ADR 0063) is a documented extra beside the main rows.

At 25 % no snapshot interpolator works. The 64^2 model's q is band-limited by its filter to
|k| ~ 25 (about 1960 real Fourier unknowns per layer) and 1024 points cannot pin them down: even
kriging with the snapshot's own (true) isotropic spectrum leaves 42 % q error with q sensors and
34 % with psi sensors (ADR 0098), an order of magnitude above what the regression tolerates.

Cycled rows (ADR 0064): the imperfect model's one-step forecast from the previous analyses is the
background, the innovation y - H x_b at the observed points is interpolated (`rff`: the ridge RFF
model, sigma 6; `cubic`: the same periodic Clough-Tocher) and added, over `cycle_pre` = 100 cycles
before the 16-state window (the truth is observed there too) and through it; the regression then
uses the window's analysis increments summed over `window` = 4 steps (the state-error part
telescopes, the signal adds up). With the fixed sensors this works at 50 % (analysis error 0.6 %
in q after ~40 cycles) but not at 25 %: the flow moves a grid spacing in ~3 days (upper layer) to
~16 days (lower layer), so points that are never observed stay unknown (no convergence over 1500
cycles either). With a new random mask at every time (`*_moving`: moving or rotating sensors)
every point is observed within a few steps and the analysis converges to ~0.4 % in q at 25 %.
With cycling, cubic interpolation of the innovations works as well as `rff`: the dynamics, not the
interpolator's spectral bias, decide. `*_obs`: the same analyses regressed in observation space
(psi at the observed points): unbiased for fixed sensors, but with moving sensors a newly observed
point's innovation holds the error accumulated since it was last seen and the coefficients come
out too large (and the Jacobian error is missed)."""

EXPERIMENTS = ("full", "noisy", "sparse50", "sparse25")


def cells(res) -> dict[tuple[str, str], dict[str, float]]:
    """(task, method) -> {metric: mean over seeds}, in the order the rows were added."""
    means = {k: v[0] for k, v in res.summary().items()}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for r in res.rows:
        cell = out.setdefault((r["task"], r["method"]), {})
        cell[r["metric"]] = means.get((r["task"], r["method"], r["metric"]), float("nan"))
    return out


def labels(res) -> dict[tuple[str, str], dict[str, Any]]:
    """(task, method) -> the row's labels: ``experiment``, ``error_model``."""
    return {(r["task"], r["method"]): r for r in res.rows}


def run_evaluation(args, task: str, method: str) -> dict[str, Any]:
    """The ``eval.json`` of the first seed's run of (task, method), or {} if it is not there."""
    from sciml.bench.medida import run_name

    path = Path(args.runs) / run_name(task, method, args.seeds[0]) / "eval.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def experiment_values(res, experiment: str, method: str, metric: str) -> list[float]:
    """The finite values of ``metric`` over the error models and seeds of one experiment and method."""
    return [r["value"] for r in res.rows if r.get("experiment") == experiment and r["method"] == method
            and r["metric"] == metric and r["value"] is not None]


def summary_table(res) -> list[str]:
    lines = ["| experiment | method | correct_terms (of errors) | median coef_rel_err | worst coef_rel_err "
             "| interp_rel_err (q) |", "|---|---|---|---|---|---|"]
    for exp in EXPERIMENTS:
        for method in dict.fromkeys(r["method"] for r in res.rows if r.get("experiment") == exp):
            ct, ce, ie = (experiment_values(res, exp, method, m) for m in ("correct_terms", "coef_rel_err",
                                                                           "interp_rel_err"))
            if ct:
                lines.append(f"| {exp} | {method} | {sum(ct):.0f}/{len(ct)} | {np.median(ce):.3g} | {max(ce):.3g} "
                             f"| {np.median(ie):.3g} |")
    return lines


def diagnostics_table(res, error: str) -> list[str]:
    lines = ["| task | method | q rel err | psi rel err | h err / signal | h err / signal (low-passed) "
             "| library rel err (median) | library rel err (low-passed) |", "|---|---|---|---|---|---|---|---|"]
    lab = labels(res)
    for (task, method), c in cells(res).items():
        if lab[(task, method)].get("error_model") != error or task.startswith("full") or method.endswith("_obs"):
            continue
        lines.append(f"| {lab[(task, method)]['experiment']} | {method} | {c['interp_rel_err']:.3g} "
                     f"| {c['psi_rel_err']:.3g} | {c['increment_err_over_signal']:.3g} "
                     f"| {c['increment_err_over_signal_lowpassed']:.3g} | {c['library_rel_err_median']:.3g} "
                     f"| {c['library_rel_err_median_lowpassed']:.3g} |")
    return lines


def cycle_table(res, error: str) -> list[str]:
    lab, rows, head = labels(res), [], []
    for (task, method), c in cells(res).items():
        steps = sorted(int(m.rsplit("_c", 1)[1]) for m in c if m.startswith("analysis_rel_err_c"))
        if lab[(task, method)].get("error_model") != error or not steps or method.endswith("_obs"):
            continue
        head = head or steps
        rows.append(f"| {lab[(task, method)]['experiment']} | {method} | " + " | ".join(
            f"{c[f'analysis_rel_err_c{t}']:.3g} / {c[f'analysis_psi_rel_err_c{t}']:.3g}" for t in steps) + " |")
    if not rows:
        return []
    return [f"| task | method | {' | '.join(f'cycle {t}' for t in head)} |", "|---|---|" + "---|" * len(head), *rows]


def tasks_table(res, args) -> list[str]:
    lines = ["| task | method | correct_terms | coef_rel_err | interp_rel_err (q) | psi rel err | wall_s | discovered |",
             "|---|---|---|---|---|---|---|---|"]
    for (task, method), c in cells(res).items():
        eq = run_evaluation(args, task, method).get("equation", "—").replace("\n", "; ")
        lines.append(f"| {task} | {method} | {c['correct_terms']:.0f} | {c['coef_rel_err']:.3g} "
                     f"| {c['interp_rel_err']:.3g} | {c['psi_rel_err']:.3g} | {c['wall_s']:.1f} | {eq} |")
    return lines


def forecast_table(res) -> list[str]:
    return ["| task | method | uncorrected | corrected |", "|---|---|---|---|",
            *[f"| {task} | {method} | {c['forecast_rel_err_uncorrected']:.3g} | {c['forecast_rel_err']:.3g} |"
              for (task, method), c in cells(res).items()]]


def stage_table(res, error: str) -> list[str]:
    lab = labels(res)
    lines = ["| task | method | truth | state estimate | regression | whole run (with evaluation) |",
             "|---|---|---|---|---|---|"]
    for (task, method), c in cells(res).items():
        if lab[(task, method)].get("error_model") == error:
            sigma = f" (CV sigma {c['rff_sigma']:g})" if "rff_sigma" in c else ""
            lines.append(f"| {task} | {method}{sigma} | {c['truth_s']:.1f} | {c['estimate_s']:.1f} "
                         f"| {c['regression_s']:.1f} | {c['wall_s']:.1f} |")
    return lines


def figure(res, args) -> Path | None:
    """The forecast errors of the corrected (full observations) and uncorrected models, one panel per error."""
    curves = {}
    for (task, method), row in labels(res).items():
        ev = run_evaluation(args, task, method) if row.get("experiment") == "full" else {}
        if ev:
            curves[row["error_model"]] = (ev["forecast_rel_err_uncorrected"], ev["forecast_rel_err"], ev["dt_s"])
    if not curves:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3), sharey=True, squeeze=False)
    for a, (err, (u, c, dt)) in zip(ax[0], curves.items()):
        days = (np.arange(len(u)) + 1) * dt / 86400
        a.semilogy(days, u, label="uncorrected")
        a.semilogy(days, c, label="corrected")
        a.set_title(err)
        a.set_xlabel("days")
    ax[0, 0].set_ylabel("relative RMS error of q")
    ax[0, 0].legend()
    fig.tight_layout()
    path = save_figure(fig, Path(args.out) / f"{res.benchmark}.png", dpi=110)
    plt.close(fig)
    return path


def settings_text(args) -> str:
    import inspect

    from sciml.bench.medida import PRESETS
    from sciml.recipes import RECIPES

    d = {k: v.default for k, v in inspect.signature(RECIPES.get("medida").run).parameters.items()}
    p = PRESETS[args.preset]
    changed = f", with {p['params']}" if p["params"] else ""
    return (f"Preset `{args.preset}`: the `medida` recipe's defaults (`sciml recipes`; grid {d['nx']}^2, spin-up "
            f"{d['spinup']} steps, {d['n_states']} states, {d['fc_steps']}-step forecasts, {d['cycle_pre']} cycles "
            f"before the window){changed}; cycled rows regress increments summed over {p['cycle_window']} steps. "
            f"Seeds {args.seeds}: the truth's initial state `seed`, the noise `seed + 1`, the sensors `seed + 2`, "
            "the RFF features and the EnKF `seed`. `sciml bench medida --dry-run` prints every row's spec.")


def forecast_heading(res, args) -> str:
    """The forecast section's title, with the forecast length the runs used."""
    for task, method in cells(res):
        ev = run_evaluation(args, task, method)
        if ev:
            steps = ev["forecast_steps"]
            return f"## Forecast error after {steps} steps ({steps * ev['dt_s'] / 86400:.0f} days), corrected vs uncorrected"
    return "## Forecast error, corrected vs uncorrected"


def report(res, args) -> str:
    error = args.errors[0]
    fig = figure(res, args)
    cyc = cycle_table(res, error)
    text = [
        settings_text(args),
        "Truth: pyqg-default two-layer QG (dt = 2 h); imperfect models: rek x2 (`drag2x`), rek = 0 (`drag0`), "
        "beta = 0 (`nobeta`), Jacobian x0.9 (`jac`). `coef_rel_err` is the worst relative error over the true terms "
        "(1 = a true term was missed), `correct_terms` is 1 when exactly the true terms are selected in both layer "
        "equations, `interp_rel_err` the relative RMS error of the q fields fed to the regression (the EnKF analysis "
        "for `noisy`), with the psi error beside it. `wall_s` = the whole run of the row: truth, state estimate, "
        "regression and evaluation (each row estimates its states for its own error model). "
        "Sparse sensors are fixed in time (one random mask) and observe psi (`*_qobs`: q), q is computed from the "
        "interpolated psi; `cubic_moving_mask` draws a new mask at every step. `*_cycled`: cycled analysis with "
        "the imperfect model on the same fixed sensors (`*_cycled_moving`: a new mask at every time; `*_obs`: "
        "regression in observation space), interp_rel_err = analysis error (ADR 0064). "
        "Regression: STLSQ, threshold 0.2 on per-equation scaled targets (ADR 0063), on increments and library "
        "low-passed to |k| <= 0.5 x Nyquist (`full`: all wavenumbers).",
        "## Summary", "\n".join(summary_table(res)),
        f"## Where the signal is lost (error model {error})",
        "Relative RMS errors against the same quantities computed from the true states. `h err / signal` is the "
        "RMS increment error divided by the RMS model-error signal (the increment of the imperfect model on true "
        "states); the regression needs it well below ~1 after low-passing.",
        "\n".join(diagnostics_table(res, error)),
        *([f"## Cycled analysis: error against cycle (error model {error})",
           "Relative RMS error of the analysis, q / psi, at the cycle given (cycle 0 = the snapshot interpolation "
           "that starts the cycle; the regression window is the last cycles).", "\n".join(cyc)] if cyc else []),
        "## All tasks", "\n".join(tasks_table(res, args)),
        forecast_heading(res, args),
        "Relative RMS error of q against the truth, forecasts started from the true last states.",
        "\n".join(forecast_table(res)),
        f"## Wall time per stage (s, error model {error})",
        "\n".join(stage_table(res, error)),
        *([f"![forecast errors of the corrected (full observations) and uncorrected models]({fig.name})"] if fig else []),
        "## Reading the results", WHY]
    return "\n\n".join(text)
