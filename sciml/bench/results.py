"""One result format for all benchmarks: ``docs/benchmarks/NAME.json`` + ``NAME.md``.

JSON shape (shared by every benchmark)::

    {"benchmark": "operators", "command": "sciml bench operators", "created": ISO time,
     "machine": "...", "device": "cpu|cuda:...", "sciml_version": "...",
     "rows": [{"task": "darcy_smooth", "method": "mgno", "metric": "rel_l2",
               "value": 0.0031, "seed": 0}, ...]}

Metric names are lower_snake_case with units in the name (``wall_s``, ``peak_mem_mb``).
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import torch

from sciml._version import __version__
from sciml.utils.files import write_json, write_text


def machine_description(threads: int | None = None) -> str:
    """A one-line description of the host: CPU, cores, OS, torch version and threads (``threads``: the
    count the measurements set for themselves, when they do; else the process's)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}; {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
        f"python {platform.python_version()}; torch {torch.__version__} ({threads or torch.get_num_threads()} threads)"
    )


def device_description(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type


# a page line below which a rerun keeps the hand-written notes (BenchResult.write_page)
HAND_WRITTEN = "(Hand-written sections below; the rest of this page is generated.)"


class BenchResult:
    """Collects rows and writes the JSON and a markdown page.

    >>> res = BenchResult("operators", command="sciml bench operators", device="cpu")
    >>> res.add("darcy_smooth", "mgno", "rel_l2", 0.0031, seed=0)
    """

    def __init__(self, benchmark: str, command: str, device: torch.device | str = "cpu"):
        self.benchmark = benchmark
        self.command = command
        self.device = device_description(device)
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.rows: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {}  # bench-specific facts kept in the JSON (e.g. per-task data notes)

    def add(self, task: str, method: str, metric: str, value: float, seed: int | None = 0, **extra: Any) -> None:
        """Append one measurement. ``value`` is stored as float (NaN/inf as null)."""
        v = float(value)
        row = {"task": task, "method": method, "metric": metric,
               "value": None if not math.isfinite(v) else v, "seed": seed}
        row.update(extra)
        self.rows.append(row)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "command": self.command,
            "created": self.created,
            "machine": machine_description((self.meta or {}).get("threads")),
            "device": self.device,
            "sciml_version": __version__,
            "rows": self.rows,
            **({"meta": self.meta} if self.meta else {}),
        }

    def summary(self) -> dict[tuple[str, str, str], tuple[float, float, int]]:
        """(task, method, metric) -> (mean, std, count) over seeds. A seed whose value is not finite (stored as
        null) makes the mean and std NaN: a failed seed is shown, never silently left out of the mean."""
        groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for r in self.rows:
            groups[(r["task"], r["method"], r["metric"])].append(math.nan if r["value"] is None else r["value"])
        return {k: (_mean(v), _pstdev(v), len(v)) for k, v in groups.items()}

    def markdown_table(self, task: str, metrics: Iterable[str], methods: Iterable[str] | None = None,
                       fmt: str = "{:.4g}") -> str:
        """A markdown table for one task: rows = methods, columns = metrics, mean ± std over seeds."""
        summ = self.summary()
        metrics = list(metrics)
        if methods is None:
            methods = list(dict.fromkeys(r["method"] for r in self.rows if r["task"] == task))
        lines = ["| method | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for m in methods:
            cells = []
            for met in metrics:
                if (task, m, met) not in summ:
                    cells.append("—")
                    continue
                mean, std, n = summ[(task, m, met)]
                cells.append(fmt.format(mean) + (f" ± {fmt.format(std)}" if n > 1 else ""))
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def paths(self, out_dir: str | os.PathLike) -> tuple[Path, Path]:
        """Where :meth:`write_json` and :meth:`write_page` write: ``out_dir/NAME.json`` and ``out_dir/NAME.md``."""
        out = Path(out_dir)
        return out / f"{self.benchmark}.json", out / f"{self.benchmark}.md"

    def write_json(self, out_dir: str | os.PathLike) -> Path:
        """Write ``NAME.json`` (:meth:`to_dict`): cheap, so a run rewrites it after every row."""
        json_path = self.paths(out_dir)[0]
        write_json(json_path, self.to_dict())
        return json_path

    def write_page(self, out_dir: str | os.PathLike, markdown_body: str) -> Path:
        """Write ``NAME.md``: a header with command/machine + ``markdown_body``. Everything below a
        :data:`HAND_WRITTEN` line of the existing page is kept at the end of the new one."""
        md_path = self.paths(out_dir)[1]
        d = self.to_dict()
        header = (
            f"# Benchmark: {self.benchmark}\n\n"
            f"Reproduce with `{self.command}`.\n\n"
            f"- created: {d['created']}\n- machine: {d['machine']}\n- device: {d['device']}\n"
            f"- sciml {d['sciml_version']}\n\n"
        )
        page = header + markdown_body.rstrip() + "\n"
        old = md_path.read_text() if md_path.exists() else ""
        if HAND_WRITTEN in old and HAND_WRITTEN not in page:  # a rerun keeps the notes written below the marker
            page += "\n" + old[old.index(HAND_WRITTEN):]
        write_text(md_path, page)
        return md_path


OUTPUT_OPTIONS = ("--out", "--runs")  # where results go: not what they are


def command_line() -> str:
    """The command that is running, as a user would retype it to reproduce its numbers: options that only
    say where files go or when to stop (:data:`OUTPUT_OPTIONS`) are left out."""
    argv, kept = list(sys.argv), []
    if argv and argv[0].endswith(("sciml", "cli.py", "__main__.py")):
        argv[0] = "sciml"
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in OUTPUT_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(o + "=" for o in OUTPUT_OPTIONS)):
            kept.append(arg)
    return " ".join(kept)


def _mean(values: list[float]) -> float:
    return math.nan if any(math.isnan(v) for v in values) else statistics.fmean(values)


def _pstdev(values: list[float]) -> float:
    if any(math.isnan(v) for v in values):
        return math.nan
    return statistics.pstdev(values) if len(values) > 1 else 0.0
