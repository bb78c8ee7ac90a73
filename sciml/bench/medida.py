"""``sciml bench medida``: discover injected structural errors of a two-layer QG model from increments.

Truth: pyqg-default QG. Imperfect models: rek x2, rek = 0, beta = 0, Jacobian x0.9. Experiments:
(a) full noise-free states; (b) full states with 0.1% noise through the stochastic EnKF;
(c) 50% / 25% random point observations interpolated by the RFF-MLP or cubic interpolation.
Then the corrected model's forecast error against the uncorrected one's.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.results import BenchResult
from sciml.discovery.enkf import StochasticEnKF
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import rff_interpolate, scipy_interpolate
from sciml.discovery.library import TERMS
from sciml.discovery.observe import observe
from sciml.pde.qg import QGModel, spin_up

PRESETS = {
    "default": dict(nx=64, spinup=20000, n_states=6, fc_steps=240, rff_steps=600, rff_lr=5e-3, rff_width=128,
                    rff_depth=2, rff_freq=64, rff_sigma=6.0, members=16, threshold=0.05),
    "full": dict(nx=64, spinup=44000, n_states=12, fc_steps=360, rff_steps=20000, rff_lr=1e-2, rff_width=256, rff_depth=4,
                 rff_freq=256, rff_sigma=10.0, members=32, threshold=0.05),
}
ERRORS = {"drag2x": dict(rek=2 * 5.787e-7), "drag0": dict(rek=0.0), "nobeta": dict(beta=0.0),
          "jac": dict(jacobian_scale=0.9)}


WHY = """\
Full noise-free states: increments and library use the same filtered AB3 step (ADR 0060), so the
missing terms are recovered to round-off and the corrected model reproduces the truth.

Noise and sparsity break it on this preset, for one reason: the model-error signal per step is tiny
(drag: rek dt = 0.4 % of lap psi2), while the same erroneous states enter both the increment (through
-e(t)/dt, e the state error) and the candidates (lap^2 psi, d_x q and J amplify e). That is an
errors-in-variables bias, not noise that averages out, so spurious high-derivative terms are selected
and true coefficients are biased by tens of per cent. The EnKF cannot help much here: with the
imperfect model, the one-step forecast error (model error plus propagated analysis error) is larger
than the 0.1 % observation error, so the analysis is about as noisy as the observations. For sparse
data the interpolation error (20-60 % in q) is two orders of magnitude above the signal for both
interpolators; the RFF-MLP at this CPU budget (a 2 x 128 tanh net, 600 Adam steps) is no better than
cubic interpolation. The paper's result needs interpolation errors far below rek dt, i.e. its 4 x 1000
network trained for 2e5 epochs (`--full` on a GPU moves towards that; not run here). Likely remedies
not implemented: increments over several steps (signal grows with the window, the -e/dt term shrinks)
and candidates evaluated on independently smoothed states."""


def true_coefficients(truth: QGModel, name: str) -> np.ndarray:
    """Missing tendency (truth - imperfect) on the library TERMS, per equation (2, n_terms)."""
    c = np.zeros((2, len(TERMS)))
    ix = TERMS.index
    if name == "drag2x":
        c[1, ix("lap_psi2")] = truth.rek               # model drag -2 rek lap psi2, truth -rek lap psi2
    elif name == "drag0":
        c[1, ix("lap_psi2")] = -truth.rek
    elif name == "nobeta":
        c[0, ix("dx_psi1")], c[1, ix("dx_psi2")] = -truth.beta, -truth.beta
    elif name == "jac":
        c[0, ix("J(psi1,q1)")], c[1, ix("J(psi2,q2)")] = -0.1, -0.1
    return c


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt())


def truth_run(truth: QGModel, p: dict) -> tuple[torch.Tensor, float]:
    cache = Path(os.environ.get("SCIML_CACHE", Path.home() / ".cache" / "sciml")) / f"medida_qg{p['nx']}_{p['spinup']}.pt"
    t0 = time.perf_counter()
    if cache.exists():
        q0, hist = torch.load(cache)
    else:
        q0, hist = spin_up(truth, p["spinup"])
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save((q0, hist), cache)
    traj, _ = truth.run(q0, p["n_states"] + p["fc_steps"], history=hist)
    return traj[:, 0], time.perf_counter() - t0


def forecast(model: QGModel, states: torch.Tensor, n: int) -> torch.Tensor:
    """Forecast n steps from the last three states (T, 2, ny, nx) with the model's own tendencies."""
    hist = [model.tendency_hat(model.fft(states[-2])), model.tendency_hat(model.fft(states[-3]))]
    out, _ = model.run(states[-1], n, history=hist)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sciml bench medida", description=__doc__)
    ap.add_argument("--full", action="store_true", help="paper-like scale (64^2, 10-year spin-up, big RFF; GPU)")
    ap.add_argument("--errors", nargs="*", default=list(ERRORS))
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    p = PRESETS["full" if a.full else "default"]
    t_start = time.perf_counter()
    torch.manual_seed(0)
    res = BenchResult("medida", command="sciml bench medida " + " ".join(argv or []), device=a.device)
    truth = QGModel(nx=p["nx"])
    traj, t_truth = truth_run(truth, p)
    states, future = traj[:p["n_states"]], traj[p["n_states"]:]
    stages = {"spin-up + truth run": t_truth}
    models = {e: truth.replace(**ERRORS[e]) for e in a.errors}
    lines, fc_curves = [], {}

    def fit(task: str, method: str, err: str, s: torch.Tensor, interp_err: float, psi_err: float, t_prep: float):
        t0 = time.perf_counter()
        med = ModelErrorDiscovery(models[err], threshold=p["threshold"]).fit(s)
        dt = time.perf_counter() - t0
        sc = score(med.coef_, true_coefficients(truth, err))
        name = f"{task}_{err}"
        for metric in ("coef_rel_err", "correct_terms"):
            res.add(name, method, metric, sc[metric])
        res.add(name, method, "interp_rel_err", interp_err, psi_rel_err=psi_err)
        res.add(name, method, "wall_s", t_prep + dt)
        lines.append(f"| {name} | {method} | {sc['correct_terms']:.0f} | {sc['coef_rel_err']:.3g} | {interp_err:.3g} "
                     f"| {psi_err:.3g} | {t_prep + dt:.1f} | {med.equation().replace(chr(10), '; ')} |")
        print(lines[-1], flush=True)
        return med

    # (a) full, noise-free
    for err in a.errors:
        med = fit("full", "direct", err, states, 0.0, 0.0, 0.0)
        fc_u = forecast(models[err], states, p["fc_steps"])
        fc_c = forecast(med.corrected_model(), states, p["fc_steps"])
        eu = [rel(fc_u[i], future[i]) for i in range(len(future))]
        ec = [rel(fc_c[i], future[i]) for i in range(len(future))]
        fc_curves[err] = (eu, ec)
        res.add(f"forecast_{err}", "uncorrected", "forecast_rel_err", eu[-1], steps=p["fc_steps"])
        res.add(f"forecast_{err}", "corrected", "forecast_rel_err", ec[-1], steps=p["fc_steps"])
    # (b) full + 0.1% noise through the EnKF (the EnKF runs the imperfect model)
    obs_std = 1e-3 * states.pow(2).mean((0, 2, 3)).sqrt()
    y, _ = observe(states, 1.0, 1e-3, seed=1)
    for err in a.errors:
        t0 = time.perf_counter()
        qa, _ = StochasticEnKF(models[err], p["members"], loc_radius=3.0, inflation=1.3).run(y, obs_std)
        t_enkf = time.perf_counter() - t0
        stages[f"EnKF ({err})"] = t_enkf
        fit("noisy", "direct", err, qa, rel(qa, states), rel(truth.psi(qa), truth.psi(states)), t_enkf)
    # (c) sparse: interpolate every state once per density and method, then fit each error
    for dens, tag in ((0.5, "sparse50"), (0.25, "sparse25")):
        vals, mask = observe(states, dens, 0.0, seed=2)
        m2 = mask[:, 0]
        for method in ("rff", "cubic"):
            t0 = time.perf_counter()
            if method == "rff":
                qi = rff_interpolate(vals.nan_to_num(), m2, steps=p["rff_steps"], lr=p["rff_lr"], width=p["rff_width"],
                                     depth=p["rff_depth"], n_freq=p["rff_freq"], sigma=p["rff_sigma"], device=a.device)
            else:
                qi = scipy_interpolate(vals.nan_to_num(), m2, "cubic")
            t_int = time.perf_counter() - t0
            stages[f"{method} interpolation ({tag})"] = t_int
            ie, pe = rel(qi, states), rel(truth.psi(qi), truth.psi(states))
            for err in a.errors:
                fit(tag, method, err, qi, ie, pe, t_int)
    out = Path(a.out)
    fig = figure(fc_curves, truth.dt, out / "medida.png")
    summary = ["| experiment | method | correct_terms (of errors) | median coef_rel_err | interp_rel_err (q) |",
               "|---|---|---|---|---|"]
    for exp in ("full", "noisy", "sparse50", "sparse25"):
        for method in ("direct", "rff", "cubic"):
            rows = {(r["task"], r["metric"]): r["value"] for r in res.rows
                    if r["task"].startswith(exp + "_") and r["method"] == method}
            if rows:
                ct = [v for (t, m), v in rows.items() if m == "correct_terms"]
                ce = [v for (t, m), v in rows.items() if m == "coef_rel_err"]
                ie = [v for (t, m), v in rows.items() if m == "interp_rel_err"]
                summary.append(f"| {exp} | {method} | {sum(ct):.0f}/{len(ct)} | {np.median(ce):.3g} | {np.median(ie):.3g} |")
    text = [
        f"Preset `{'full' if a.full else 'default'}`: {p}. Device: {a.device}. Whole run {time.perf_counter() - t_start:.0f} s.",
        "Truth: pyqg-default two-layer QG; imperfect models: rek x2 (`drag2x`), rek = 0 (`drag0`), beta = 0 "
        "(`nobeta`), Jacobian x0.9 (`jac`). `coef_rel_err` is the worst relative error over the true terms "
        "(1 = a true term was missed), `correct_terms` is 1 when exactly the true terms are selected in both layer "
        "equations, `interp_rel_err` the relative RMS error of the q fields fed to the regression (the EnKF analysis "
        "for `noisy`), with the psi error beside it. `wall_s` = interpolation/EnKF + regression time of the task.",
        "## Summary", "\n".join(summary),
        "## All tasks", "\n".join(["| task | method | correct_terms | coef_rel_err | interp_rel_err (q) | psi rel err "
                                   "| wall_s | discovered |", "|---|---|---|---|---|---|---|---|", *lines]),
        "## Forecast error, corrected vs uncorrected (models fitted on the full case)",
        "\n".join(["| error | uncorrected | corrected | steps |", "|---|---|---|---|",
                   *[f"| {e} | {u[-1]:.3g} | {c[-1]:.3g} | {p['fc_steps']} |" for e, (u, c) in fc_curves.items()]]),
        "## Wall time per stage (s)",
        "\n".join(["| stage | s |", "|---|---|", *[f"| {k} | {v:.1f} |" for k, v in stages.items()]]),
        f"![forecast errors of the corrected and uncorrected models]({fig.name})",
        "## Reading the results", WHY]
    res.write(out, "\n\n".join(text))
    print(f"[medida] wrote {out / 'medida.md'}")
    return 0


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
