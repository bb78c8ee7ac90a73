"""``sciml bench medida``: discover injected structural errors of a two-layer QG model from increments.

Truth: pyqg-default QG. Imperfect models: rek x2, rek = 0, beta = 0, Jacobian x0.9. Experiments:
(a) full noise-free states; (b) full states with 0.1% noise through the stochastic EnKF;
(c) 50% / 25% random point observations of psi (and, as a comparison, of q) from fixed sensors,
interpolated by the Gaussian RFF model with a ridge readout (``rff``), the trained RFF-MLP
(``rff_mlp``), cubic interpolation or band-limited spectral least squares (plus cubic with a new mask
every step); q is then computed spectrally from the interpolated psi; (d) the same psi observations
assimilated by cycling the imperfect model, the RFF or cubic interpolator filling the innovations
(``*_cycled``; ``*_cycled_moving`` with a new mask per time; :mod:`sciml.bench.medida_cycled`).
Diagnostics of where the signal is lost, the corrected models' forecast errors, stage wall times.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.medida_cycled import run_cycled
from sciml.bench.medida_report import write_page
from sciml.bench.results import BenchResult
from sciml.utils.arguments import ArgumentParser
from sciml.discovery.enkf import StochasticEnKF
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import (rff_interpolate, rff_ridge_interpolate, rff_select_sigma,
                                         scipy_interpolate, spectral_interpolate)
from sciml.discovery.library import TERMS, increments, lowpass
from sciml.discovery.observe import observe
from sciml.pde.qg import QGModel, spin_up
from sciml.train.checkpoint import load_tensors, save_tensors
from sciml.train.metrics import rel_l2

PRESETS = {
    "default": dict(nx=64, spinup=20000, n_states=16, fc_steps=240, rff_steps=1000, rff_lr=2e-3, rff_width=256,
                    rff_depth=2, rff_freq=128, rff_sigma=8.0, members=16, inflation=10.0, loc=1.0, threshold=0.2,
                    scale="equation", kcut=0.5, observed="psi", rff_sigmas=(4, 5, 6, 7, 8), rff_features=2 ** 20,
                    rff_ridge=1e-6, cycle_pre=100, cycle_sigma=6.0, cycle_window=4,
                    cycle_sensors=("fixed", "moving")),
    "full": dict(nx=64, spinup=44000, n_states=32, fc_steps=360, rff_steps=20000, rff_lr=2e-3, rff_width=1000,
                 rff_depth=4, rff_freq=500, rff_sigma=10.0, members=32, inflation=10.0, loc=1.0, threshold=0.2,
                 scale="equation", kcut=0.5, observed="psi", rff_sigmas=(4, 5, 6, 7, 8), rff_features=2 ** 20,
                 rff_ridge=1e-6, cycle_pre=300, cycle_sigma=6.0, cycle_window=4,
                 cycle_sensors=("fixed", "moving")),
}
PRESETS["smoke"] = dict(PRESETS["default"], nx=32, spinup=2000, n_states=6, fc_steps=10, rff_steps=20, rff_width=32,
                       rff_freq=16, cycle_pre=10, cycle_window=1)
ERRORS = {"drag2x": dict(rek=2 * 5.787e-7), "drag0": dict(rek=0.0), "nobeta": dict(beta=0.0),
          "jac": dict(jacobian_scale=0.9)}
SPARSE_METHODS = ("rff", "rff_mlp", "cubic", "spectral")
PARTS = ("full", "noisy", "sparse", "cycled")


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
    """||a - b|| / ||b|| over all values (NaN if either holds a NaN/Inf): :func:`sciml.train.metrics.rel_l2`."""
    return float(rel_l2(a.reshape(1, -1), b.reshape(1, -1))[0])


def cached_spin_up(truth: QGModel, steps: int) -> tuple[torch.Tensor, list]:
    """:func:`~sciml.pde.qg.spin_up` of ``truth`` for ``steps`` steps, cached in ``$SCIML_CACHE``
    (default ``~/.cache/sciml``) per grid size and step count."""
    cache = Path(os.environ.get("SCIML_CACHE", Path.home() / ".cache" / "sciml")) / f"medida_qg{truth.nx}_{steps}.pt"
    if cache.exists():
        q0, hist = load_tensors(cache, what="spin-up cache")
        return q0, list(hist)
    q0, hist = spin_up(truth, steps)
    save_tensors((q0, hist), cache)
    return q0, hist


def truth_run(truth: QGModel, p: dict) -> tuple[torch.Tensor, float]:
    t0 = time.perf_counter()
    q0, hist = cached_spin_up(truth, p["spinup"])
    traj, _ = truth.run(q0, p["n_states"] + p["fc_steps"], history=hist)
    return traj[:, 0], time.perf_counter() - t0


def forecast(model: QGModel, states: torch.Tensor, n: int) -> torch.Tensor:
    """Forecast n steps from the last three states (T, 2, ny, nx) with the model's own tendencies."""
    hist = [model.tendency_hat(model.fft(states[-2])), model.tendency_hat(model.fft(states[-3]))]
    out, _ = model.run(states[-1], n, history=hist)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="sciml bench medida", description=__doc__)
    ap.add_argument("--full", action="store_true", help="paper-like scale (longer spin-up, 4 x 1000 RFF-MLP; GPU)")
    ap.add_argument("--smoke", action="store_true", help="tiny preset that only checks the pipeline runs")
    ap.add_argument("--errors", nargs="*", default=list(ERRORS))
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--parts", nargs="*", default=list(PARTS), choices=PARTS,
                    help="which experiments to run (default: all)")
    a = ap.parse_args(argv)
    preset = "full" if a.full else "smoke" if a.smoke else "default"
    p = PRESETS[preset]
    t_start = time.perf_counter()
    torch.manual_seed(0)
    res = BenchResult("medida", command="sciml bench medida " + " ".join(argv or []), device=a.device)
    truth = QGModel(nx=p["nx"])
    traj, t_truth = truth_run(truth, p)
    states, future = traj[:p["n_states"]], traj[p["n_states"]:]
    psi_states = truth.psi(states)  # the reference psi, used by every error below
    stages = {"spin-up + truth run": t_truth}
    models = {e: truth.replace(**ERRORS[e]) for e in a.errors}
    # diagnostics use the first error model: its increments and library on the true states, and the
    # model-error signal (its increment minus the truth's), computed once
    h0, th0 = increments(models[a.errors[0]], states)
    signal = float((h0 - increments(truth, states)[0]).pow(2).mean().sqrt())
    fc_uncorrected = {e: forecast_errors(models[e], states, future, p["fc_steps"]) for e in a.errors}
    lines, diag, fc_rows, fc_curves, chosen = [], [], [], {}, {}

    def fit(task, method, err, s, interp_err, psi_err, t_prep, kcut, targets=None, window=1):
        t0 = time.perf_counter()
        med = ModelErrorDiscovery(models[err], threshold=p["threshold"], kcut=kcut, scale=p["scale"],
                                  window=window).fit(s, targets)
        dt = time.perf_counter() - t0
        sc = score(med.coef_, true_coefficients(truth, err))
        name = f"{task}_{err}"
        for metric in ("coef_rel_err", "correct_terms"):
            res.add(name, method, metric, sc[metric])
        res.add(name, method, "interp_rel_err", interp_err, psi_rel_err=psi_err)
        res.add(name, method, "wall_s", t_prep + dt)
        eu, ec = fc_uncorrected[err], forecast_errors(med.corrected_model(), states, future, p["fc_steps"])
        res.add(name, method, "forecast_rel_err", ec[-1], uncorrected=eu[-1], steps=p["fc_steps"])
        fc_rows.append(f"| {name} | {method} | {eu[-1]:.3g} | {ec[-1]:.3g} |")
        if task == "full":
            fc_curves[err] = (eu, ec)
        lines.append(f"| {name} | {method} | {sc['correct_terms']:.0f} | {sc['coef_rel_err']:.3g} | {interp_err:.3g} "
                     f"| {psi_err:.3g} | {t_prep + dt:.1f} | {med.equation().replace(chr(10), '; ')} |")
        print(lines[-1], flush=True)
        return med

    def diagnose(task, method, s, targets=None):
        """Relative errors of the increments and library (all wavenumbers and |k| <= kcut) against
        those computed from the true states, for the first error model."""
        e = a.errors[0]
        h, th = increments(models[e], s, targets)
        lp = lambda f: lowpass(truth, f, p["kcut"])                       # noqa: E731
        col = [rel(th[:, j], th0[:, j]) for j in range(th.shape[1])]
        col_lp = [rel(lp(th[:, j]), lp(th0[:, j])) for j in range(th.shape[1])]
        noise = float((h - h0).pow(2).mean().sqrt())
        noise_lp = float(lp(h - h0).pow(2).mean().sqrt())
        diag.append(f"| {task} | {method} | {rel(s, states):.3g} | {rel(truth.psi(s), psi_states):.3g} "
                    f"| {noise / signal:.3g} | {noise_lp / signal:.3g} | {np.median(col):.3g} | {np.median(col_lp):.3g} |")
        res.add(f"{task}_diag", method, "increment_err_over_signal", noise / signal, lowpassed=noise_lp / signal,
                error_model=e, library_rel_err_median=float(np.median(col)))

    # (a) full, noise-free
    for err in a.errors if "full" in a.parts else ():
        fit("full", "direct", err, states, 0.0, 0.0, 0.0, None)
    # (b) full + 0.1% noise through the stochastic EnKF (which runs the imperfect model); increments
    # = analysis minus the one-step forecast from the analysis history. `obs`: no DA, the noisy
    # observations used as states (a comparison).
    obs_std = 1e-3 * states.pow(2).mean((0, 2, 3)).sqrt()
    y, _ = observe(states, 1.0, 1e-3, seed=1)
    if "noisy" in a.parts:
        diagnose("noisy", "obs", y)
    for err in a.errors if "noisy" in a.parts else ():
        t0 = time.perf_counter()
        qa, _ = StochasticEnKF(models[err], p["members"], loc_radius=p["loc"], inflation=p["inflation"]).run(y, obs_std)
        t_enkf = time.perf_counter() - t0
        stages[f"EnKF ({err}, {len(states)} cycles)"] = t_enkf
        if err == a.errors[0]:
            diagnose("noisy", "direct", qa)
        fit("noisy", "direct", err, qa, rel(qa, states), rel(truth.psi(qa), psi_states), t_enkf, p["kcut"])
        fit("noisy", "obs", err, y, rel(y, states), rel(truth.psi(y), psi_states), 0.0, p["kcut"])
    # (c) sparse: fixed random sensors observing psi (p["observed"]; q as a comparison, methods
    # suffixed _qobs); interpolate every state once per density and method, q from psi spectrally
    to_q = lambda f, obs: f if obs == "q" else truth.ifft(truth.pv_from_psi(truth.fft(f)))   # noqa: E731
    for dens, tag in ((0.5, "sparse50"), (0.25, "sparse25")) if "sparse" in a.parts else ():
        for obs in (p["observed"], "q") if p["observed"] != "q" else ("q",):
            field = states if obs == "q" else psi_states
            vals, mask = observe(field, dens, 0.0, seed=2, fixed=True)
            sfx = "" if obs == p["observed"] else "_qobs"
            for method in SPARSE_METHODS:
                if method == "rff_mlp" and sfx:          # the trained MLP only on the primary observable
                    continue
                t0 = time.perf_counter()
                qi = to_q(interpolate(method, vals.nan_to_num(), mask[:, 0], p, a.device, chosen), obs)
                t_int = time.perf_counter() - t0
                cv = f", CV sigma {chosen['sigma']:g}" if method == "rff" else ""
                stages[f"{method}{sfx} interpolation ({tag}, {len(states)} states{cv})"] = t_int
                diagnose(tag, method + sfx, qi)
                ie, pe = rel(qi, states), rel(truth.psi(qi), psi_states)
                for err in a.errors:
                    fit(tag, method + sfx, err, qi, ie, pe, t_int, p["kcut"])
        if dens == 0.5:          # the same with a new random mask at every time (cubic only)
            obs = p["observed"]
            vals_m, mask_m = observe(states if obs == "q" else psi_states, dens, 0.0, seed=2, fixed=False)
            qi = to_q(interpolate("cubic", vals_m.nan_to_num(), mask_m[:, 0], p, a.device, {}), obs)
            diagnose(tag, "cubic_moving_mask", qi)
            for err in a.errors:
                fit(tag, "cubic_moving_mask", err, qi, rel(qi, states), rel(truth.psi(qi), psi_states), 0.0,
                    p["kcut"])
    # (d) sparse psi observations assimilated by cycling the imperfect models (ADR 0064)
    cycle_table = run_cycled(truth, models, a.errors, states, psi_states, p, fit, diagnose, res, stages,
                             lambda e: true_coefficients(truth, e)) if "cycled" in a.parts else []
    write_page(res, a, p, preset, lines, diag, fc_rows, fc_curves, stages, truth, time.perf_counter() - t_start,
               cycle_table)
    return 0


def interpolate(method: str, vals: torch.Tensor, mask: torch.Tensor, p: dict, device: str,
                chosen: dict) -> torch.Tensor:
    """Fill fixed-sensor fields; ``rff`` picks sigma by cross-validation on the observed points
    (of the first state, stored in ``chosen['sigma']``)."""
    if method == "rff":
        idx = torch.nonzero(mask[0].reshape(-1)).squeeze(1)
        obs = vals.reshape(-1, mask.shape[-1] ** 2)[:, idx].T
        chosen["sigma"] = rff_select_sigma(obs[:, :vals.shape[1]], idx, mask.shape[-1], p["rff_sigmas"],
                                           p["rff_features"], p["rff_ridge"])
        return rff_ridge_interpolate(vals, mask, chosen["sigma"], p["rff_features"], p["rff_ridge"])
    if method == "rff_mlp":
        return rff_interpolate(vals, mask, steps=p["rff_steps"], lr=p["rff_lr"], width=p["rff_width"],
                               depth=p["rff_depth"], n_freq=p["rff_freq"], sigma=p["rff_sigma"], device=device)
    if method == "spectral":
        return spectral_interpolate(vals, mask)
    return scipy_interpolate(vals, mask, "cubic")


def forecast_errors(model: QGModel, states: torch.Tensor, future: torch.Tensor, n: int) -> list[float]:
    """Relative error of ``model``'s n-step forecast from the last states against ``future``, per step."""
    fc = forecast(model, states, n)
    return [rel(fc[i], future[i]) for i in range(len(future))]


if __name__ == "__main__":
    raise SystemExit(main())
