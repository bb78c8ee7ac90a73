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
it. Threads: ``--threads`` (default 2). On a CUDA GPU, the CG, Jacobi-PCG, multigrid, learned and
DCDM rows also run there (``*_cuda``); ``--preset gpu`` runs only those, on the page ``dcdm_gpu``
(:mod:`sciml.bench.dcdm_gpu`).
"""
from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench import dcdm_gpu
from sciml.bench.dcdm_report import markdown, plot
from sciml.bench.results import BenchResult, command_line
from sciml.utils.arguments import ArgumentParser
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


class _TimedHistory(list):
    """The residual history, which raises :class:`_OutOfTime` once ``cap_s`` has passed since
    :meth:`start`: the wall-clock cap of the device rows, checked where the solver already records each
    residual (an iterate callback would copy x to the host every iteration and distort the timing)."""

    def __init__(self, cap_s: float):
        super().__init__()
        self.cap_s, self.t0 = cap_s, time.perf_counter()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def append(self, v) -> None:
        super().append(v)
        if time.perf_counter() - self.t0 > self.cap_s:
            raise _OutOfTime


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


def _torch_krylov(method: str, A, shape, device: torch.device):
    """Setup of CG / Jacobi-PCG on a torch device: the matrix-free stencil operator (float64) and the
    preconditioner (None for CG)."""
    from sciml.linalg.stencil import GridOperator

    op = GridOperator.from_csr(A, shape, device)
    inv_diag = (1.0 / op.diag).reshape(-1)
    return op, (None if method == "cg" else lambda r: inv_diag * r)


def _krylov_window(n: int) -> int:
    """The stagnation window of :func:`sciml.linalg.pcg`, so the device rows stop where the CPU rows do."""
    from sciml.linalg.krylov import STAGNATION_WINDOW

    return max(STAGNATION_WINDOW, 4 * math.isqrt(n))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_method(method: str, A, b, shape, cap_s: float, device: torch.device, torch_loop: bool = False) -> dict:
    """One setup + solve to RTOL; returns the metrics (iterations NaN when the cap stopped it).

    ``torch_loop`` (forced on any device but the CPU): CG and Jacobi-PCG are
    :func:`~sciml.linalg.torch_krylov.flexible_pcg` (float64) on the matrix-free stencil operator,
    with the stopping rule of :func:`sciml.linalg.pcg` (which they are otherwise, on the scipy
    matrix), and the cap is checked as each residual is recorded instead of through an iterate
    callback (which would copy x to the host every iteration). Timings are taken between device
    synchronisations."""
    from sciml.linalg import LearnedSolver, dcdm_solve, ic0_grid, jacobi, load_shipped_model, pcg
    from sciml.linalg.torch_krylov import flexible_pcg

    cpu_path = device.type == "cpu" and not torch_loop
    hist: list[float] = [] if cpu_path else _TimedHistory(cap_s)
    t_start = [0.0]

    def guard(_x):
        if time.perf_counter() - t_start[0] > cap_s:
            raise _OutOfTime

    callback = guard if cpu_path else None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        gpu_base = torch.cuda.memory_allocated(device)
    with PeakRSS() as mem:
        _sync(device)
        t0 = time.perf_counter()
        if method in ("mg_pcg", "mg_learned"):
            solver = LearnedSolver(A, grid_shape=shape, device=device,
                                   method="learned" if method == "mg_learned" else "multigrid")
        elif method in ("amg_sa", "amg_rs"):
            import pyamg

            ml = (pyamg.smoothed_aggregation_solver if method == "amg_sa" else pyamg.ruge_stuben_solver)(A)
        elif method in ("cg", "jacobi_pcg") and not cpu_path:
            op, M = _torch_krylov(method, A, shape, device)
            bt = torch.as_tensor(b, device=device)
        elif method == "ic0_pcg":
            M = ic0_grid(A, shape)
        elif method == "jacobi_pcg":
            M = jacobi(A)
        elif method == "dcdm_cnn":
            net = load_shipped_model(device)
        _sync(device)
        setup = time.perf_counter() - t0
        t_start[0] = time.perf_counter()
        if not cpu_path:
            hist.start()
        try:
            if method in ("mg_pcg", "mg_learned"):
                solver.solve(b if device.type == "cpu" else torch.as_tensor(b, device=device), history=hist,
                             callback=callback)
            elif method.startswith("amg"):
                res: list[float] = []
                ml.solve(b, tol=RTOL, accel="cg", residuals=res, maxiter=500, callback=guard)
                hist = list(np.asarray(res) / np.linalg.norm(b))
            elif method == "dcdm_cnn":
                dcdm_solve(A, torch.as_tensor(b, device=device), model=net, grid_shape=shape, rtol=RTOL, maxiter=300,
                           history=hist, callback=callback, levels=1)
            elif not cpu_path:
                flexible_pcg(op.apply, bt, M, RTOL, 0.0, 100000, history=hist, name=method,
                             window=_krylov_window(bt.numel()))
            else:
                pcg(A, b, None if method == "cg" else M, rtol=RTOL, maxiter=100000, history=hist, callback=guard)
        except _OutOfTime:
            pass
        _sync(device)
        solve = time.perf_counter() - t_start[0]
    reached = bool(hist) and hist[-1] <= RTOL * (1 + 1e-9)
    out = {"iterations": len(hist) - 1 if reached else float("nan"), "setup_s": setup, "solve_s": solve,
           "total_s": setup + solve if reached else float("nan"), "peak_mem_mb": mem.peak_mb,
           "final_rel_residual": hist[-1] if hist else float("nan"), "reached": reached}
    if device.type == "cuda":  # device memory above the level at entry (the matrix, vectors, hierarchy, net)
        out["peak_gpu_mem_mb"] = (torch.cuda.max_memory_allocated(device) - gpu_base) / 2**20
    return out


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
    p.add_argument("--preset", choices=("default", "gpu"), default="default",
                   help="default: every row on the CPU (plus the multigrid/DCDM rows on a CUDA GPU when there is one); "
                        "gpu: the device rows only, on a CUDA GPU (page dcdm_gpu; sciml.bench.dcdm_gpu)")
    p.add_argument("--device", choices=("cuda", "cpu"), default=None,
                   help="where the gpu preset runs (default cuda; cpu rehearses it)")
    p.add_argument("--deadline-s", type=float, default=None,
                   help="gpu preset: start no grid, row or repeat after this many seconds; the page lists what was skipped")
    p.add_argument("--quick", action="store_true", help="small grids (a smoke run of the whole pipeline)")
    p.add_argument("--grids", nargs="*", default=None, type=grid_arg, help="grids like 64x64x64 or 256x256 "
                   "(default: 256x256 1024x1024 64x64x64 96x80x72 128x128x128; gpu preset: 128x128x128 64x64x64 "
                   "96x80x72 256x256 1024x1024 256x256x256)")
    p.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    p.add_argument("--methods", nargs="*", default=None, choices=METHODS,
                   help="default: all; gpu preset: cg jacobi_pcg mg_pcg mg_learned dcdm_cnn")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of the fast rows (mg_pcg, mg_learned, amg_sa; every row in the gpu preset); median")
    p.add_argument("--cap-s", type=float, default=None,
                   help="wall-clock cap of one solve (default 20 s; gpu preset 10 s)")
    p.add_argument("--out", default="docs/benchmarks")
    a = p.parse_args(argv)
    if a.preset == "gpu":
        return _gpu_preset(p, a)
    for flag, given in (("--device", a.device), ("--deadline-s", a.deadline_s)):
        if given is not None:
            p.error(f"{flag} goes with --preset gpu")
    a.methods = a.methods or list(METHODS)
    a.cap_s = 20.0 if a.cap_s is None else a.cap_s
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
                    if device.type == "cuda" and method not in dcdm_gpu.METHODS:
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


def _gpu_preset(p, a) -> int:
    """Check the gpu preset's arguments (user errors exit 2) and run it (:mod:`sciml.bench.dcdm_gpu`)."""
    device = torch.device(a.device or "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--preset gpu needs a CUDA GPU and torch.cuda.is_available() is False here; "
                "add --device cpu to rehearse it on the CPU")
    if a.quick:
        p.error("--quick goes with the default preset; give the gpu preset small --grids instead")
    methods = a.methods or list(dcdm_gpu.METHODS)
    cpu_only = [m for m in methods if m not in dcdm_gpu.METHODS]
    if cpu_only:
        p.error(f"{', '.join(cpu_only)} run on the CPU only; the gpu preset's methods are {', '.join(dcdm_gpu.METHODS)}")
    if a.deadline_s is not None and not a.deadline_s > 0:
        p.error(f"--deadline-s must be > 0, got {a.deadline_s:g}")
    a.cap_s = dcdm_gpu.CAP_S if a.cap_s is None else a.cap_s
    if a.repeats < 1:
        p.error(f"--repeats must be >= 1, got {a.repeats}")
    torch.set_num_threads(a.threads)
    return dcdm_gpu.run(a, device, methods, a.grids or dcdm_gpu.GRIDS)


if __name__ == "__main__":
    raise SystemExit(main())
