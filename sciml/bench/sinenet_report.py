"""The page of ``sciml bench sinenet``: tables per system, the K trend, the rollout and field figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sciml.bench.results import BenchResult
from sciml.utils.files import save_figure


def k_trend(rows: list[dict], system: str, metric: str = "rollout_rel_l2") -> str:
    """One markdown line per seed: ``metric`` for K = 1, 2, 4, 8 and whether it falls monotonically."""
    ks = {"unet": 1, "sinenet-2": 2, "sinenet-4": 4, "sinenet-8": 8}
    by_seed: dict = {}
    for r in rows:
        if r["task"] == system and r["metric"] == metric and r["method"] in ks:
            by_seed.setdefault(r["seed"], {})[ks[r["method"]]] = r["value"]
    lines = []
    for seed, v in sorted(by_seed.items()):
        vals = [v.get(k) for k in (1, 2, 4, 8)]
        mono = all(a is not None and b is not None and b < a for a, b in zip(vals, vals[1:]))
        lines.append(f"seed {seed}: " + ", ".join(f"K={k} {x:.4f}" for k, x in zip((1, 2, 4, 8), vals) if x is not None)
                     + (" (falls monotonically)" if mono else " (not monotone)"))
    return f"K trend of {metric} at equal parameters: " + "; ".join(lines) + "."


def figures(curves: dict, pictures: dict, out: Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.evaluate import plot_panels

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
    for ax, (system, methods) in zip(axes[0], curves.items()):
        for method, runs in methods.items():
            c = np.mean(runs, axis=0)
            ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, label=method)
        ax.set(title=system, xlabel="rollout step", ylabel="relative L2", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    curve_path = out / "sinenet.png"
    save_figure(fig, curve_path, dpi=110)
    plt.close(fig)
    rows = {s: {"truth": d["truth"], **{m: d[m] for m in ("unet", "sinenet-8") if m in d},
                **{f"error {m}": d[m] - d["truth"] for m in ("unet", "sinenet-8") if m in d}} for s, d in pictures.items()}
    if rows:
        return curve_path, plot_panels(rows, out / "sinenet_fields.png", cmap="RdBu_r")
    # a --merge run without the U-Net / SineNet-8 keeps the fields figure of the run that had them
    return curve_path, (out / "sinenet_fields.png" if (out / "sinenet_fields.png").exists() else None)


def rollout_curves(rows: list[dict]) -> dict[str, dict[str, list[list[float]]]]:
    """system -> method -> the per-step rollout errors of each seed, from the rollout rows' ``per_step``."""
    curves: dict = {}
    for r in rows:
        if r["metric"] == "rollout_rel_l2" and r.get("per_step"):
            curves.setdefault(r["task"], {}).setdefault(r["method"], []).append(r["per_step"])
    return curves


def wall_time_text(per_command: dict[str, float], last_s: float) -> str:
    """The last command's wall time, and the sum over every merged command whose time was recorded."""
    if len(per_command) <= 1:
        return f"{last_s:.0f} s"
    return (f"{last_s:.0f} s for the last command, {sum(per_command.values()):.0f} s summed over the "
            f"{len(per_command)} commands whose rows are merged here (each one's time is in the JSON's meta)")


def write_page(res: BenchResult, out: Path, command: str, name: str, p: dict, systems: list[str], select: str,
               n_val: int, notes: dict, pictures: dict, wall_s: float, device) -> None:
    """Write OUT/sinenet.{json,md} and the two figures for ``systems`` (``notes``: per-system data facts;
    ``pictures``: fields of this run's first seed; the curves come from the rows, merged ones included)."""
    from sciml.bench.sinenet import METHODS, SYSTEMS, TARGETS, system_preset

    curve_path, field_path = figures(rollout_curves(res.rows), pictures, out)
    metrics = ["one_step_rel_l2", "rollout_rel_l2", "params", "gmacs", "s_per_epoch"]
    if select == "val-rollout":
        metrics += ["val_rollout_rel_l2", "selected_epoch"]
    hist = ", ".join(f"{s_}: {SYSTEMS[s_][3]}" for s_ in systems)
    per_sys = "; ".join(f"{s_}: {system_preset(p, s_)}" for s_ in systems)
    sel_text = ("last-epoch model (no selection)" if select == "last" else
                f"the epoch with the lowest mean rollout error on {n_val} validation trajectories carved from the "
                f"training ones (trained on the rest) is the model tested")
    body = [f"Command `{command}`, preset `{name}` ({per_sys}). History frames ({hist}); "
            f"seeds {p['first_seed']}..{p['first_seed'] + p['seeds'] - 1}, mean ± std. Every method of a system: same data, AdamW (lr {p.get('lr', 1e-3):g}, wd 1e-5), "
            f"same epochs (above) with 10% warmup then cosine, batch {p['batch']}, relative L2 per sample and field in normalised space, "
            f"one-step teacher forcing, every model predicting {TARGETS[p.get('target', 'increment')]}, {sel_text}. Errors are relative L2 in physical units on "
            f"unseen test trajectories: one-step over all test windows; rollout = mean over {p['rollout']} "
            f"autoregressive steps from each test trajectory's first frames. GMACs: one forward pass on one sample "
            f"(torch FlopCounterMode). Wall time: {wall_time_text(res.meta.get('wall_s', {}), wall_s)} on {device}.",
            "Systems: `ns` = 2-D vorticity Navier-Stokes on the torus (nu = 1e-3, Kolmogorov forcing, GRF initial "
            "conditions, frames 1 time unit apart); `smoke` = buoyant smoke plumes in a closed free-slip box "
            "(semi-Lagrangian advection, exact cosine-basis pressure projection), fields s, u, v, frames 0.1 apart; "
            "`wave_box` (optional) = damped wave equation in a box with walls. `sinenet-8-zeropad` only runs on the "
            "periodic system (zero padding is already every model's boundary treatment in a box)."]
    for system in systems:
        present = {r["method"] for r in res.rows if r["task"] == system}
        order = [m for m in METHODS if m in present] + sorted(present - set(METHODS))  # merged runs: issue order
        body += [f"## {system}", res.markdown_table(system, metrics, order), k_trend(res.rows, system)]
        pn = notes.get(system)
        if pn:  # rows merged from a JSON written before the data notes were stored have none
            body.append(
                f"Persistence (copy the last input frame), for scale: one-step {pn['persistence_one_step']:.4f}, "
                f"rollout {pn['persistence_rollout']:.4f}. Data: {pn['n_generated']} trajectories generated in "
                f"{pn['generation_s']:.1f} s (training: the first {pn['n_train']}, {pn['train_windows']} windows; "
                f"test: the last {pn['n_test']}); {pn['epochs']} epochs, {pn['steps']} optimiser steps per model"
                + (f" (sized by --budget-s {pn['budget_s']:g})." if pn.get("budget_s") else "."))
    body += [f"![rollout error vs step]({curve_path.name})"]
    if field_path is not None:
        body.append(f"![true vs predicted, last rollout step]({field_path.name})")
    res.write(out, "\n\n".join(body))
