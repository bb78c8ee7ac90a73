"""``sciml bench dcdm``: DCDM against CG, IC(0)-PCG and pyamg SA-PCG on 3-D Poisson with obstacles.

Every solve runs in its own process (one thread), so ``peak_mem_mb`` is that process's peak RSS
minus the peak of a process that only builds the same problem. Each method solves to 1e-6 once;
the iteration count and wall time at which it first reached 1e-4 are read off the same run.
Writes ``docs/benchmarks/dcdm.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import numpy as np

from sciml.bench.results import BenchResult

PRESETS = {"default": dict(sizes=[32, 64, 128], maxiter=2000), "quick": dict(sizes=[16], maxiter=500),
           "full": dict(sizes=[32, 64, 128, 256], maxiter=5000)}
METHODS = ["cg", "ic0_pcg", "amg_pcg", "dcdm"]


def build_problem(n: int, kind: str, seed: int):
    from sciml.pde.poisson import box_obstacles, poisson_matrix, rhs_divergence, sphere_obstacles

    shape = (n,) * 3
    if kind == "seen":  # the families used in training: spheres and boxes
        solid = sphere_obstacles(shape, 2, rng=seed) | box_obstacles(shape, 1, rng=seed + 1)
    else:  # unseen: bars through the whole domain and a lattice of small cubes
        solid = np.zeros(shape, dtype=bool)
        g = np.indices(shape) / n
        solid |= ((g[0] - 0.5) ** 2 + (g[2] - 0.3) ** 2 < 0.08**2) & (g[1] < 0.8)
        solid |= ((g[0] % 0.25) < 0.06) & ((g[2] % 0.25) < 0.06) & ((g[1] % 0.25) < 0.06) & (g[1] > 0.1)
    A = poisson_matrix(solid)
    return A, rhs_divergence(solid, seed).ravel(), solid


def _child(method: str, n: int, kind: str, seed: int, maxiter: int) -> dict:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from sciml.linalg import amg, dcdm_solve, ic0_grid, pcg

    A, b, solid = build_problem(n, kind, seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stamps: list[float] = []
    hist: list[float] = []
    t0 = time.perf_counter()
    if method == "none":
        return {"maxrss_kb": base}
    if method == "dcdm":
        from sciml.linalg.dcdm import load_shipped_model

        model = load_shipped_model()
        setup = time.perf_counter() - t0
        t1 = time.perf_counter()
        x, info = dcdm_solve(A, b, model=model, rtol=1e-6, maxiter=min(maxiter, 300), history=hist,
                             callback=lambda _: stamps.append(time.perf_counter() - t1))
    else:
        M = {"cg": lambda: None, "ic0_pcg": lambda: ic0_grid(A, solid.shape), "amg_pcg": lambda: amg(A)}[method]()
        setup = time.perf_counter() - t0
        t1 = time.perf_counter()
        x, info = pcg(A, b, M, rtol=1e-6, maxiter=maxiter, history=hist,
                      callback=lambda _: stamps.append(time.perf_counter() - t1))
    true_res = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
    return {"history": hist, "stamps": stamps, "setup": setup, "info": int(info), "true_res": true_res,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def run_one(method: str, n: int, kind: str, seed: int, maxiter: int) -> dict:
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(1, mp_context=ctx) as ex:
        return ex.submit(_child, method, n, kind, seed, maxiter).result()


def reached(out: dict, rtol: float) -> tuple[float, float]:
    """(iterations, solve seconds) at which the residual first fell below ``rtol``; NaN if never."""
    h = np.asarray(out["history"])
    hit = np.nonzero(h <= rtol)[0]
    if not len(hit):
        return float("nan"), float("nan")
    k = int(hit[0])
    return float(k), (out["stamps"][k - 1] if k > 0 else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sciml bench dcdm", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--full", action="store_true", help="adds 256^3 (for a GPU machine)")
    ap.add_argument("--out", default="docs/benchmarks")
    a = ap.parse_args(argv)
    p = PRESETS["full" if a.full else a.preset]
    res = BenchResult("dcdm", command="sciml bench dcdm " + " ".join(argv or []), device="cpu")
    cases = [(f"poisson3d_{n}", n, "seen") for n in p["sizes"]] + [(f"unseen_obstacles_{p['sizes'][min(1, len(p['sizes']) - 1)]}", p["sizes"][min(1, len(p["sizes"]) - 1)], "unseen")]
    curves = {}
    t_all = time.perf_counter()
    for task, n, kind in cases:
        base = run_one("none", n, kind, 0, p["maxiter"])["maxrss_kb"]
        for method in METHODS:
            out = run_one(method, n, kind, 0, p["maxiter"])
            curves[(task, method)] = out["history"]
            for rtol, suffix in ((1e-4, "_rtol1e-4"), (1e-6, "_rtol1e-6")):
                its, solve_s = reached(out, rtol)
                for metric, value in [("iterations", its), ("wall_s", out["setup"] + solve_s),
                                      ("setup_s", out["setup"]), ("peak_mem_mb", (out["maxrss_kb"] - base) / 1024)]:
                    res.add(task + suffix, method, metric, value, seed=0)
            print(f"[dcdm] {task:22s} {method:8s} its(1e-4)={reached(out, 1e-4)[0]:.0f} its(1e-6)={reached(out, 1e-6)[0]:.0f} "
                  f"setup {out['setup']:.2f}s solve(1e-6) {reached(out, 1e-6)[1]:.2f}s info {out['info']}", flush=True)
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = _figure(curves, out_dir / "dcdm.png")
    metrics = ["iterations", "wall_s", "setup_s", "peak_mem_mb"]
    body = [f"Preset `{'full' if a.full else a.preset}`: {p}. One CPU thread per solve; right-hand side = minus the "
            "divergence of a random smooth velocity (the pressure-projection case); Neumann walls, open top, "
            "solid cells as identity rows. `wall_s` = setup + solve to the tolerance. DCDM uses the shipped model "
            "(trained on 16^3 only), capped at 300 iterations; NaN = tolerance not reached. "
            f"Whole run: {time.perf_counter() - t_all:.0f} s."]
    for task, _, _ in cases:
        for suffix in ("_rtol1e-4", "_rtol1e-6"):
            body += [f"## {task}{suffix}", res.markdown_table(task + suffix, metrics, METHODS)]
    body += [f"![residual vs iteration]({fig.name})"]
    res.write(out_dir, "\n\n".join(body))
    print(f"[dcdm] wrote {out_dir / 'dcdm.md'}")
    return 0


def _figure(curves: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(t for t, _ in curves))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for (t, m), h in curves.items():
            if t == task:
                ax.semilogy(h, label=m)
        ax.axhline(1e-4, color="gray", lw=0.5), ax.axhline(1e-6, color="gray", lw=0.5)
        ax.set(title=task, xlabel="iteration", ylabel="||r|| / ||b||")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
