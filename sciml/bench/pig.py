"""``sciml bench pig``: PIG against the MLP PINN and a Fourier-feature PINN on every PINN problem.

Every row is a ``recipe: pinn`` spec. The ``cpu`` preset's specs name only the problem and the model, so
they run the recipe's defaults: each problem's training budget (``sciml.pinn.training_budget``) and PIG
size, the same loss, collocation budget (points per step, resampled every step), Adam steps (lr x decay
per step) and L-BFGS phase for every method. ``gpu`` sets the paper's budgets and PIG sizes explicitly;
``smoke`` is a seconds-long check of the pipeline. Reports the *final* relative L2 error against the exact
or reference solution (the reference code reports the best seen), training wall time and parameter
counts. Writes ``docs/benchmarks/pig.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import xarray as xr

from sciml.bench.results import BenchResult
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.experiment import ExperimentSpec
from sciml.pinn import get_problem, pig_size, resolve_training, training_budget
from sciml.utils.files import save_figure

TASKS = ["helmholtz2d", "klein_gordon", "flow_mixing", "nonlinear_diffusion", "allen_cahn", "poisson_sharp"]
GPU_TASKS = TASKS + ["helmholtz2d_hf"]
METHODS = ["pig", "pinn", "pinn_fourier"]
SEEDS = {"cpu": 2, "gpu": 3, "smoke": 1}
SMOKE = {"adam_steps": 20, "lbfgs_steps": 1, "lbfgs_max_iter": 5, "n_colloc": 128, "lr": 1e-2, "lr_decay": 0.9995}
PAPER = {"allen_cahn": (1.04e-4, 5.17e-1), "helmholtz2d": (4.13e-5, 4.02e-1), "nonlinear_diffusion": (2.69e-3, 9.50e-3),
         "flow_mixing": (4.51e-4, None), "klein_gordon": (2.76e-3, 3.43e-2), "poisson_sharp": (None, None)}


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", nargs="+", choices=GPU_TASKS, default=None,
                   help="problems to run (default: the preset's; gpu adds helmholtz2d_hf)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=None, help="models to run (default: all three)")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default: cpu 2, gpu 3, smoke 1)")
    p.add_argument("--device", default=None,
                   help="device of every run (default: cpu for the cpu and smoke presets, auto for gpu)")


def spec_params(task: str, method: str, preset: str) -> dict:
    """The recipe parameters of one row: the cpu preset gives only the problem and the model (the defaults)."""
    params: dict = {"problem": task, "model": {"name": method}}
    if preset == "gpu":
        budget = training_budget(task, "gpu")
        if budget["causal_eps"] is None:  # no causal weighting: its slice count says nothing
            budget.pop("causal_slices")
        params.update({k: v for k, v in budget.items() if v is not None})
        if method == "pig":
            params["model"].update(pig_size(task, "gpu"))
    elif preset == "smoke":
        params.update(SMOKE)
    return params


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    tasks = args.tasks or (GPU_TASKS if preset == "gpu" else TASKS)
    device = args.device or ("auto" if preset == "gpu" else "cpu")
    rows = []
    for task in tasks:
        for seed in range(args.seeds or SEEDS[preset]):
            for method in args.methods or METHODS:
                name = f"{task}-{method}-s{seed}"
                spec = ExperimentSpec(recipe="pinn", name=f"pig-{name}", out_dir=str(Path(args.runs) / name), seed=seed,
                                      device=device, params=spec_params(task, method, preset))
                rows.append(Row(task, method, spec))
    return rows


def _slice(a: np.ndarray) -> np.ndarray:
    return a[-1] if a.ndim == 3 else a  # (t, x, y): the final time; 2-D maps as they are


def _panels(fields: dict[str, xr.Dataset]) -> list[tuple[str, np.ndarray]]:
    truth = _slice(fields["pig"].truth.values)
    return [("truth", truth), ("PIG", _slice(fields["pig"].prediction.values))] + \
           [(f"|err| {m}", np.abs(_slice(fields[m].prediction.values) - truth)) for m in ("pig", "pinn")]


def plot(pictures: dict[str, dict[str, xr.Dataset]], path: Path) -> None:
    """Per problem: truth, PIG, |error| of PIG and of the PINN (final time of 3-D problems), Gaussian means."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(pictures), 5, figsize=(17, 3.2 * len(pictures)), squeeze=False)
    for i, (task, fields) in enumerate(pictures.items()):
        coords = get_problem(task).coords
        lab = "final t" if len(coords) == 3 else f"{coords[0]} (rows) x {coords[1]} (cols)"
        for j, (title, img) in enumerate(_panels(fields)):
            ax = axes[i, j]
            im = ax.imshow(img.T, origin="lower", aspect="auto", cmap="RdBu_r" if j < 2 else "magma")
            ax.set_title(f"{task}: {title}" + (f" ({lab})" if j == 0 else ""), fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
        ax, pig = axes[i, 4], fields["pig"]
        k = (1, 2) if len(coords) == 3 else (0, 1)
        for name, colour, label in (("centres_start", "0.7", "start"), ("centres_trained", "C3", "trained")):
            ax.scatter(pig[name].values[:, k[0]], pig[name].values[:, k[1]], s=2, c=colour, label=label)
        ax.set_title(f"Gaussian means ({coords[k[0]]}, {coords[k[1]]})", fontsize=8)
        ax.legend(fontsize=6, markerscale=3)
    fig.tight_layout()
    save_figure(fig, path, dpi=80)
    plt.close(fig)


def seed0_fields(rows: list[Row]) -> dict[str, dict[str, xr.Dataset]]:
    """{task: {method: fields.nc of its seed-0 run}} for the tasks whose pig and pinn fields are all there."""
    out: dict[str, dict[str, xr.Dataset]] = {}
    for r in rows:
        path = Path(r.spec.out_dir) / "fields.nc"
        if r.spec.seed == 0 and path.is_file():
            with xr.open_dataset(path) as ds:
                out.setdefault(r.task, {})[r.method] = ds.load()
    return {t: f for t, f in out.items() if {"pig", "pinn"} <= set(f)}


def budget_cell(row: Row) -> str:
    """"Adam steps / decay / L-BFGS / points" of a row's spec (its defaults filled in)."""
    problem = get_problem(row.task)
    b = resolve_training(problem, {k: row.spec.params.get(k) for k in training_budget(problem)})
    causal = " + causal" if b["causal_eps"] else ""
    return f"{b['adam_steps']} / {b['lr_decay']:.4g} / {b['lbfgs_steps']}x{b['lbfgs_max_iter']} / {b['n_colloc']}{causal}"


def table_line(res: BenchResult, task: str, budget: str) -> str:
    summ = res.summary()

    def g(m, k):
        return summ.get((task, m, k), (float("nan"), 0.0, 0))

    def err(m):
        mean, std, n = g(m, "rel_l2")
        return f"{mean:.2e}" + (f" ± {std:.1e}" if n > 1 else "")

    def wall(m):
        v = [r["value"] for r in res.rows if (r["task"], r["method"], r["metric"]) == (task, m, "wall_s")]
        return f"{statistics.median(v):.0f}" if v else "—"

    fmt = lambda v: "—" if v is None else f"{v:.2e}"  # noqa: E731
    paper = PAPER.get(task, (None, None))
    return (f"| {task} | {budget} | {err('pig')} | {err('pinn')} | {err('pinn_fourier')} | "
            f"{g('pinn', 'rel_l2')[0] / g('pig', 'rel_l2')[0]:.1f} | {wall('pig')} | {wall('pinn')} | "
            f"{wall('pinn_fourier')} | {g('pig', 'params')[0]:.0f} | {g('pinn', 'params')[0]:.0f} | "
            f"{fmt(paper[0])} | {fmt(paper[1])} |")


def report(res: BenchResult, args: argparse.Namespace) -> str:
    rows = sweep(args.preset, args)
    seeds = sorted({r.spec.seed for r in rows})
    lines = [f"Preset `{args.preset}`: Adam (lr multiplied by the decay every step), then an optional L-BFGS phase "
             "(outer steps of up to the given iterations) on frozen points; as many BC/IC points as interior "
             "points, all resampled every Adam step. The budget is the same for every method on a problem; the "
             "cpu preset's specs give only the problem and the model, so they run the `pinn` recipe's defaults. "
             "Relative L2 is the *final* one (not the best seen), mean ± std over "
             f"{len(seeds)} seed(s) ({seeds[0]}..{seeds[-1]}); wall times (training only) are medians over seeds. "
             "`--preset gpu` uses the paper's budgets.", "",
             "| problem | Adam its / decay / L-BFGS / points | PIG rel L2 | PINN rel L2 | Fourier PINN rel L2 | "
             "PINN / PIG | PIG s | PINN s | Fourier s | PIG params | PINN params | paper PIG | paper PINN |",
             "|---" * 13 + "|"]
    for task in dict.fromkeys(r["task"] for r in res.rows):
        lines.append(table_line(res, task, budget_cell(next(r for r in rows if r.task == task))))
    pictures = seed0_fields(rows)
    if pictures:
        plot(pictures, Path(args.out) / f"{res.benchmark}.png")
        lines += ["", f"![solutions, errors and Gaussian means (seed 0)]({res.benchmark}.png)"]
    total = sum(r["value"] for r in res.rows if r["metric"] == "wall_s" and r["value"] is not None)
    lines += ["", f"Training time of all rows: {total:.0f} s.", ""]
    return "\n".join(lines)


register_benchmark(Benchmark(name="pig", summary=__doc__.splitlines()[0].split(": ", 1)[1], sweep=sweep,
                             report=report, presets=("cpu", "gpu", "smoke"), options=add_options))
