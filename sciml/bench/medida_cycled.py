"""The cycled rows of ``sciml bench medida``: sparse psi observations assimilated by cycling the
imperfect model (ADR 0064), then the usual regression on the analyses' increments.

Methods: ``rff_cycled`` / ``cubic_cycled`` use the fixed sensors of the ``rff`` / ``cubic`` rows;
``*_moving`` draw a new random mask at every observation time. The cycle starts ``cycle_pre``
steps before the regression window (observations of the truth over that spin-up are used); the
regression sees the last ``n_states`` analyses, as every other method. ``*_obs`` rows: the same
analyses, regressed in observation space (:func:`~sciml.discovery.cycled.observation_space_fit`).
"""
from __future__ import annotations

import time

import torch

from sciml.discovery.cycled import cycled_analysis, observation_space_fit
from sciml.discovery.interpolate import CubicFill, RidgeFill
from sciml.discovery.estimator import score
from sciml.discovery.observe import observe
from sciml.pde.qg import QGModel
from sciml.train.metrics import rel_l2

CHECKPOINTS = (0, 5, 10, 20, 40, 70, 100)


def pre_window(truth: QGModel, p: dict, states: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The ``cycle_pre`` truth states before ``states[0]``: a spin-up ``cycle_pre`` steps shorter
    (cached), continued. Returns (states (cycle_pre, 2, n, n), the relative mismatch of the step
    after them against ``states[0]``: round-off, from restarting the run from a saved state)."""
    from sciml.bench.medida import cached_spin_up  # lazily: medida imports this module

    n_pre = p["cycle_pre"]
    q, hist = cached_spin_up(truth, p["spinup"] - n_pre)
    traj, _ = truth.run(q, n_pre + 1, history=hist)
    traj = traj[:, 0]
    mismatch = float(rel_l2(traj[-1].reshape(1, -1), states[0].reshape(1, -1))[0])
    return traj[:-1], mismatch


def run_cycled(truth, models, errors, states, psi_states, p, fit, diagnose, res, stages, true_coef) -> list[str]:
    """Adds the cycled rows through ``fit`` / ``diagnose`` (the bench's closures; ``true_coef(error)``
    gives the true coefficients) and returns the page's table of analysis error against cycle
    (error model ``errors[0]``)."""
    from sciml.bench.medida import rel  # lazily: medida imports this module

    t0 = time.perf_counter()
    pre, mismatch = pre_window(truth, p, states)
    stages[f"truth before the window ({p['cycle_pre']} steps; restart mismatch {mismatch:.1e})"] = \
        time.perf_counter() - t0
    window = torch.cat([pre, states])
    psi_window = torch.cat([truth.psi(pre), psi_states])
    n = len(states)
    table = []
    for dens, tag in ((0.5, "sparse50"), (0.25, "sparse25")):
        for sensors in p["cycle_sensors"]:
            vals, mask = observe(psi_window, dens, 0.0, seed=2, fixed=sensors == "fixed")
            for meth in ("rff", "cubic"):
                name = f"{meth}_cycled" + ("" if sensors == "fixed" else "_moving")
                fill = RidgeFill(truth.nx, p["cycle_sigma"], p["rff_features"], p["rff_ridge"]) if meth == "rff" \
                    else CubicFill()
                t0 = time.perf_counter()
                xa, _ = cycled_analysis([models[e] for e in errors], vals, mask[:, 0], fill)
                t_cyc = time.perf_counter() - t0
                stages[f"{name} cycle ({tag}, {len(window)} cycles, {len(errors)} models)"] = t_cyc
                errs = [(t, rel(xa[t, 0], window[t]), rel(truth.psi(xa[t, 0]), psi_window[t]))
                        for t in CHECKPOINTS if t < len(window)] + \
                       [(len(window) - 1, rel(xa[-1, 0], window[-1]), rel(truth.psi(xa[-1, 0]), psi_window[-1]))]
                for t, eq, ep in errs:
                    res.add(f"{tag}_cycle", name, "analysis_rel_err", eq, cycle=t, psi_rel_err=ep,
                            error_model=errors[0])
                table.append(f"| {tag} | {name} | " + " | ".join(f"{eq:.3g} / {ep:.3g}" for _, eq, ep in errs) + " |")
                print(table[-1], flush=True)
                diagnose(tag, name, xa[-n:, 0])
                for i, e in enumerate(errors):
                    s = xa[-n:, i]
                    fit(tag, name, e, s, rel(s, states), rel(truth.psi(s), psi_states), t_cyc / len(errors),
                        p["kcut"], window=p["cycle_window"])
                    t1 = time.perf_counter()
                    coef, _ = observation_space_fit(models[e], s, vals[-n:], mask[-n:, 0], "psi", "stlsq",
                                                    p["threshold"])
                    sc = score(coef, true_coef(e))
                    res.add(f"{tag}_{e}", name + "_obs", "coef_rel_err", sc["coef_rel_err"])
                    res.add(f"{tag}_{e}", name + "_obs", "correct_terms", sc["correct_terms"])
                    res.add(f"{tag}_{e}", name + "_obs", "interp_rel_err", rel(s, states),
                            psi_rel_err=rel(truth.psi(s), psi_states))
                    res.add(f"{tag}_{e}", name + "_obs", "wall_s", t_cyc / len(errors) + time.perf_counter() - t1)
    head = " | ".join(f"cycle {t}" for t, _, _ in errs)
    return [f"| task | method | {head} |", "|---|---|" + "---|" * len(errs), *table]

