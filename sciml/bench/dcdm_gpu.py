"""``sciml bench dcdm --preset gpu``: the grid solvers on one CUDA GPU, and the page ``dcdm_gpu``.

Rows (all on the device, float64 outer loops, rtol 1e-6): CG and Jacobi-PCG (flexible PCG on the
matrix-free stencil operator), sciml's multigrid-PCG and learned V-cycle, DCDM with the paper's CNN
(3-D, obstacles and log-normal). Every row is the median of ``--repeats`` runs (a run that did not
converge or took over 2 s is not repeated), after one untimed warm-up of every method on a small
grid (CUDA context, kernels, the shipped nets). The 128^3 grid, where the goal is read, runs first.
Setup includes reading the stencil out of the CSR matrix on the host (what a user with a scipy
matrix pays); the goal table also gives the solve-only speed-up.

The page and JSON are rewritten after every grid, so a run cut short keeps what finished;
``--deadline-s S`` starts no grid, row or repeat after S seconds and caps a running solve at the
time left, listing what it skipped on the page.
"""
from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.dcdm_report import _fmt, _value, plot
from sciml.bench.results import BenchResult, command_line
from sciml.linalg.families import make_system

GRIDS = [(128, 128, 128), (64, 64, 64), (96, 80, 72), (256, 256), (1024, 1024), (256, 256, 256)]
METHODS = ("cg", "jacobi_pcg", "mg_pcg", "mg_learned", "dcdm_cnn")
WARMUP = (16, 16, 16)
REPEAT_BELOW_S = 2.0  # a row whose first run took longer is not repeated (its timing noise is small)
CAP_S = 10.0  # per solve: DCDM's capped rows and CG on the 1e8-contrast family bound the run's length
GOAL_GRID, GOAL_SPEEDUP = "128x128x128", 5.0
METRICS = ("iterations", "setup_s", "solve_s", "total_s", "peak_gpu_mem_mb")


def row_name(method: str, device: torch.device) -> str:
    return f"{method}_{device.type}" if device.type != "cpu" else method


class Clock:
    """Seconds since the run started, against an optional deadline."""

    def __init__(self, deadline_s: float | None):
        self.t0, self.deadline_s = time.monotonic(), deadline_s

    def left(self) -> float:
        return math.inf if self.deadline_s is None else self.deadline_s - (time.monotonic() - self.t0)

    def past(self) -> bool:
        return self.left() <= 0


def run_row(method, A, b, shape, device, repeats: int, cap_s: float, clock: Clock):
    """The runs of one row: up to ``repeats``, each capped at ``min(cap_s, time left)``. Returns
    ``(runs, cut)``; ``cut`` is True when the deadline (not the cap) stopped the first run."""
    from sciml.bench.dcdm import run_method

    runs = []
    for i in range(repeats):
        if i and (clock.past() or not runs[0]["reached"] or runs[0]["total_s"] > REPEAT_BELOW_S):
            break
        cap = min(cap_s, max(clock.left(), 0.0))
        r = run_method(method, A, b, shape, cap, device, torch_loop=True)
        if not r["reached"] and cap < cap_s:  # the deadline, not the row's own cap, ended this run
            return runs, not runs
        runs.append(r)
    return runs, False


def add_rows(res: BenchResult, task, name, runs, shape, family, cap_s: float) -> None:
    extra = {} if runs[0]["reached"] else {"final_rel_residual": runs[0]["final_rel_residual"], "cap_s": cap_s}
    for metric in METRICS:
        if metric in runs[0]:
            res.add(task, name, metric, statistics.median(r[metric] for r in runs), n_cells=int(np.prod(shape)),
                    family=family, grid=list(shape), repeats=len(runs), **extra)


def warm_up(methods, device) -> None:
    """One untimed run of every method on a small obstacle grid (CUDA context, kernels, shipped nets)."""
    from sciml.bench.dcdm import run_method

    A, b, _ = make_system("obstacles", WARMUP, seed=1)
    for m in methods:
        run_method(m, A, b, WARMUP, 30.0, device, torch_loop=True)


def run(args, device: torch.device, methods, grids) -> int:
    """The gpu preset: every grid x family x method on ``device``; see the module docstring."""
    from sciml.bench.dcdm import RTOL, plan

    clock = Clock(args.deadline_s)
    res = BenchResult("dcdm_gpu", command_line(), device)
    skipped: list[str] = []
    res.meta = {"threads": args.threads, "repeats": args.repeats, "cap_s": args.cap_s, "rtol": RTOL,
                "deadline_s": args.deadline_s, "skipped": skipped}
    out = Path(args.out)
    warm_up(methods, device)
    print(f"warm-up done after {time.monotonic() - clock.t0:.1f} s", flush=True)
    for shape in grids:
        for family in args.families:
            task = f"{family}_{'x'.join(map(str, shape))}"
            if clock.past():
                skipped.append(f"{task}: all rows (deadline)")
                continue
            A, b, _ = make_system(family, shape, seed=0)
            for method in plan(shape, family, methods, large=math.inf):
                name = row_name(method, device)
                if clock.past():
                    skipped.append(f"{task} {name} (deadline)")
                    continue
                runs, cut = run_row(method, A, b, shape, device, args.repeats, args.cap_s, clock)
                if cut:
                    skipped.append(f"{task} {name} (cut at the deadline)")
                    continue
                add_rows(res, task, name, runs, shape, family, args.cap_s)
                r = runs[0]
                print(f"{task:28s} {name:16s} it={r['iterations']} total={statistics.median(x['total_s'] for x in runs):.3g}s"
                      f" (setup {r['setup_s']:.3g}) [{time.monotonic() - clock.t0:.0f} s]", flush=True)
        write(res, out, grids, methods, device)  # what finished is on disk if the run is cut short
    write(res, out, grids, methods, device)
    return 0


def write(res: BenchResult, out: Path, grids, methods, device) -> None:
    plot(res.rows, out / "dcdm_gpu.png")
    res.write(out, markdown(res, grids, methods, device))


def goal_lines(rows, device) -> list[str]:
    """Learned V-cycle and multigrid vs CG on the device at 128^3, per family, from this run's rows:
    speed-ups in total time (the goal) and in solve time alone (setup, e.g. the stencil detection in the
    CSR matrix on the host, excluded)."""
    cg, ln, mg = (row_name(m, device) for m in ("cg", "mg_learned", "mg_pcg"))
    lines = [f"## Goal: learned solver vs GPU CG at 128^3 (target >= {GOAL_SPEEDUP:g}x)", "",
             f"Speed-up = {cg} time / solver time, in total_s (setup + solve, one right-hand side; the goal) and "
             "in solve_s alone.", "",
             f"| family | {cg} total (s) | {ln} total (s) | {mg} total (s) | learned speed-up | multigrid speed-up | "
             f"learned solve-only speed-up | learned >= {GOAL_SPEEDUP:g}x |", "|---|---|---|---|---|---|---|---|"]
    families = dict.fromkeys(r["family"] for r in rows if r["task"].endswith("_" + GOAL_GRID))
    for fam in families:
        t = f"{fam}_{GOAL_GRID}"
        c, l_, m = (_value(rows, t, x, "total_s") for x in (cg, ln, mg))
        cs, ls = (_value(rows, t, x, "solve_s") for x in (cg, ln))
        speed = lambda a, b: a / b if a and b else None  # noqa: E731
        verdict = "—" if speed(c, l_) is None else ("yes" if speed(c, l_) >= GOAL_SPEEDUP else "no")
        lines.append(f"| {fam} | {_fmt(c, 's')} | {_fmt(l_, 's')} | {_fmt(m, 's')} | {_fmt(speed(c, l_), 's')} | "
                     f"{_fmt(speed(c, m), 's')} | {_fmt(speed(cs, ls) if c else None, 's')} | {verdict} |")
    if not families:
        lines.append(f"| (the {GOAL_GRID} grid did not run) | — | — | — | — | — | — | — |")
    return lines


def markdown(res: BenchResult, grids, methods, device) -> str:
    rows, meta = res.rows, res.meta
    lines = [f"Device: {res.device}. rtol {meta['rtol']:g}; every row is the median of up to {meta['repeats']} runs "
             f"(a run that did not converge or took over {REPEAT_BELOW_S:g} s is not "
             f"repeated; `repeats` in the JSON), each capped at {meta['cap_s']:g} s, after an untimed "
             f"warm-up on a {'x'.join(map(str, WARMUP))} grid. `total_s` = setup + solve, for one right-hand side; "
             "timings are taken between device synchronisations; `peak_gpu_mem_mb` is device memory above the "
             "level at the row's start. CG and Jacobi-PCG run matrix-free on the stencil operator in float64.", ""]
    lines += goal_lines(rows, device)
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    for shape in grids:
        g = "x".join(map(str, shape))
        lines += ["", f"## {g}", "", "| family | method | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 2) + "|"]
        for t in (t for t in tasks if t.endswith("_" + g)):
            for m in (row_name(x, device) for x in methods):
                vals = [_value(rows, t, m, met) for met in METRICS]
                if any(r["task"] == t and r["method"] == m for r in rows):
                    lines.append(f"| {t[: -len(g) - 1]} | {m} | " + " | ".join(_fmt(v, met) for v, met in zip(vals, METRICS)) + " |")
    capped = [r for r in rows if r["metric"] == "iterations" and r["value"] is None]
    if capped:
        lines += ["", "Not converged to rtol within the cap:", ""]
        lines += [f"- {r['task']} {r['method']}: relative residual {r.get('final_rel_residual', float('nan')):.2e}"
                  for r in capped]
    if meta["skipped"]:
        lines += ["", f"Skipped (deadline {meta['deadline_s']:g} s):", ""] + [f"- {s}" for s in meta["skipped"]]
    lines += ["", "![total time vs size](dcdm_gpu.png)", ""]
    return "\n".join(lines)
