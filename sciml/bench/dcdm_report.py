"""The page of ``sciml bench dcdm``: per-task tables, ratios, network cost, cap notes and the residual figure."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sciml.bench.results import BenchResult
from sciml.utils.files import save_figure


def plot(histories: dict[str, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.6), sharey=True)
    for ax, (task, hs) in zip(np.atleast_1d(axes), histories.items()):
        for method, h in hs.items():
            ax.semilogy(h, label=method)
        for rtol in RTOLS:
            ax.axhline(rtol, color="gray", lw=0.6, ls=":")
        ax.set_title(task), ax.set_xlabel("iteration"), ax.set_xscale("symlog", linthresh=10)
    np.atleast_1d(axes)[0].set_ylabel("||r_k|| / ||b||")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def cap_notes(rows: list[dict]) -> list[str]:
    """One note per unreached rtol, read off the JSON rows (``iterations`` null), so kept rows of an earlier
    run carry their notes with them; rows from an earlier run say which."""
    out = []
    for r in rows:
        if r["metric"] != "iterations" or r["value"] is not None:
            continue
        task, rtol = r["task"].rsplit("_rtol", 1)
        cap = f"its cap of {r['maxiter']} iterations" if "maxiter" in r else "its iteration cap"
        final = f" (final {r['final_rel_residual']:.2e})" if "final_rel_residual" in r else ""
        where = f" (kept from `{r['command']}`, {r['created']})" if "command" in r else ""
        out.append(f"{task}: {r['method']} did not reach rtol {rtol} within {cap}{final}; "
                   f"iterations/wall_s are null{where}")
    return out


def cost_table(cost: dict[str, float], n: int, device: torch.device) -> list[str]:
    lines = ["", f"### Cost of one network application at {n}^3 (median of 3, {device})", "",
             "| variant | seconds | SpMVs |", "|---|---|---|"]
    lines += [f"| {k} | {cost[k]:.3g} | {cost[k] / cost['spmv']:.0f} |" for k in ("fp32", "fp32_channels_last", "bf16")]
    return lines + [f"| one SpMV ({'scipy' if device.type == 'cpu' else 'torch sparse'} CSR) | {cost['spmv']:.3g} | 1 |"]


def markdown(res: BenchResult, tasks, cost, notes, preset, cost_n, device: torch.device, figure: bool = True) -> str:
    from sciml.bench.dcdm import METHODS, RTOLS

    where = ("one CPU thread" if device.type == "cpu" else
             f"on {device}: `cg` and `dcdm` run on the GPU (CG as `dcdm_solve(model='identity', k=1)`, whose "
             "iterates are CG's), `ic0_pcg` and `amg_pcg` have no GPU path and run on one CPU thread")
    lines = ["Iterations, wall time (setup + solve, s), setup time (s) and peak extra memory (MiB) per method; "
             "{}; medians over the repeats (32^3: {}, 64^3/128^3: {}).".format(
                 where, preset.get(32, (1,))[0], preset.get(64, (1,))[0]), ""]
    for task, _, _ in tasks:
        for rtol in RTOLS:
            key = f"{task}_rtol{rtol:.0e}".replace("e-0", "e-")
            lines += [f"### {key}", "", res.markdown_table(key, ["iterations", "wall_s", "setup_s", "peak_mem_mb"],
                                                           METHODS), ""]
    summ = res.summary()
    lines += ["### Ratios (rtol 1e-4; < 1: DCDM is faster / needs fewer iterations)", "",
              "| task | dcdm / cg wall | dcdm / ic0_pcg wall | dcdm / amg_pcg wall | dcdm / ic0_pcg iterations |",
              "|---|---|---|---|---|"]
    for task, _, _ in tasks:
        key = f"{task}_rtol1e-4"
        g = lambda m, met: summ.get((key, m, met), (float("nan"),))[0]  # noqa: E731
        lines.append(f"| {task} | " + " | ".join(f"{g('dcdm', met) / g(base, met):.3g}" for base, met in (
            ("cg", "wall_s"), ("ic0_pcg", "wall_s"), ("amg_pcg", "wall_s"), ("ic0_pcg", "iterations"))) + " |")
    if cost:
        lines += cost_table(cost, cost_n, device)
    if notes:
        lines += ["", "### Caps and failures", ""] + [f"- {n}" for n in notes]
    lines += ["", "![residual vs iteration](dcdm.png)", ""] if figure else [""]
    return "\n".join(lines)
