"""``sciml bench dcdm``: grid solvers as a user embeds them, one command, one run.

Families x grids (:mod:`sciml.linalg.families`: constant, obstacles with no-flux and with Dirichlet
walls, log-normal, 1e8-contrast inclusions; 2-D 256^2 and 1024^2, 3-D 64^3, 96x80x72 and 128^3),
rtol 1e-6, right-hand side: minus the divergence of a random velocity field. Rows: CG,
Jacobi-PCG, IC(0)-PCG, pyamg smoothed aggregation and Ruge-Stuben (both as CG preconditioners),
sciml's multigrid-PCG and learned V-cycle (:class:`~sciml.linalg.LearnedSolver`, methods
"multigrid" and "learned") and DCDM with the paper's CNN (3-D model; the paper's loop,
``levels=1``, with sciml's safeguard). Every row is one run of the ``linear_solver`` recipe
(:mod:`sciml.linalg.recipe`, :func:`sciml.linalg.measure.measure_solve`), all in one process, one
after another, on ``--threads`` torch threads (default 2). Metrics: ``iterations``, ``setup_s``,
``solve_s``, ``total_s`` (setup + solve, what a user pays for one solve), ``peak_mem_mb`` (RSS above
the level at entry). The fast rows are medians over ``--repeats`` runs; slow rows run once under a
wall-clock cap (``--cap-s``) and are reported as not converged when they hit it.

``--preset gpu``: CG, Jacobi-PCG (matrix-free, float64), the multigrid, learned and DCDM rows on one
CUDA GPU (``*_cuda``, page ``dcdm_gpu``), each after an untimed warm-up solve on a 16^3 grid, every row
the median of up to ``--repeats`` runs (a run over 2 s or not converged is not repeated), with the goal
table (learned V-cycle vs GPU CG at 128^3). ``--preset smoke``: small grids, the whole pipeline in
seconds. This module declares the sweep; :mod:`sciml.bench.dcdm_report` renders the pages.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.dcdm_report import page
from sciml.bench.results import BenchResult
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec
from sciml.linalg.families import FAMILIES
from sciml.linalg.measure import DEVICE_METHODS, METHODS

RTOL = 1e-6
FAST = ("mg_pcg", "mg_learned", "amg_sa")  # repeated on the CPU; the others run once
SLOW = ("cg", "jacobi_pcg", "ic0_pcg", "amg_rs")  # on the largest grids only on SLOW_FAMILIES
SLOW_FAMILIES = ("constant", "obstacles")
DCDM_FAMILIES = ("obstacles", "lognormal")  # the shipped CNN is 3-D and trained on obstacles

# what each preset measures; ``large``: from this many cells on, the slow rows run on SLOW_FAMILIES only and
# DCDM not at all
PRESETS = {
    "cpu": {"grids": [(256, 256), (1024, 1024), (64, 64, 64), (96, 80, 72), (128, 128, 128)], "methods": METHODS,
            "device": "cpu", "cap_s": 20.0, "large": 10**6, "repeat_all": False, "repeat_below_s": None,
            "torch_loop": False, "warmup": False},
    "gpu": {"grids": [(128, 128, 128), (64, 64, 64), (96, 80, 72), (256, 256), (1024, 1024), (256, 256, 256)],
            "methods": DEVICE_METHODS, "device": "cuda", "cap_s": 10.0, "large": math.inf, "repeat_all": True,
            "repeat_below_s": 2.0, "torch_loop": True, "warmup": True},
    "smoke": {"grids": [(48, 48), (96, 96), (16, 16, 16), (24, 20, 18)], "methods": METHODS, "device": "cpu",
              "cap_s": 20.0, "large": math.inf, "repeat_all": False, "repeat_below_s": None, "torch_loop": False,
              "warmup": False},
}


def plan(shape: tuple[int, ...], family: str, methods, large: float) -> list[str]:
    """Which methods run on (shape, family): the slow ones only on the simple families at the large
    grids; DCDM only in 3-D (its shipped model is 3-D), below ``large`` cells, on DCDM_FAMILIES."""
    n = int(np.prod(shape))
    out = []
    for m in methods:
        if m in SLOW and n >= large and family not in SLOW_FAMILIES:
            continue
        if m == "dcdm_cnn" and (len(shape) != 3 or n >= large or family not in DCDM_FAMILIES):
            continue
        out.append(m)
    return out


def grid_name(shape) -> str:
    return "x".join(map(str, shape))


def grids_of(args: argparse.Namespace) -> list[tuple[int, ...]]:
    """The grids the run measures: ``--grids`` or the preset's."""
    return args.grids or PRESETS[args.preset]["grids"]


def device_of(args: argparse.Namespace) -> str:
    """Where the rows run: ``--device`` (gpu preset) or the preset's device."""
    return args.device or PRESETS[args.preset]["device"]


def cap_s_of(args: argparse.Namespace) -> float:
    """The wall-clock cap of one solve: ``--cap-s`` or the preset's."""
    return PRESETS[args.preset]["cap_s"] if args.cap_s is None else args.cap_s


def row_name(method: str, device: str) -> str:
    """The method column: ``cg`` on the CPU, ``cg_cuda`` on a GPU."""
    kind = torch.device(device).type
    return method if kind == "cpu" else f"{method}_{kind}"


def check_args(args: argparse.Namespace) -> None:
    """ConfigError for options that do not go with the preset (checked before anything runs)."""
    p = PRESETS[args.preset]
    if args.device is not None and args.preset != "gpu":
        raise ConfigError("--device goes with --preset gpu (the other presets run on the CPU)")
    wrong = [m for m in args.methods or () if m not in p["methods"]]
    if wrong:
        raise ConfigError(f"{', '.join(wrong)} run on the CPU only; the {args.preset} preset's methods are "
                          f"{', '.join(p['methods'])}")
    if args.repeats < 1 or args.threads < 1:
        raise ConfigError(f"--repeats and --threads must be >= 1, got {args.repeats} and {args.threads}")
    if (device_of(args) == "cuda" and not torch.cuda.is_available() and not args.dry_run):
        raise ConfigError("--preset gpu needs a CUDA GPU and torch.cuda.is_available() is False here; "
                          "add --device cpu to rehearse it on the CPU")


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """One ``linear_solver`` measurement per (grid, family, method), seed 0, in the page's order."""
    check_args(args)
    args.started_unix_s = time.time()  # the runner measures the rows right after the sweep; older rows were reused
    p, device = PRESETS[preset], device_of(args)
    cap_s = cap_s_of(args)
    rows = []
    for shape in grids_of(args):
        for family in args.families:
            task = f"{family}_{grid_name(shape)}"
            for method in plan(shape, family, args.methods or p["methods"], p["large"]):
                name = row_name(method, device)
                repeats = args.repeats if p["repeat_all"] or method in FAST else 1
                params = {"family": family, "grid": list(shape), "method": method, "rtol": RTOL, "cap_s": cap_s,
                          "repeats": repeats, "threads": args.threads, "torch_loop": p["torch_loop"],
                          "warmup": p["warmup"]}
                if p["repeat_below_s"] is not None:
                    params["repeat_below_s"] = p["repeat_below_s"]
                spec = ExperimentSpec(recipe="linear_solver", name=f"{task}-{name}",
                                      out_dir=str(args.runs / f"{task}-{name}"), seed=0, device=device, params=params)
                rows.append(Row(task, name, spec, labels={"n_cells": int(np.prod(shape)), "family": family,
                                                          "grid": list(shape)}))
    return rows


def settings(args: argparse.Namespace) -> dict:
    """The run's settings, kept in the JSON's meta (the page reads them from there)."""
    return {"threads": args.threads, "repeats": args.repeats, "cap_s": cap_s_of(args), "rtol": RTOL}


def report(res: BenchResult, args: argparse.Namespace) -> str:
    """The page of the run (:mod:`sciml.bench.dcdm_report`)."""
    return page(res, Path(args.out), grids_of(args), device_of(args), on_device=args.preset == "gpu",
                started_unix_s=args.started_unix_s)


def grid_arg(v: str) -> tuple[int, ...]:
    """A grid written ``64x64x64`` or ``64,64,64``."""
    try:
        shape = tuple(int(s) for s in v.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a grid is written like 64x64x64 or 256x256, got {v!r}") from None
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise argparse.ArgumentTypeError(f"a grid has 2 or 3 sides of at least 2 cells, got {v!r}")
    return shape


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grids", nargs="+", default=None, type=grid_arg,
                        help="grids like 64x64x64 or 256,256 (default, cpu: 256x256 1024x1024 64x64x64 96x80x72 "
                             "128x128x128; gpu: 128x128x128 64x64x64 96x80x72 256x256 1024x1024 256x256x256; "
                             "smoke: 48x48 96x96 16x16x16 24x20x18)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES,
                        help="the system families (sciml.linalg.families; default: all)")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS,
                        help="only these methods (default: all; gpu preset: cg jacobi_pcg mg_pcg mg_learned dcdm_cnn)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every measurement (default 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of the fast rows (mg_pcg, mg_learned, amg_sa; every row in the gpu preset), "
                             "whose median is reported (default 3)")
    parser.add_argument("--cap-s", type=float, default=None,
                        help="wall-clock cap of one solve in seconds; a capped row reports no iterations or total "
                             "(default 20; gpu preset 10)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None,
                        help="gpu preset: where its rows run (default cuda; cpu rehearses it on the torch path)")


register_benchmark(Benchmark(name="dcdm", summary=__doc__.strip().splitlines()[0], sweep=sweep, report=report,
                             presets=("cpu", "gpu", "smoke"), options=add_options, settings=settings,
                             preset_help={"gpu": "the solvers on one CUDA GPU beside GPU CG, page dcdm_gpu"}))
