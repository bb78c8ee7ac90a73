"""The pages of ``sciml bench dcdm``: per-grid tables, same-run ratios, iteration growth and the time-vs-size
figure (cpu and smoke presets); the goal table and per-grid tables on the device (gpu preset).

Ratios compare rows measured in this run only: a row the runner reused from an earlier run's folder (its
``measured_unix_s`` is older than the run's start) is listed apart and enters no ratio, since a machine's
load changes between runs.
"""
from __future__ import annotations

from pathlib import Path

from sciml.bench.results import BenchResult
from sciml.utils.files import save_figure

METRICS = ("iterations", "setup_s", "solve_s", "total_s", "peak_mem_mb")
GPU_METRICS = ("iterations", "setup_s", "solve_s", "total_s", "peak_gpu_mem_mb")
GOAL_GRID, GOAL_SPEEDUP = "128x128x128", 5.0


def _value(rows, task, method, metric):
    for r in rows:
        if r["task"] == task and r["method"] == method and r["metric"] == metric:
            return r["value"]
    return None


def _fmt(v, metric: str) -> str:
    if v is None:
        return "—"
    return f"{v:.0f}" if metric in ("iterations", "peak_mem_mb") else f"{v:.3g}"


def reused_cells(res: BenchResult, started_unix_s: float) -> set[tuple[str, str]]:
    """(task, method) of the rows measured before this run started at ``started_unix_s`` (reused by the runner)."""
    return {(r["task"], r["method"]) for r in res.rows
            if r["metric"] == "measured_unix_s" and r["value"] is not None and r["value"] < started_unix_s}


def this_run(res: BenchResult, started_unix_s: float) -> list[dict]:
    """The rows measured in this run (the only ones ratios may compare)."""
    old = reused_cells(res, started_unix_s)
    return [r for r in res.rows if (r["task"], r["method"]) not in old]


def plot(rows: list[dict], path: Path) -> None:
    """Total time vs unknowns per method, obstacles family; 2-D and 3-D panels (log-log)."""
    import matplotlib  # the headless backend is chosen only where a figure is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    methods = sorted({r["method"] for r in rows})
    colour = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(methods)}  # one colour per method, both panels
    for ax, dim in zip(axes, (2, 3)):
        pts: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            if r["metric"] == "total_s" and r["family"] == "obstacles" and len(r["grid"]) == dim and r["value"]:
                pts.setdefault(r["method"], []).append((r["n_cells"], r["value"]))
        for method, p in sorted(pts.items()):
            p.sort()
            ax.loglog(*zip(*p), marker="o", label=method, color=colour[method])
        ax.set_title(f"obstacles, {dim}-D (rows that converged)"), ax.set_xlabel("unknowns")
        if pts:
            ax.legend(fontsize=8)
    axes[0].set_ylabel("setup + solve to rtol 1e-6 (s)")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def ratio_lines(rows: list[dict], tasks: list[str]) -> list[str]:
    """The same-run ratios against pyamg SA and the multigrid, per task."""
    lines = ["## Same-run ratios", "",
             "| task | MG-PCG total (s) | learned V-cycle total (s) | pyamg SA total (s) | MG / SA | learned / SA | "
             "learned / MG | DCDM CNN / MG |", "|---|---|---|---|---|---|---|---|"]
    ratio = lambda a, b: f"{a / b:.3g}" if a and b else "—"
    for t in tasks:
        mg, ln, sa, dc = (_value(rows, t, m, "total_s") for m in ("mg_pcg", "mg_learned", "amg_sa", "dcdm_cnn"))
        lines.append(f"| {t} | {_fmt(mg, 's')} | {_fmt(ln, 's')} | {_fmt(sa, 's')} | {ratio(mg, sa)} | "
                     f"{ratio(ln, sa)} | {ratio(ln, mg)} | {ratio(dc, mg)} |")
    return lines


def growth_lines(rows: list[dict]) -> list[str]:
    """Iterations of the two V-cycles from 64^3 to 128^3 and from 256^2 to 1024^2, per family."""
    lines = ["## Iteration growth", "", "| family | method | 64^3 -> 128^3 | 256^2 -> 1024^2 |", "|---|---|---|---|"]
    for fam in dict.fromkeys(r["family"] for r in rows):
        for method in ("mg_pcg", "mg_learned"):
            cells = []
            for small, large in (("64x64x64", "128x128x128"), ("256x256", "1024x1024")):
                a, b = (_value(rows, f"{fam}_{g}", method, "iterations") for g in (small, large))
                cells.append(f"{a:.0f} -> {b:.0f} ({b / a:.2f}x)" if a and b else "—")
            lines.append(f"| {fam} | {method} | " + " | ".join(cells) + " |")
    return lines


def grid_tables(rows: list[dict], grids, metrics) -> list[str]:
    """One table per grid: every (family, method) row with its metrics."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = []
    for shape in grids:
        g = "x".join(map(str, shape))
        lines += ["", f"## {g}", "", "| family | method | " + " | ".join(metrics) + " |",
                  "|---" * (len(metrics) + 2) + "|"]
        for t in (t for t in tasks if t.endswith("_" + g)):
            for m in methods:
                if any(r["task"] == t and r["method"] == m for r in rows):
                    vals = [_value(rows, t, m, met) for met in metrics]
                    cells = " | ".join(_fmt(v, met) for v, met in zip(vals, metrics))
                    lines.append(f"| {t[: -len(g) - 1]} | {m} | {cells} |")
    return lines


def note_lines(res: BenchResult, started_unix_s: float) -> list[str]:
    """The rows that did not converge within the cap, and those reused from an earlier run."""
    rows, lines = res.rows, []
    capped = [r for r in rows if r["metric"] == "iterations" and r["value"] is None]
    if capped:
        lines += ["", "Not converged to rtol within the cap:", ""]
        for r in capped:
            final = _value(rows, r["task"], r["method"], "final_rel_residual")
            residual = "—" if final is None else f"{final:.2e}"
            lines.append(f"- {r['task']} {r['method']}: relative residual {residual}")
    reused = sorted(reused_cells(res, started_unix_s))
    if reused:
        lines += ["", "Reused from an earlier run (in the tables, in no ratio; `--fresh` remeasures them):", ""]
        lines += [f"- {t} {m}" for t, m in reused]
    return lines


def cpu_markdown(res: BenchResult, grids, started_unix_s: float) -> str:
    meta, fresh = res.meta, this_run(res, started_unix_s)
    lines = [f"rtol {meta['rtol']:g}; torch threads {meta['threads']}; the fast rows (mg_pcg, mg_learned, amg_sa) are "
             f"medians of {meta['repeats']} runs, the others one run capped at {meta['cap_s']:g} s "
             "(a capped row has no iterations/total). `total_s` = setup + solve, for one right-hand side. "
             "Every row ran in this one process, one after another.", ""]
    lines += ratio_lines(fresh, list(dict.fromkeys(r["task"] for r in res.rows)))
    lines += [""] + growth_lines(res.rows)
    lines += grid_tables(res.rows, grids, METRICS) + note_lines(res, started_unix_s)
    lines += ["", f"![total time vs size]({res.benchmark}.png)", ""]
    return "\n".join(lines)


def goal_lines(rows: list[dict], device: str) -> list[str]:
    """Learned V-cycle and multigrid vs CG on the device at 128^3, per family, from this run's rows:
    speed-ups in total time (the goal) and in solve time alone (setup, e.g. the stencil detection in the
    CSR matrix on the host, excluded)."""
    kind = device.split(":")[0]
    suffix = "" if kind == "cpu" else f"_{kind}"
    cg, ln, mg = (m + suffix for m in ("cg", "mg_learned", "mg_pcg"))
    lines = [f"## Goal: learned solver vs GPU CG at 128^3 (target >= {GOAL_SPEEDUP:g}x)", "",
             f"Speed-up = {cg} time / solver time, in total_s (setup + solve, one right-hand side; the goal) and "
             "in solve_s alone.", "",
             f"| family | {cg} total (s) | {ln} total (s) | {mg} total (s) | learned speed-up | multigrid speed-up | "
             f"learned solve-only speed-up | learned >= {GOAL_SPEEDUP:g}x |", "|---|---|---|---|---|---|---|---|"]
    families = dict.fromkeys(r["family"] for r in rows if r["task"].endswith("_" + GOAL_GRID))
    speed = lambda a, b: a / b if a and b else None
    for fam in families:
        t = f"{fam}_{GOAL_GRID}"
        c, l_, m = (_value(rows, t, x, "total_s") for x in (cg, ln, mg))
        cs, ls = (_value(rows, t, x, "solve_s") for x in (cg, ln))
        verdict = "—" if speed(c, l_) is None else ("yes" if speed(c, l_) >= GOAL_SPEEDUP else "no")
        lines.append(f"| {fam} | {_fmt(c, 's')} | {_fmt(l_, 's')} | {_fmt(m, 's')} | {_fmt(speed(c, l_), 's')} | "
                     f"{_fmt(speed(c, m), 's')} | {_fmt(speed(cs, ls) if c else None, 's')} | {verdict} |")
    if not families:
        lines.append(f"| (the {GOAL_GRID} grid did not run) | — | — | — | — | — | — | — |")
    return lines


def gpu_markdown(res: BenchResult, grids, device: str, started_unix_s: float) -> str:
    meta = res.meta
    lines = [f"Device: {device}. rtol {meta['rtol']:g}; every row is the median of up to {meta['repeats']} runs "
             "(a run that did not converge or took over 2 s is not repeated; `repeats` in the JSON), each capped at "
             f"{meta['cap_s']:g} s, after an untimed warm-up solve on a 16x16x16 grid. `total_s` = setup + solve, "
             "for one right-hand side; timings are taken between device synchronisations; `peak_gpu_mem_mb` is "
             "device memory above the level at the row's start. CG and Jacobi-PCG run matrix-free on the stencil "
             "operator in float64.", ""]
    lines += goal_lines(this_run(res, started_unix_s), device)
    metrics = GPU_METRICS if device.startswith("cuda") else METRICS
    lines += grid_tables(res.rows, grids, metrics) + note_lines(res, started_unix_s)
    lines += ["", f"![total time vs size]({res.benchmark}.png)", ""]
    return "\n".join(lines)


def page(res: BenchResult, out: Path, grids, device: str, on_device: bool, started_unix_s: float) -> str:
    """The markdown of the run that started at ``started_unix_s`` (the gpu preset's page when ``on_device``),
    its figure written into ``out``."""
    plot(res.rows, Path(out) / f"{res.benchmark}.png")
    if on_device:
        return gpu_markdown(res, grids, device, started_unix_s)
    return cpu_markdown(res, grids, started_unix_s)
