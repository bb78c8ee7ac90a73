"""``sciml bench dcdm``: grid solvers as a user embeds them, one command, one run.

Families x grids (:mod:`sciml.linalg.families`: constant, obstacles with no-flux and with Dirichlet
walls, log-normal, 1e8-contrast inclusions; 2-D 256^2 and 1024^2, 3-D 64^3, 96x80x72 and 128^3),
rtol 1e-6, right-hand side: minus the divergence of a random velocity field. Rows: CG,
Jacobi-PCG, IC(0)-PCG, pyamg smoothed aggregation and Ruge-Stuben (both as CG preconditioners),
sciml's multigrid-PCG and learned V-cycle (:class:`~sciml.linalg.LearnedSolver`, methods
"multigrid" and "learned") and DCDM with the paper's CNN (3-D model; the paper's loop,
``levels=1``, with sciml's safeguard). Metrics: ``iterations``,
``setup_s``, ``solve_s``, ``total_s`` (setup + solve, what a user pays for one solve),
``peak_mem_mb`` (RSS above the level at entry). The fast rows are medians over ``--repeats``
runs; slow rows run once under a wall-clock cap and are reported as not converged when they hit
it. Threads: ``--threads`` (default 2).
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.dcdm_report import markdown, plot
from sciml.bench.results import BenchResult, command_line
from sciml.cli import ArgumentParser
from sciml.linalg.families import FAMILIES, make_system
from sciml.pde.poisson import box_obstacles, fill_enclosed, poisson_matrix, rhs_divergence, sphere_obstacles

RTOL = 1e-6
METHODS = ("cg", "jacobi_pcg", "ic0_pcg", "amg_sa", "amg_rs", "mg_pcg", "mg_learned", "dcdm_cnn")
FAST = ("mg_pcg", "mg_learned", "amg_sa")  # repeated; the others run once
GRIDS = {"default": [(256, 256), (1024, 1024), (64, 64, 64), (96, 80, 72), (128, 128, 128)],
         "quick": [(48, 48), (96, 96), (16, 16, 16), (24, 20, 18)]}
SLOW_FAMILIES = ("constant", "obstacles")  # the families the capped slow rows run on at the largest grids


def problem(n: int, seed: int, unseen: bool = False):
    """(A, b, solid) on an n^3 grid with spheres and boxes (the shipped DCDM net's family); used by the
    CUDA checks. Seeds 1000+ are never used by the training recipe."""
    shape = (n, n, n)
    rng = np.random.default_rng(1000 + seed)
    solid = fill_enclosed(sphere_obstacles(shape, 2, rng=rng) | box_obstacles(shape, 2, rng=rng))
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


class _OutOfTime(Exception):
    pass


def plan(shape: tuple[int, ...], family: str, methods, large: int) -> list[str]:
    """Which methods run on (shape, family): the slow ones only on the simple families at the large
    grids; DCDM only in 3-D (its shipped model is 3-D) below ``large`` cells."""
    n = int(np.prod(shape))
    out = []
    for m in methods:
        if m in ("cg", "jacobi_pcg", "ic0_pcg", "amg_rs") and n >= large and family not in SLOW_FAMILIES:
            continue
        if m == "dcdm_cnn" and (len(shape) != 3 or n >= large or family not in ("obstacles", "lognormal")):
            continue
        out.append(m)
    return out


def run_method(method: str, A, b, shape, cap_s: float, device: torch.device) -> dict:
    """One setup + solve to RTOL; returns the metrics (iterations NaN when the cap stopped it)."""
    from sciml.linalg import LearnedSolver, dcdm_solve, ic0_grid, jacobi, load_shipped_model, pcg

    hist: list[float] = []
    t_start = [0.0]

    def guard(_x):
        if time.perf_counter() - t_start[0] > cap_s:
            raise _OutOfTime

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        if method in ("mg_pcg", "mg_learned"):
            solver = LearnedSolver(A, grid_shape=shape, device=device,
                                   method="learned" if method == "mg_learned" else "multigrid")
        elif method in ("amg_sa", "amg_rs"):
            import pyamg

            ml = (pyamg.smoothed_aggregation_solver if method == "amg_sa" else pyamg.ruge_stuben_solver)(A)
        elif method == "ic0_pcg":
            M = ic0_grid(A, shape)
        elif method == "jacobi_pcg":
            M = jacobi(A)
        elif method == "dcdm_cnn":
            net = load_shipped_model(device)
        setup = time.perf_counter() - t0
        t_start[0] = time.perf_counter()
        try:
            if method in ("mg_pcg", "mg_learned"):
                solver.solve(b if device.type == "cpu" else torch.as_tensor(b, device=device), history=hist,
                             callback=guard)
            elif method.startswith("amg"):
                res: list[float] = []
                ml.solve(b, tol=RTOL, accel="cg", residuals=res, maxiter=500, callback=guard)
                hist = list(np.asarray(res) / np.linalg.norm(b))
            elif method == "dcdm_cnn":
                dcdm_solve(A, torch.as_tensor(b, device=device), model=net, grid_shape=shape, rtol=RTOL, maxiter=300,
                           history=hist, callback=guard, levels=1)
            else:
                pcg(A, b, None if method == "cg" else M, rtol=RTOL, maxiter=100000, history=hist, callback=guard)
        except _OutOfTime:
            pass
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        solve = time.perf_counter() - t_start[0]
    reached = bool(hist) and hist[-1] <= RTOL * (1 + 1e-9)
    return {"iterations": len(hist) - 1 if reached else float("nan"), "setup_s": setup, "solve_s": solve,
            "total_s": setup + solve if reached else float("nan"), "peak_mem_mb": mem.peak_mb,
            "final_rel_residual": hist[-1] if hist else float("nan"), "reached": reached}


def grid_arg(v: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in v.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a grid is written like 64x64x64 or 256x256, got {v!r}") from None
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise argparse.ArgumentTypeError(f"a grid has 2 or 3 sides of at least 2 cells, got {v!r}")
    return shape


def main(argv=None) -> int:
    p = ArgumentParser(prog="sciml bench dcdm", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small grids (a smoke run of the whole pipeline)")
    p.add_argument("--grids", nargs="*", default=None, type=grid_arg, help="grids like 64x64x64 or 256x256 "
                   "(default: 256x256 1024x1024 64x64x64 96x80x72 128x128x128)")
    p.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    p.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="runs of the fast rows (mg_pcg, mg_learned, amg_sa); median")
    p.add_argument("--cap-s", type=float, default=20.0, help="wall-clock cap of one solve (slow rows)")
    p.add_argument("--out", default="docs/benchmarks")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    grids = a.grids or GRIDS["quick" if a.quick else "default"]
    large = 10**9 if a.quick else 10**6  # from 1024^2 and 128^3 on, the slow rows run on SLOW_FAMILIES only
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    res = BenchResult("dcdm", command=command_line(), device=devices[-1])
    res.meta = {"threads": a.threads, "repeats": a.repeats, "cap_s": a.cap_s, "rtol": RTOL}
    for shape in grids:
        for family in a.families:
            A, b, _ = make_system(family, shape, seed=0)
            task = f"{family}_{'x'.join(map(str, shape))}"
            for method in plan(shape, family, a.methods, large):
                for device in devices:
                    if device.type == "cuda" and method not in ("mg_pcg", "mg_learned", "dcdm_cnn"):
                        continue
                    runs = [run_method(method, A, b, shape, a.cap_s, device)
                            for _ in range(a.repeats if method in FAST else 1)]
                    name = method if device.type == "cpu" else f"{method}_cuda"
                    for metric in ("iterations", "setup_s", "solve_s", "total_s", "peak_mem_mb"):
                        extra = {} if runs[0]["reached"] else {"final_rel_residual": runs[0]["final_rel_residual"],
                                                               "cap_s": a.cap_s}
                        vals = [r[metric] for r in runs]
                        res.add(task, name, metric, statistics.median(vals), n_cells=int(np.prod(shape)),
                                family=family, grid=list(shape), **extra)
                    r = runs[0]
                    print(f"{task:28s} {name:14s} it={r['iterations']} total={statistics.median(x['total_s'] for x in runs):.3g}s"
                          f" (setup {r['setup_s']:.3g})", flush=True)
    out = Path(a.out)  # the writers create it (atomically, beside the target)
    plot(res.rows, out / "dcdm.png")
    res.write(out, markdown(res, grids, a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
