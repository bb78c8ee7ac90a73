"""The page of ``sciml bench sinenet``: tables per system, the K trend, the rollout and field figures.

Every number is a score of a ``trajectory`` run (:mod:`sciml.evaluate.trajectory`): the tables and data
notes from the benchmark's rows, the rollout curves and the fields from the runs' ``eval.nc``.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from sciml.bench.results import BenchResult
from sciml.data import open_dataset
from sciml.evaluate.trajectory import TRAIN_DEFAULTS, WARMUP_FRACTION
from sciml.utils.files import save_figure

METRICS = ["one_step_rel_l2", "rollout_rel_l2", "params", "gmacs", "s_per_epoch"]
ABLATION_METRICS = METRICS[:2] + ["train_one_step_rel_l2", "val_rollout_rel_l2", "selected_epoch", "optimizer_steps"]
FIELD_METHODS = ("unet", "sinenet-8")
SYSTEMS_TEXT = (
    "Systems: `ns` = 2-D vorticity Navier-Stokes on the torus (nu = 1e-3, Kolmogorov forcing, GRF initial "
    "conditions, frames 1 time unit apart); `smoke` = buoyant smoke plumes in a closed free-slip box "
    "(semi-Lagrangian advection, exact cosine-basis pressure projection), fields s, u, v, frames 0.1 apart; "
    "`wave_box` (optional) = damped wave equation in a box with walls. `sinenet-8-zeropad` only runs on the "
    "periodic system (zero padding is already every model's boundary treatment in a box).")


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


def run_eval(args: argparse.Namespace, system: str, method: str, seed: int):
    """The ``eval.nc`` of one run (an xarray Dataset, loaded), or None if the run has not written one."""
    from sciml.bench.sinenet import run_name

    path = Path(args.runs) / run_name(system, method, seed) / "eval.nc"
    if not path.is_file():
        return None
    with open_dataset(path) as f:
        return f.load()


def rollout_curves(res: BenchResult, args: argparse.Namespace) -> dict[str, dict[str, list[np.ndarray]]]:
    """system -> method -> each seed's rollout error per step (mean over the test trajectories)."""
    curves: dict = {}
    for r in res.rows:
        if r["metric"] == "rollout_rel_l2" and "ablation" not in r:
            ev = run_eval(args, r["task"], r["method"], r["seed"])
            if ev is not None:
                curve = ev["rollout_rel_l2_per_step"].mean("sample").values
                curves.setdefault(r["task"], {}).setdefault(r["method"], []).append(curve)
    return curves


def field_pictures(res: BenchResult, args: argparse.Namespace) -> dict[str, dict[str, np.ndarray]]:
    """system -> {"truth", "unet", "sinenet-8"}: the first field at the last rollout step of the first test
    trajectory, from the lowest seed's runs."""
    pictures: dict = {}
    for system in dict.fromkeys(r["task"] for r in res.rows):
        seeds = [r["seed"] for r in res.rows if r["task"] == system and r["method"] in FIELD_METHODS]
        for method in FIELD_METHODS:
            ev = run_eval(args, system, method, min(seeds)) if seeds else None
            if ev is not None:
                v = [n[:-len("_rollout_end")] for n in ev.data_vars if n.endswith("_rollout_end")][0]
                pictures.setdefault(system, {"truth": ev[f"{v}_truth_end"].values[0]})[method] = \
                    ev[f"{v}_rollout_end"].values[0]
    return pictures


def figures(curves: dict, pictures: dict, out: Path, name: str) -> tuple[Path | None, Path | None]:
    """The rollout-error curves (``NAME.png``) and the true vs predicted fields (``NAME_fields.png``), ``name``
    the page's (``sinenet`` for the cpu preset)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.evaluate import plot_panels

    curve_path = field_path = None
    if curves:
        fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
        for ax, (system, methods) in zip(axes[0], curves.items()):
            for method, runs in methods.items():
                c = np.mean(runs, axis=0)
                ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, label=method)
            ax.set(title=system, xlabel="rollout step", ylabel="relative L2", yscale="log")
            ax.legend(fontsize=7)
        fig.tight_layout()
        curve_path = out / f"{name}.png"
        save_figure(fig, curve_path, dpi=110)
        plt.close(fig)
    rows = {s: {"truth": d["truth"], **{m: d[m] for m in FIELD_METHODS if m in d},
                **{f"error {m}": d[m] - d["truth"] for m in FIELD_METHODS if m in d}} for s, d in pictures.items()}
    if rows:
        field_path = plot_panels(rows, out / f"{name}_fields.png", cmap="RdBu_r")
    return curve_path, field_path


def system_scores(res: BenchResult, system: str) -> dict[str, float]:
    """Mean over a system's main rows of each data score (they are the same in every run of the system)."""
    keys = ("persistence_one_step_rel_l2", "persistence_rollout_rel_l2", "n_train", "n_test", "train_windows",
            "epochs", "optimizer_steps")
    values: dict = {}
    for r in res.rows:
        if r["task"] == system and r["metric"] in keys and "ablation" not in r and r["value"] is not None:
            values.setdefault(r["metric"], []).append(r["value"])
    return {k: statistics.fmean(v) for k, v in values.items()}


def data_note(s: dict[str, float]) -> str:
    """Persistence for scale and the data sizes of one system."""
    if "persistence_rollout_rel_l2" not in s:
        return ""
    return (f"Persistence (copy the last input frame), for scale: one-step {s['persistence_one_step_rel_l2']:.4f}, "
            f"rollout {s['persistence_rollout_rel_l2']:.4f}. Data: training on {s['n_train']:.0f} trajectories "
            f"({s['train_windows']:.0f} windows), testing on {s['n_test']:.0f} others; {s['epochs']:.0f} epochs, "
            f"{s['optimizer_steps']:.0f} optimiser steps per model.")


def protocol(res: BenchResult, args: argparse.Namespace) -> str:
    """The paragraph that says how every row was trained and scored."""
    from sciml.bench.sinenet import SYSTEMS, system_preset

    systems = [s for s in SYSTEMS if any(r["task"] == s for r in res.rows)]

    def sizes(system: str) -> dict:
        p = system_preset(args.preset, system, getattr(args, "epochs", None))
        return {k: v for k, v in p.items() if k not in ("seeds", "device")}

    sizes_text = "; ".join(f"{s}: {sizes(s)}" for s in systems)
    hist = ", ".join(f"{s}: {SYSTEMS[s][3]}" for s in systems)
    seeds = sorted({r["seed"] for r in res.rows})
    wall = sum(r["value"] for r in res.rows if r["metric"] == "wall_s" and r["value"] is not None)
    return (f"Preset `{args.preset}` ({sizes_text}). History frames ({hist}); seeds {', '.join(map(str, seeds))}, "
            f"mean ± std. Every row is one run of the `trajectory` recipe at its defaults, so every method of a "
            f"system has the same data, AdamW (lr {TRAIN_DEFAULTS['lr']:g}, wd {TRAIN_DEFAULTS['weight_decay']:g}), "
            f"the same epochs with {WARMUP_FRACTION:.0%} warmup then cosine to {TRAIN_DEFAULTS['min_lr']:g}, the "
            f"same batch, relative L2 per sample and field in normalised space, one-step teacher forcing, every "
            f"model predicting the increment over the last input frame (output layer zero-initialised, so training "
            f"starts at persistence), the last epoch's model tested. Errors are relative L2 in physical units on "
            f"unseen test trajectories: one-step over all test windows; rollout = mean over the autoregressive "
            f"steps from each test trajectory's first frames. GMACs: one forward pass on one sample (torch "
            f"FlopCounterMode). Wall time: {wall:.0f} s summed over the rows (`wall_s` of each row in the JSON). "
            f"`sciml bench sinenet --dry-run` prints every row's spec; each runs alone with `sciml train`.")


def ablation_section(res: BenchResult, system: str) -> list[str]:
    """The table of the rows with one setting changed (none: no section)."""
    from sciml.bench.sinenet import ABLATION_TEXT

    rows = [r for r in res.rows if r["task"] == system and "ablation" in r]
    if not rows:
        return []
    used = dict.fromkeys(r["ablation"] for r in rows)
    methods = [m for m in ("unet", "sinenet-8") if any(r["method"] == m for r in res.rows if r["task"] == system)]
    methods += list(dict.fromkeys(r["method"] for r in rows))
    return [f"### {system}: one setting changed", "; ".join(f"`{a}`: {ABLATION_TEXT[a]}" for a in used) + ".",
            res.markdown_table(system, ABLATION_METRICS, methods)]


def report(res: BenchResult, args: argparse.Namespace) -> str:
    """The page's markdown (the figures are written into ``args.out``)."""
    from sciml.bench.sinenet import METHODS

    out = Path(args.out)
    curve_path, field_path = figures(rollout_curves(res, args), field_pictures(res, args), out, res.benchmark)
    body = [protocol(res, args), SYSTEMS_TEXT]
    for system in dict.fromkeys(r["task"] for r in res.rows):
        present = {r["method"] for r in res.rows if r["task"] == system and "ablation" not in r}
        order = [m for m in METHODS if m in present]
        body += [f"## {system}", res.markdown_table(system, METRICS, order), k_trend(res.rows, system)]
        note = data_note(system_scores(res, system))
        body += ([note] if note else []) + ablation_section(res, system)
    if curve_path is not None:
        body.append(f"![rollout error vs step]({curve_path.name})")
    if field_path is not None:
        body.append(f"![true vs predicted, last rollout step]({field_path.name})")
    return "\n\n".join(body)
