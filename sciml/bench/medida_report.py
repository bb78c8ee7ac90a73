"""The page of ``sciml bench medida``: summary, diagnostics, cycled-analysis errors, all tasks, forecasts,
stage times, the forecast figure and how to read the results."""
from __future__ import annotations

from pathlib import Path

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
inflation it trusts the biased forecast and analysis increments shrink by the Kalman gain (the
previous preset, inflation 1.3 and radius 3: -40 % on every coefficient). Inflation 10 with a
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
RFF-MLP of the previous preset: it fits the observed points but not the rest (its implicit prior
is the problem, not the optimiser). Cubic interpolation (spectral bias) selects wrong terms.
`spectral` (band-limited least squares, ADR 0063) is a documented extra, not the issue's method.

At 25 % no snapshot interpolator works. The 64^2 model's q is band-limited by its filter to
|k| ~ 25 (about 1960 real Fourier unknowns per layer) and 1024 points cannot pin them down: even
kriging with the snapshot's own (true) isotropic spectrum leaves 42 % q error with q sensors and
34 % with psi sensors (ADR 0098), an order of magnitude above what the regression tolerates.

Cycled rows (ADR 0064): the imperfect model's one-step forecast from the previous analyses is the
background, the innovation y - H x_b at the observed points is interpolated (`rff`: the ridge RFF
model, sigma 6; `cubic`: the same periodic Clough-Tocher) and added, over `cycle_pre` = 100 cycles
before the 16-state window (the truth is observed there too) and through it; the regression then
uses the window's analysis increments summed over `cycle_window` = 4 steps (the state-error part
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


def write_page(res, a, p, preset, lines, diag, fc_rows, fc_curves, stages, truth, total_s, cycle_table) -> None:
    out = Path(a.out)
    fig = figure(fc_curves, truth.dt, out / "medida.png") if fc_curves else None
    summary = ["| experiment | method | correct_terms (of errors) | median coef_rel_err | worst coef_rel_err "
               "| interp_rel_err (q) |", "|---|---|---|---|---|---|"]
    for exp in ("full", "noisy", "sparse50", "sparse25"):
        for method in dict.fromkeys(r["method"] for r in res.rows):
            rows = {(r["task"], r["metric"]): r["value"] for r in res.rows
                    if r["task"].startswith(exp + "_") and r["method"] == method}
            ct = [v for (t, m), v in rows.items() if m == "correct_terms"]
            if ct:
                ce = [v for (t, m), v in rows.items() if m == "coef_rel_err"]
                ie = [v for (t, m), v in rows.items() if m == "interp_rel_err"]
                summary.append(f"| {exp} | {method} | {sum(ct):.0f}/{len(ct)} | {np.median(ce):.3g} | {max(ce):.3g} "
                               f"| {np.median(ie):.3g} |")
    text = [
        f"Preset `{preset}`: {p}. Device: {a.device}, one thread. Seeds: spin-up 0, "
        f"noise 1, sensors 2, RFF 0. Whole run {total_s:.0f} s.",
        f"Truth: pyqg-default two-layer QG ({p['nx']}^2, dt = 2 h); imperfect models: rek x2 (`drag2x`), rek = 0 (`drag0`), "
        "beta = 0 (`nobeta`), Jacobian x0.9 (`jac`). `coef_rel_err` is the worst relative error over the true terms "
        "(1 = a true term was missed), `correct_terms` is 1 when exactly the true terms are selected in both layer "
        "equations, `interp_rel_err` the relative RMS error of the q fields fed to the regression (the EnKF analysis "
        "for `noisy`), with the psi error beside it. `wall_s` = interpolation/EnKF + regression time of the task. "
        "Sparse sensors are fixed in time (one random mask) and observe psi (`*_qobs`: q), q is computed from the "
        "interpolated psi; `cubic_moving_mask` draws a new mask at every step. `*_cycled`: cycled analysis with "
        "the imperfect model on the same fixed sensors (`*_cycled_moving`: a new mask at every time; `*_obs`: "
        "regression in observation space), interp_rel_err = analysis error, wall_s = a quarter of the cycle "
        "(4 models cycled together) + regression (ADR 0064). "
        f"Regression: STLSQ, threshold {p['threshold']} on per-equation scaled targets (ADR 0063), on "
        f"increments and library low-passed to |k| <= "
        f"{p['kcut']} x Nyquist (`full`: all wavenumbers).",
        "## Summary", "\n".join(summary),
        "## Where the signal is lost (error model " + a.errors[0] + ")",
        "Relative RMS errors against the same quantities computed from the true states. `h err / signal` is the "
        "RMS increment error divided by the RMS model-error signal (the increment of the imperfect model on true "
        "states); the regression needs it well below ~1 after low-passing.",
        "\n".join(["| task | method | q rel err | psi rel err | h err / signal | h err / signal (low-passed) "
                   "| library rel err (median) | library rel err (low-passed) |", "|---|---|---|---|---|---|---|---|",
                   *diag]),
        *(["## Cycled analysis: error against cycle (error model " + a.errors[0] + ")",
            f"Relative RMS error of the analysis, q / psi, at the cycle given (cycle 0 = the snapshot interpolation "
            f"that starts the cycle; the regression window is the last {p['n_states']} cycles; sigma "
            f"{p['cycle_sigma']:g} for `rff`).", "\n".join(cycle_table)] if cycle_table else []),
        "## All tasks", "\n".join(["| task | method | correct_terms | coef_rel_err | interp_rel_err (q) | psi rel err "
                                   "| wall_s | discovered |", "|---|---|---|---|---|---|---|---|", *lines]),
        f"## Forecast error after {p['fc_steps']} steps ({p['fc_steps'] * truth.dt / 86400:.0f} days), "
        "corrected vs uncorrected",
        "Relative RMS error of q against the truth, forecasts started from the true last states.",
        "\n".join(["| task | method | uncorrected | corrected |", "|---|---|---|---|", *fc_rows]),
        "## Wall time per stage (s)",
        "\n".join(["| stage | s |", "|---|---|", *[f"| {k} | {v:.1f} |" for k, v in stages.items()]]),
        *([f"![forecast errors of the corrected (full observations) and uncorrected models]({fig.name})"]
          if fig else []),
        "## Reading the results", WHY]
    res.write(out, "\n\n".join(text))
    print(f"[medida] wrote {out / 'medida.md'}")


def figure(curves: dict, dt: float, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3), sharey=True, squeeze=False)
    for a, (err, (u, c)) in zip(ax[0], curves.items()):
        days = (np.arange(len(u)) + 1) * dt / 86400
        a.semilogy(days, u, label="uncorrected")
        a.semilogy(days, c, label="corrected")
        a.set_title(err)
        a.set_xlabel("days")
    ax[0, 0].set_ylabel("relative RMS error of q")
    ax[0, 0].legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
