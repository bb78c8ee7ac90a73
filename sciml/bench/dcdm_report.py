"""The page of ``sciml bench dcdm``: per-grid tables, same-run ratios, iteration growth, and the
time-vs-size figure."""
from __future__ import annotations

from pathlib import Path


from sciml.bench.results import BenchResult
from sciml.utils.files import save_figure

METRICS = ("iterations", "setup_s", "solve_s", "total_s", "peak_mem_mb")


def _value(rows, task, method, metric):
    for r in rows:
        if r["task"] == task and r["method"] == method and r["metric"] == metric:
            return r["value"]
    return None


def _fmt(v, metric: str) -> str:
    if v is None:
        return "—"
    return f"{v:.0f}" if metric in ("iterations", "peak_mem_mb") else f"{v:.3g}"


def plot(rows: list[dict], path: Path) -> None:
    """Total time vs unknowns per method, obstacles family; 2-D and 3-D panels (log-log)."""
    import matplotlib

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


def markdown(res: BenchResult, grids, args) -> str:
    rows = res.rows
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [f"rtol {res.meta['rtol']:g}; torch threads {res.meta['threads']}; the fast rows (mg_pcg, mg_learned, amg_sa) are "
             f"medians of {res.meta['repeats']} runs, the others one run capped at {res.meta['cap_s']:g} s "
             "(a capped row has no iterations/total). `total_s` = setup + solve, for one right-hand side.", ""]
    lines += ["## Same-run ratios", "",
              "| task | MG-PCG total (s) | learned V-cycle total (s) | pyamg SA total (s) | MG / SA | learned / SA | "
              "learned / MG | DCDM CNN / MG |", "|---|---|---|---|---|---|---|---|"]
    ratio = lambda a, b: f"{a / b:.3g}" if a and b else "—"  # noqa: E731
    for t in tasks:
        mg, ln, sa, dc = (_value(rows, t, m, "total_s") for m in ("mg_pcg", "mg_learned", "amg_sa", "dcdm_cnn"))
        lines.append(f"| {t} | {_fmt(mg, 's')} | {_fmt(ln, 's')} | {_fmt(sa, 's')} | {ratio(mg, sa)} | {ratio(ln, sa)} | "
                     f"{ratio(ln, mg)} | {ratio(dc, mg)} |")
    lines += ["", "## Iteration growth", "", "| family | method | 64^3 -> 128^3 | 256^2 -> 1024^2 |", "|---|---|---|---|"]
    for fam in dict.fromkeys(r["family"] for r in rows):
        for method in ("mg_pcg", "mg_learned"):
            cells = []
            for small, large in (("64x64x64", "128x128x128"), ("256x256", "1024x1024")):
                a, b = (_value(rows, f"{fam}_{g}", method, "iterations") for g in (small, large))
                cells.append(f"{a:.0f} -> {b:.0f} ({b / a:.2f}x)" if a and b else "—")
            lines.append(f"| {fam} | {method} | " + " | ".join(cells) + " |")
    for shape in grids:
        g = "x".join(map(str, shape))
        lines += ["", f"## {g}", "", "| family | method | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 2) + "|"]
        for t in tasks:
            if not t.endswith("_" + g):
                continue
            for m in methods:
                vals = [_value(rows, t, m, met) for met in METRICS]
                if all(v is None for v in vals):
                    continue
                lines.append(f"| {t[: -len(g) - 1]} | {m} | " + " | ".join(_fmt(v, met) for v, met in zip(vals, METRICS)) + " |")
    capped = [r for r in rows if r["metric"] == "iterations" and r["value"] is None]
    if capped:
        lines += ["", "Not converged to rtol within the cap:", ""]
        lines += [f"- {r['task']} {r['method']}: relative residual {r.get('final_rel_residual', float('nan')):.2e}"
                  for r in capped]
    lines += ["", "![total time vs size](dcdm.png)", ""]
    return "\n".join(lines)
