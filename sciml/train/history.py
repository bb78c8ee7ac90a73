"""What a Trainer's ``history.json`` says about the cost of training."""
from __future__ import annotations

import json
import statistics
from pathlib import Path


def training_time(history_path: Path) -> dict[str, float]:
    """``{"s_per_epoch": median epoch seconds, "epochs": count}`` from a Trainer's ``history.json``;
    empty when the file is missing (a checkpoint moved away from its run) or holds no timed epoch. The median,
    so one epoch slowed by another job on a shared machine does not move it."""
    if not Path(history_path).is_file():
        return {}
    times = [float(r["time_s"]) for r in json.loads(Path(history_path).read_text()) if "time_s" in r]
    return {"s_per_epoch": statistics.median(times), "epochs": float(len(times))} if times else {}
