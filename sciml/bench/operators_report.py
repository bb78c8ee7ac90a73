"""The ``sciml bench operators`` report: the page's text, tables, the issue's Darcy target, the verdict per
baseline and the figure of inputs, truth, predictions and errors (computed from the result rows only)."""
from __future__ import annotations

from pathlib import Path

from sciml.bench.results import BenchResult
from sciml.evaluate import plot_panels


def figure(examples: dict, path: Path) -> Path:
    rows = {}
    for task, ex in examples.items():
        row = {f"input {task}": ex["input"], "truth": ex["truth"]}
        for m in ("mgno", "mgno_bilinear", "fno", "fno_neuralop", "unet"):
            if m in ex:
                row[m] = ex[m]
        for m in ("mgno", "mgno_bilinear", "fno"):
            if m in ex:
                row[f"error {m}"] = ex[m] - ex["truth"]
        rows[task] = row
    return plot_panels(rows, path)


def per_seed_ratios(res: BenchResult, task: str, base: str = "fno", metric: str = "rel_l2") -> dict[int, float]:
    """seed -> baseline / MgNO error for the seeds both methods have (each seed draws its own data)."""
    val = {(r["method"], r["seed"]): r["value"] for r in res.rows
           if r["task"] == task and r["metric"] == metric and r["value"] is not None}
    return {s: val[(base, s)] / val[("mgno", s)] for (m, s) in sorted(val, key=lambda k: (k[1] is None, k[1]))
            if m == "mgno" and (base, s) in val}


def darcy_target(res: BenchResult) -> str:
    """The issue's target, checked from the rows: on Darcy MgNO's relative L2 at least 2x below sciml's FNO's
    with fewer parameters, and its H1 error lower too (on the means over the seeds present)."""
    summ, out = res.summary(), []
    for task in ("darcy_smooth", "darcy_rough"):
        if (task, "mgno", "rel_l2") not in summ or (task, "fno", "rel_l2") not in summ:
            continue
        m, f = ({k: summ[(task, n, k)][0] for k in ("rel_l2", "h1", "params")} for n in ("mgno", "fno"))
        ok = f["rel_l2"] >= 2 * m["rel_l2"] and m["params"] < f["params"] and m["h1"] < f["h1"]
        seeds = per_seed_ratios(res, task)
        out.append(f"- {task}: rel_l2 FNO / MgNO = {f['rel_l2'] / m['rel_l2']:.2f} (target >= 2; ratio of the means "
                   f"over {summ[(task, 'mgno', 'rel_l2')][2]} / {summ[(task, 'fno', 'rel_l2')][2]} seeds; per seed "
                   + ", ".join(f"{s}: {r:.2f}" for s, r in seeds.items())
                   + f"); h1 MgNO {m['h1']:.3f} vs FNO {f['h1']:.3f}; params {m['params']:.0f} vs "
                   f"{f['params']:.0f}: **{'met' if ok else 'not met'}**")
    return "\n".join(out)


def verdict(res: BenchResult) -> str:
    """One line per task and baseline: error ratio baseline / MgNO (> 1: MgNO is better) and parameter ratio."""
    summ = res.summary()
    lines = ["| task | baseline | rel_l2 baseline/mgno | h1 baseline/mgno | params baseline/mgno | MgNO loses? |",
             "|---|---|---|---|---|---|"]
    for task in dict.fromkeys(r["task"] for r in res.rows):
        if (task, "mgno", "rel_l2") not in summ:
            continue
        m = {k: summ[(task, "mgno", k)][0] for k in ("rel_l2", "h1", "params")}
        for base in ("fno", "fno_neuralop", "unet"):
            if (task, base, "rel_l2") not in summ:
                continue
            b = {k: summ[(task, base, k)][0] for k in ("rel_l2", "h1", "params")}
            r2, rh, rp = b["rel_l2"] / m["rel_l2"], b["h1"] / m["h1"], b["params"] / m["params"]
            loses = "yes (L2 and H1)" if r2 < 1 and rh < 1 else ("yes (L2)" if r2 < 1 else ("yes (H1)" if rh < 1 else "no"))
            lines.append(f"| {task} | {base} | {r2:.2f} | {rh:.2f} | {rp:.2f} | {loses} |")
    return "\n".join(lines)


def write_report(res: BenchResult, examples: dict, p: dict, out: Path, preset: str, tasks: list[str],
                 wall_s: float, kept: list[str] = (), task_order: list[str] = (), fig_name: str | None = None) -> None:
    """Write OUT/operators.{json,md} (+ figure) for the rows so far; ``task_order`` orders the sections."""
    # a merged run keeps the earlier figure (its tasks' panels) and draws the rerun tasks separately
    fig_name = fig_name or ("operators_rerun.png" if kept else "operators.png")
    fig = figure(examples, out / fig_name) if examples else None
    metrics = ["rel_l2", "h1", "params", "epochs", "s_per_epoch", "peak_mem_mb", "infer_ms"]
    loss_name = ("the MgNO paper's spectral relative H1 loss" if p["loss"] == "h1"
                 else "relative L2 + finite-difference relative H1 loss")
    body = [f"Preset `{preset}`: {p}. Every model gets the MgNO paper's protocol: inputs "
            f"normalised {p['normalizer']}, the output decoded inside the model, {loss_name} in physical units, "
            "Adam (weight decay 1e-4) with OneCycle (20 % warm-up, lr / 2 to lr to lr / 200), no gradient clipping, "
            "the same epochs and data. Errors are relative L2 and finite-difference relative H1 on the held-out "
            f"test set (final epoch, physical units). Wall time of the run so far: {wall_s:.0f} s.",
            ("The paper's grids and model sizes on a GPU, but far fewer epochs than its 500 (see `epochs`: with "
             "`--budget-s` each model's epoch count is sized to the same wall-clock budget before it trains), so "
             "absolute errors stay above the paper's. " if preset == "full" else
             "This is a reduced CPU budget (small grids, few samples and epochs, narrower models than the "
             "paper's), so absolute errors are far above the paper's and rankings may change with more training; "
             "`--full` is the paper's scale for a GPU. ")
            + "s_per_epoch is the median epoch time; on a shared CPU compare ratios, not absolute values. On `ns` MgNO uses the "
            "paper's Navier-Stokes variant (global residual u + w0 and GroupNorm); the FNOs and U-Net predict "
            "w1 directly, as in their papers.",
            "`peak_mem_mb` is the CUDA allocator peak on a GPU; on the CPU it is parameters + gradients + the "
            "tensors autograd saves for one training batch. `infer_ms` is the median forward time per sample in "
            "batches of 32."]
    for task in [t for t in task_order if t in {*kept, *tasks}]:
        body += [f"## {task}", res.markdown_table(task, metrics)]
    if darcy_target(res):
        body += ["## The issue's Darcy target (computed from the rows above)", darcy_target(res)]
    body += ["## MgNO against the baselines (computed from the rows above)", verdict(res)]
    if fig is not None:
        body += [f"![inputs, truth, predictions and errors of {', '.join(tasks)}]({fig.name})"]
    if kept and fig_name != "operators.png" and (out / "operators.png").exists():
        body += ["The earlier run's figure (all its tasks, at its budget):\n\n"
                 "![inputs, truth, predictions and errors, earlier run](operators.png)"]
    res.write(out, "\n\n".join(body))
