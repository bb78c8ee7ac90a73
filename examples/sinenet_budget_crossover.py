"""Where SineNet-8 and the U-Net stand on NS as training grows: rollout error against optimiser steps.

Reads the U-Net (K = 1) and SineNet-8 NS rows trained on the 96-trajectory pool (1248 windows, batch 4,
so 312 steps per epoch): the checks of ``docs/adr/0044-sinenet-ns-checks.json`` run with
``--n-train 96`` (or recording ``n_train: 96`` and their ``steps``), and the main table
``docs/benchmarks/sinenet.json`` (the cpu preset, 96 trajectories since ADR 0044; its steps are the rows'
``optimizer_steps``). A seed that is in both counts once.
Plots each seed's rollout error and the seed mean per budget.

Run: ``python examples/sinenet_budget_crossover.py`` (writes ``docs/benchmarks/sinenet_budget.png``).
"""
import json
import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
BENCH, ADR = DOCS / "benchmarks", DOCS / "adr"
STEPS_PER_EPOCH = 1248 // 4


def check_steps(check: dict) -> int | None:
    """Optimiser steps of a check on the 96-trajectory pool: its ``steps`` field, or from an explicit
    ``--n-train 96 ... --epochs E`` command; None for checks on other pools."""
    if "steps" in check:
        return check["steps"] if check.get("n_train") == 96 else None
    if not re.search(r"--n-train 96\b", check["command"]):
        return None
    return int(re.search(r"--epochs (\d+)", check["command"]).group(1)) * STEPS_PER_EPOCH


def table_steps(table: dict) -> int | None:
    """Optimiser steps of the main table's NS models when they trained on the 96-trajectory pool: from the
    rows' ``optimizer_steps`` and ``n_train`` scores, or the data notes of a page that kept them in its meta."""
    ns = table.get("meta", {}).get("notes", {}).get("ns")
    if ns is not None:
        return ns.get("steps") if ns.get("n_train") == 96 else None
    scores = {r["metric"]: r["value"] for r in table["rows"] if r["task"] == "ns" and "ablation" not in r}
    return int(scores["optimizer_steps"]) if scores.get("n_train") == 96 and "optimizer_steps" in scores else None


def rollout_by_steps(runs: list[tuple[int | None, list[dict]]]) -> dict[str, dict[int, list[float]]]:
    """method -> optimiser steps -> rollout errors (one per seed) from (steps, rows) pairs; a seed seen
    twice at the same budget (a check later rerun inside the table) counts once."""
    seen: dict = {}
    for steps, rows in runs:
        for r in rows if steps else ():
            if r["task"] == "ns" and r["metric"] == "rollout_rel_l2" and r["method"] in ("unet", "sinenet-8"):
                seen[(r["method"], steps, r["seed"])] = r["value"]
    out: dict = defaultdict(lambda: defaultdict(list))
    for (method, steps, _), value in sorted(seen.items()):
        out[method][steps].append(value)
    return out


def main() -> Path:
    checks = json.loads((ADR / "0044-sinenet-ns-checks.json").read_text())["checks"]
    table = json.loads((BENCH / "sinenet.json").read_text())
    data = rollout_by_steps([(check_steps(c), c["rows"]) for c in checks] + [(table_steps(table), table["rows"])])
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for method, colour in (("unet", "tab:blue"), ("sinenet-8", "tab:red")):
        steps = sorted(data[method])
        for s in steps:
            ax.scatter([s] * len(data[method][s]), data[method][s], color=colour, s=14, alpha=0.6)
        ax.plot(steps, [sum(data[method][s]) / len(data[method][s]) for s in steps], color=colour, marker="o",
                label=f"{method} (seed mean; dots: seeds)")
    ax.set(xlabel="optimiser steps (96 training trajectories, C = 8, 32^2)", ylabel="NS rollout relative L2",
           yscale="log", title="NS rollout error against training steps")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = BENCH / "sinenet_budget.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
