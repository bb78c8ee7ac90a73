"""``sciml bench dcdm``: CG, IC(0)-PCG, pyamg SA-PCG and DCDM on 3-D Poisson problems with obstacles.

Tasks ``poisson3d_{32,64,128}`` (boxes and spheres, fresh seeds; the shipped net was trained on
16^3/32^3 only) and ``unseen_obstacles_64`` (pillars and a porous medium, shapes never seen in
training); right-hand side: minus the divergence of a random velocity field (pressure projection).
Each method solves once to the tightest rtol; the looser rtol's iterations and time are read off the
same run (its iterates are a prefix of it), see ADR 0092. Metrics per rtol: ``iterations``,
``wall_s`` (setup + solve), ``setup_s``, ``peak_mem_mb`` (peak RSS above the pre-solve level,
sampled every 2 ms; CUDA allocator peak on GPU).
"""
from __future__ import annotations

import copy
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.dcdm_report import cap_notes, markdown, plot
from sciml.bench.results import BenchResult, command_line, earlier_rows
from sciml.bench.timing import median_time
from sciml.cli import ArgumentParser
from sciml.linalg import amg, cg, dcdm_solve, ic0_grid, load_shipped_model, pcg
from sciml.linalg.dcdm import auto_levels
from sciml.pde.poisson import (box_obstacles, cylinder_obstacles, fill_enclosed, poisson_matrix, porous_obstacles,
                               rhs_divergence, sphere_obstacles)

METHODS = ("cg", "ic0_pcg", "amg_pcg", "dcdm")
RTOLS = (1e-4, 1e-6)
PRESETS = {
    # grid -> (repeats, maxiter cap per method); caps keep the CPU run ~20-30 min and are reported
    "default": {32: (3, {"dcdm": 300}), 64: (1, {"dcdm": 100}), 128: (1, {"dcdm": 60, "ic0_pcg": 1500})},
    "full": {32: (5, {}), 64: (5, {}), 128: (3, {})},
}
UNSEEN = 64


def problem(n: int, seed: int, unseen: bool = False):
    """(A, b, solid) on an n^3 grid; seeds 1000+ are never used by the training recipe (seeds 0/1)."""
    shape = (n, n, n)
    rng = np.random.default_rng(1000 + seed)
    if unseen:
        solid = cylinder_obstacles(shape, 3, rng=rng) | porous_obstacles(shape, 0.12, smooth=n / 16, rng=rng)
    else:
        solid = sphere_obstacles(shape, 2, rng=rng) | box_obstacles(shape, 2, rng=rng)
    solid = fill_enclosed(solid)
    return poisson_matrix(solid), rhs_divergence(solid, rng).ravel(), solid


class PeakRSS:
    """Context manager: peak resident memory (MiB) above the level at entry, sampled by a thread."""

    def __init__(self, interval: float = 0.002):
        self.interval, self.peak_mb = interval, 0.0

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096 / 2**20

    def _watch(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.rss_mb() - self.base)
            time.sleep(self.interval)

    def __enter__(self):
        self.base, self._stop = self.rss_mb(), threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb() - self.base)


def run_method(method: str, A, b, solid, maxiter: int, device: torch.device, model_path: str | None,
               levels: int | str = "auto", prolong: str = "linear"):
    """One solve to min(RTOLS); returns ({rtol: metrics}, residual history)."""
    hist, stamps = [], []
    tick = lambda _x: stamps.append(time.perf_counter())  # noqa: E731
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        if method == "ic0_pcg":
            M = ic0_grid(A, solid.shape)
        elif method == "amg_pcg":
            M = amg(A)
        elif method == "dcdm":
            if model_path:
                from sciml.models import load_model

                net = load_model(model_path).to(device)
            else:
                net = load_shipped_model(device)
        setup = time.perf_counter() - t0
        t1 = time.perf_counter()
        if method == "cg" and device.type == "cuda":  # CG on the GPU: identity "network", k = 1 (CG's iterates)
            _, info = dcdm_solve(A, torch.as_tensor(b, device=device), model="identity", k=1, rtol=min(RTOLS),
                                 maxiter=maxiter, callback=tick, history=hist, solid=solid.ravel(), safeguard=False)
        elif method == "cg":
            _, info = cg(A, b, rtol=min(RTOLS), maxiter=maxiter, callback=tick, history=hist)
        elif method == "dcdm":
            bt = torch.as_tensor(b, device=device)
            _, info = dcdm_solve(A, bt, model=net, grid_shape=solid.shape, rtol=min(RTOLS), maxiter=maxiter,
                                 callback=tick, history=hist, solid=solid.ravel(),
                                 safeguard=False, levels=levels, prolong=prolong)  # levels=1: the paper's loop
        else:
            _, info = pcg(A, b, M, rtol=min(RTOLS), maxiter=maxiter, callback=tick, history=hist)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else mem.peak_mb
    out = {}
    for rtol in RTOLS:
        hit = [i for i, h in enumerate(hist) if h <= rtol]
        k = hit[0] if hit else None  # iterations needed; None: not reached within maxiter
        solve = (stamps[k - 1] - t1 if k else 0.0) if k is not None else float("nan")
        out[rtol] = {"iterations": float("nan") if k is None else k, "wall_s": setup + solve, "setup_s": setup,
                     "peak_mem_mb": peak, "reached": k is not None}
    return out, hist


def cost_per_apply(n: int, device: torch.device, model_path: str | None) -> dict[str, float]:
    """Seconds per CNN application (fp32; channels-last fp32; bf16 autocast) and per SpMV at n^3 (scipy CSR
    on the CPU, torch sparse CSR on a GPU: the product each solver's iteration uses there)."""
    from sciml.linalg.dcdm import _as_torch_operator
    from sciml.models import load_model

    A, b, _ = problem(n, 99)
    net = load_model(model_path).to(device) if model_path else load_shipped_model(device)
    x = torch.randn(1, 2, n, n, n, device=device)
    x_cl = x.to(memory_format=torch.channels_last_3d)

    def timed(fn, bf16=False):
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            return median_time(fn, repeats=3, device=device)

    res = {"fp32": timed(lambda: net(x)), "bf16": timed(lambda: net(x), bf16=True)}
    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last_3d)  # the shipped net is cached: not in place
    res["fp32_channels_last"] = timed(lambda: net_cl(x_cl))
    if device.type == "cuda":
        Aop, bt = _as_torch_operator(A, device, b.size), torch.as_tensor(b, device=device)
        spmv = lambda: Aop(bt)  # noqa: E731
    else:
        spmv = lambda: A @ b  # noqa: E731
    res["spmv"] = median_time(spmv, repeats=20, device=device)
    return res


def main(argv=None) -> int:
    p = ArgumentParser(prog="sciml bench dcdm", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="5/5/3 repeats, no iteration caps (GPU-scale time)")
    p.add_argument("--grids", type=int, nargs="*", default=None, help="subset of 32 64 128")
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default=None, help="a dcdm checkpoint instead of the shipped one")
    p.add_argument("--out", default="docs/benchmarks")
    p.add_argument("--methods", nargs="*", default=None, choices=METHODS, help="subset of methods to run")
    p.add_argument("--levels", type=levels_arg, default="auto",
                   help="dcdm_solve's levels: 1 is the paper's method; 'auto' (default) coarsens to ~8 cells per "
                        "side, 5 levels at 128^3 (sciml's extension, ADR 0097/0099)")
    p.add_argument("--prolong", default="linear", choices=("linear", "nearest"),
                   help="prolongation of the coarse-level proposals (ADR 0099; 'nearest' was ADR 0097's)")
    p.add_argument("--dcdm-maxiter", type=int, default=None, help="override the preset's DCDM iteration caps")
    p.add_argument("--cost-grid", type=int, default=None, help="grid of the network-cost table (default 32; 0: no table)")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of the existing dcdm.json that this run does not produce (they keep their "
                        "own command); the plot is rewritten only when every method runs")
    a = p.parse_args(argv)
    methods = [m for m in METHODS if m in (a.methods or METHODS)]
    torch.set_num_threads(1)  # one-thread baselines, as in the targets
    from sciml.models import MODELS

    MODELS.discover()  # registry imports are a one-off, not DCDM's setup cost
    device = torch.device(a.device)
    preset = PRESETS["full" if a.full else "default"]
    grids = a.grids or sorted(preset)
    tasks = [(f"poisson3d_{n}", n, False) for n in grids] + ([("unseen_obstacles_64", UNSEEN, True)]
                                                             if UNSEEN in grids else [])
    res = BenchResult("dcdm", command=command_line(), device=device)
    histories = {}
    for task, n, unseen in tasks:
        repeats, caps = preset.get(n, (1, {}))
        A, b, solid = problem(n, 0, unseen)
        for method in methods:
            maxiter = a.dcdm_maxiter if method == "dcdm" and a.dcdm_maxiter else caps.get(method, 5000)
            runs = []
            for rep in range(repeats):
                out, hist = run_method(method, A, b, solid, maxiter, device, a.model, a.levels, a.prolong)
                runs.append(out)
            histories.setdefault(task, {})[method] = hist
            for rtol in RTOLS:
                for metric in ("iterations", "wall_s", "setup_s", "peak_mem_mb"):
                    vals = [r[rtol][metric] for r in runs]
                    # an unreached rtol: null iterations/wall_s; its cap and final residual go in the row
                    extra = {"maxiter": maxiter, "final_rel_residual": hist[-1]} if (
                        metric == "iterations" and not runs[0][rtol]["reached"]) else {}
                    if method == "dcdm":  # the coarse levels used (ADR 0097/0099), so each row says which loop
                        extra |= {"levels": auto_levels(solid.shape) if a.levels == "auto" else a.levels,
                                "prolong": a.prolong}
                    res.add(f"{task}_rtol{rtol:.0e}".replace("e-0", "e-"), method, metric, statistics.median(vals), **extra)
            print(f"{task:22s} {method:8s} it(1e-4)={runs[0][1e-4]['iterations']} it(1e-6)={runs[0][1e-6]['iterations']}"
                  f" wall(1e-4)={statistics.median(r[1e-4]['wall_s'] for r in runs):.2f}s", flush=True)
    cost_n = min(32, *grids) if a.cost_grid is None else a.cost_grid  # 32^3 is cheap on a CPU
    cost = cost_per_apply(cost_n, device, a.model) if cost_n else None
    if a.merge:  # the page's header lists the earlier commands whose rows are kept (BenchResult.write)
        tasks = merge_rows(res, Path(a.out) / "dcdm.json", tasks)
    notes = cap_notes(res.rows)
    if methods == list(METHODS):  # a merged subset keeps the earlier figure (if any) rather than a partial one
        plot({t: histories[t] for t in histories if not t.endswith("_32")} or histories, Path(a.out) / "dcdm.png")
    figure = (Path(a.out) / "dcdm.png").exists()
    res.write(a.out, markdown(res, tasks, cost, notes, preset, cost_n, device, figure))
    return 0


def levels_arg(v: str) -> int | str:
    return v if v == "auto" else int(v)


def merge_rows(res: BenchResult, path: Path, tasks):
    """Add the rows of an earlier ``dcdm.json`` whose (task, method) this run did not produce, each tagged
    with the command and date of its own run; returns the union of tasks."""
    import json

    old = json.loads(path.read_text())
    done = {(r["task"], r["method"]) for r in res.rows}
    kept = earlier_rows(old, lambda r: (r["task"], r["method"]) in done)
    res.rows += kept
    names = [t for t, _, _ in tasks]
    for r in old["rows"]:
        base = r["task"].rsplit("_rtol", 1)[0]
        if base not in names:
            names.append(base)
            tasks = tasks + [(base, int(base.rsplit("_", 1)[1]), base.startswith("unseen"))]
    order = {f"poisson3d_{n}": i for i, n in enumerate((32, 64, 128))} | {"unseen_obstacles_64": 3}
    return sorted(tasks, key=lambda t: order.get(t[0], 9))
