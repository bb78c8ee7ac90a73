"""Measure one linear solve as a user embeds it: set up a named method on ``A`` and solve ``A x = b`` to ``rtol``.

:func:`measure_solve` times the setup (preconditioner or hierarchy construction, the network's loading) and
the solve separately, between device synchronisations, and records the iterations, the relative residual
reached and the peak memory above the level at entry (resident memory of the process, plus allocated device
memory on CUDA). A wall-clock cap stops a solve that runs too long; such a run reports no iterations and no
total (NaN), and its last relative residual. :func:`measure_repeated` takes the median of repeated runs.

Methods (:data:`METHODS`): ``cg``, ``jacobi_pcg`` and ``ic0_pcg`` (:func:`sciml.linalg.pcg` on the scipy
matrix), ``amg_sa`` and ``amg_rs`` (pyamg smoothed aggregation and Ruge-Stuben hierarchies as CG
preconditioners, ``pip install 'sciml[bench]'``), ``mg_pcg`` and ``mg_learned`` (:class:`~sciml.linalg.LearnedSolver`
with the fixed and the learned V-cycle) and ``dcdm_cnn`` (:func:`~sciml.linalg.dcdm_solve` with the shipped
CNN, the paper's loop ``levels=1``). The methods of :data:`DEVICE_METHODS` also run in torch on any device
(``torch_loop``): CG and Jacobi-PCG are then :func:`~sciml.linalg.torch_krylov.flexible_pcg` in float64 on the
matrix-free stencil operator, with :func:`sciml.linalg.pcg`'s stopping rule (:func:`~sciml.linalg.krylov.stagnation_window`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import threading
import time
from collections.abc import Callable

import numpy as np
import torch

from sciml.errors import ConfigError
from sciml.linalg.dcdm import dcdm_solve, load_shipped_model
from sciml.linalg.krylov import ic0_grid, jacobi, pcg, stagnation_window
from sciml.linalg.learned_solver import LearnedSolver
from sciml.linalg.stencil import GridOperator
from sciml.linalg.torch_krylov import flexible_pcg
from sciml.utils import require
from sciml.utils.device import sync

METHODS = ("cg", "jacobi_pcg", "ic0_pcg", "amg_sa", "amg_rs", "mg_pcg", "mg_learned", "dcdm_cnn")
DEVICE_METHODS = ("cg", "jacobi_pcg", "mg_pcg", "mg_learned", "dcdm_cnn")  # those that run in torch, on any device
SCIPY_METHODS = ("cg", "jacobi_pcg", "ic0_pcg", "amg_sa", "amg_rs")  # those that run on the scipy matrix by default
DCDM_MAXITER = 300  # the paper's CNN needs hundreds of iterations where it converges; the cap bounds the rest
AMG_MAXITER = 500
KRYLOV_MAXITER = 100_000  # CG stops on the cap, the tolerance or stagnation long before


def release_freed_heap() -> None:
    """Hand the C heap's freed pages back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    Memory an earlier computation freed stays resident in the heap, and a new allocation reuses it without
    raising the resident size, so a peak measured as growth would read near zero for the second of two
    equal solves in one process."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


class PeakRSS:
    """Context manager: peak resident memory (MiB) of the process above the level at entry, sampled by a
    thread every ``interval`` seconds (and once more at exit). Entry first releases the heap's freed pages
    (:func:`release_freed_heap`), so memory freed before it counts when it is used again."""

    def __init__(self, interval: float = 0.002):
        self.interval, self.peak_mb = interval, 0.0

    @staticmethod
    def rss_mb() -> float:
        """Resident memory of this process (MiB), from /proc/self/statm (in pages of the system's size: 4 KiB
        on most x86 machines, 16 or 64 KiB on some ARM ones)."""
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.rss_mb() - self.base)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        release_freed_heap()
        self.base, self._stop = self.rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb() - self.base)


class OutOfTime(Exception):
    """A solve ran past its wall-clock cap."""


class SolveClock:
    """The wall-clock cap of one solve: :meth:`guard` raises :class:`OutOfTime` once ``cap_s`` seconds
    have passed since :meth:`start`."""

    def __init__(self, cap_s: float):
        self.cap_s, self.t0 = cap_s, time.perf_counter()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def guard(self, _x=None) -> None:
        if time.perf_counter() - self.t0 > self.cap_s:
            raise OutOfTime


class TimedHistory(list):
    """A residual history that checks the clock's cap as each residual is recorded: the cap of the torch
    loops, where an iterate callback would copy x to the host every iteration and distort the timing."""

    def __init__(self, clock: SolveClock):
        super().__init__()
        self.clock = clock

    def append(self, v) -> None:
        super().append(v)
        self.clock.guard()


def torch_krylov(method: str, A, shape: tuple[int, ...], device: torch.device):
    """CG / Jacobi-PCG in torch: the matrix-free stencil operator of ``A`` (float64) on ``device`` and the
    preconditioner (None for CG)."""
    op = GridOperator.from_csr(A, shape, device)
    inv_diag = (1.0 / op.diag).reshape(-1)
    return op, (None if method == "cg" else lambda r: inv_diag * r)


Solve = Callable[[list, Callable | None], None]  # solve(history, guard): fills the relative residual history


def _setup_torch(method: str, A, b, shape, rtol: float, device: torch.device) -> Solve:
    """Set up a method of :data:`DEVICE_METHODS` in torch on ``device``; returns its solve."""
    bt = torch.as_tensor(b, device=device)
    if method in ("mg_pcg", "mg_learned"):
        solver = LearnedSolver(A, grid_shape=shape, device=device, method="learned" if method == "mg_learned"
                               else "multigrid")
        return lambda hist, guard: solver.solve(b if device.type == "cpu" else bt, rtol=rtol, history=hist,
                                                callback=guard)
    if method == "dcdm_cnn":
        net = load_shipped_model(device)
        return lambda hist, guard: dcdm_solve(A, bt, model=net, grid_shape=shape, rtol=rtol, maxiter=DCDM_MAXITER,
                                              history=hist, callback=guard, levels=1)
    op, M = torch_krylov(method, A, shape, device)
    return lambda hist, guard: flexible_pcg(op.apply, bt, M, rtol, 0.0, KRYLOV_MAXITER, history=hist, name=method,
                                            window=stagnation_window(bt.numel()))


def _setup_scipy(method: str, A, b, shape, rtol: float) -> Solve:
    """Set up a method of :data:`SCIPY_METHODS` on the scipy matrix (CPU); returns its solve."""
    if method in ("amg_sa", "amg_rs"):
        pyamg = require("pyamg", extra="bench")
        ml = (pyamg.smoothed_aggregation_solver if method == "amg_sa" else pyamg.ruge_stuben_solver)(A)

        def solve_amg(hist: list, guard) -> None:
            res: list[float] = []
            try:
                ml.solve(b, tol=rtol, accel="cg", residuals=res, maxiter=AMG_MAXITER, callback=guard)
            finally:  # pyamg records absolute residual norms
                hist.extend(np.asarray(res) / np.linalg.norm(b))
        return solve_amg
    M = {"cg": lambda: None, "jacobi_pcg": lambda: jacobi(A), "ic0_pcg": lambda: ic0_grid(A, shape)}[method]()
    return lambda hist, guard: pcg(A, b, M, rtol=rtol, maxiter=KRYLOV_MAXITER, history=hist, callback=guard)


def check_method(method: str, device: torch.device, torch_loop: bool) -> None:
    """ConfigError unless ``method`` is known and runs where it is asked to."""
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if (device.type != "cpu" or torch_loop) and method not in DEVICE_METHODS:
        raise ConfigError(f"method {method!r} runs on the CPU through scipy/pyamg only; on a torch device or with "
                          f"torch_loop use one of {', '.join(DEVICE_METHODS)}")


def measure_solve(method: str, A, b: np.ndarray, shape: tuple[int, ...], rtol: float = 1e-6, cap_s: float = 20.0,
                  device: str | torch.device = "cpu", torch_loop: bool = False) -> dict[str, float]:
    """Set up ``method`` on ``A`` (scipy CSR, the 5/7-point matrix of grid ``shape``) and solve ``A x = b``
    (``b`` of shape ``(prod(shape),)``) to relative residual ``rtol`` within ``cap_s`` seconds of solving.

    Returns ``iterations`` (NaN when the solve did not reach ``rtol``), ``setup_s``, ``solve_s``, ``total_s``
    (setup + solve; NaN when not reached), ``peak_mem_mb`` (resident MiB above the level at entry),
    ``final_rel_residual``, ``reached`` (1.0 or 0.0) and on CUDA ``peak_gpu_mem_mb`` (allocated device MiB
    above the level at entry). ``torch_loop`` (implied on any device but the CPU) runs the torch path.
    """
    device = torch.device(device)
    check_method(method, device, torch_loop)
    on_scipy = device.type == "cpu" and not torch_loop
    clock = SolveClock(cap_s)
    hist: list[float] = [] if on_scipy else TimedHistory(clock)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        gpu_base = torch.cuda.memory_allocated(device)
    with PeakRSS() as mem:
        sync(device)
        t0 = time.perf_counter()
        solve = (_setup_scipy(method, A, b, shape, rtol) if on_scipy and method in SCIPY_METHODS
                 else _setup_torch(method, A, b, shape, rtol, device))
        sync(device)
        setup_s = time.perf_counter() - t0
        clock.start()
        try:
            solve(hist, clock.guard if on_scipy else None)
        except OutOfTime:
            pass
        sync(device)
        solve_s = time.perf_counter() - clock.t0
    out = solve_metrics(list(hist), rtol, setup_s, solve_s, mem.peak_mb)
    if device.type == "cuda":  # the matrix, vectors, hierarchy and net on the device
        out["peak_gpu_mem_mb"] = (torch.cuda.max_memory_allocated(device) - gpu_base) / 2**20
    return out


def solve_metrics(history: list[float], rtol: float, setup_s: float, solve_s: float, peak_mem_mb: float
                  ) -> dict[str, float]:
    """The metrics of one solve from its relative residual history (the initial residual first)."""
    reached = bool(history) and history[-1] <= rtol * (1 + 1e-9)
    return {"iterations": float(len(history) - 1) if reached else math.nan, "setup_s": setup_s, "solve_s": solve_s,
            "total_s": setup_s + solve_s if reached else math.nan, "peak_mem_mb": peak_mem_mb,
            "final_rel_residual": float(history[-1]) if history else math.nan, "reached": float(reached)}


def measure_repeated(method: str, A, b: np.ndarray, shape: tuple[int, ...], repeats: int = 1,
                     repeat_below_s: float | None = None, **solve_kw) -> tuple[dict[str, float], list[dict]]:
    """Up to ``repeats`` runs of :func:`measure_solve`; returns ``(medians, runs)``. A first run that did not
    converge, or took longer than ``repeat_below_s`` seconds in total, is not repeated (its timing noise is
    small against its length). The medians are per metric (NaN stays NaN); ``repeats`` counts the runs."""
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    runs = [measure_solve(method, A, b, shape, **solve_kw)]
    first = runs[0]
    if first["reached"] and (repeat_below_s is None or first["total_s"] <= repeat_below_s):
        runs += [measure_solve(method, A, b, shape, **solve_kw) for _ in range(repeats - 1)]
    medians = {k: float(np.median([r[k] for r in runs])) for k in first}
    medians["repeats"] = float(len(runs))
    return medians, runs
