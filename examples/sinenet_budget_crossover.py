"""Where SineNet-8 overtakes the U-Net on NS: rollout error against optimiser steps.

Reads the NS checks of ``docs/benchmarks/sinenet_ns_checks.json`` that train on the 96-trajectory pool
(``--n-train 96 --n-pool 104``; 1248 windows, batch 4, so 312 steps per epoch) and plots each seed's rollout
error and the seed mean for the U-Net (K = 1) and SineNet-8, at 624, 936 and 2496 steps.

Run: ``python examples/sinenet_budget_crossover.py`` (writes ``docs/benchmarks/sinenet_budget.png``).
"""
import json
import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
STEPS_PER_EPOCH = 1248 // 4


def rollout_by_steps(checks: list[dict]) -> dict[str, dict[int, list[float]]]:
    """method -> optimiser steps -> rollout errors (one per seed) of the 96-trajectory runs."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for check in checks:
        cmd = check["command"]
        if not re.search(r"--n-train 96\b", cmd):
            continue
        steps = int(re.search(r"--epochs (\d+)", cmd).group(1)) * STEPS_PER_EPOCH
        for r in check["rows"]:
            if r["metric"] == "rollout_rel_l2" and r["method"] in ("unet", "sinenet-8"):
                out[r["method"]][steps].append(r["value"])
    return out


def main() -> Path:
    data = rollout_by_steps(json.loads((BENCH / "sinenet_ns_checks.json").read_text())["checks"])
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for method, colour in (("unet", "tab:blue"), ("sinenet-8", "tab:red")):
        steps = sorted(data[method])
        for s in steps:
            ax.scatter([s] * len(data[method][s]), data[method][s], color=colour, s=14, alpha=0.6)
        ax.plot(steps, [sum(data[method][s]) / len(data[method][s]) for s in steps], color=colour, marker="o",
                label=f"{method} (seed mean; dots: seeds)")
    ax.set(xlabel="optimiser steps (96 training trajectories, C = 8, 32^2)", ylabel="NS rollout relative L2",
           yscale="log", title="NS: SineNet-8 overtakes the U-Net with training")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = BENCH / "sinenet_budget.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
