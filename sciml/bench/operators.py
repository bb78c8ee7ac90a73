"""``sciml bench operators``: MgNO against FNO (sciml's and neuraloperator's) and U-Net.

Tasks: Darcy smooth and rough, Helmholtz (variable wave speed), Navier-Stokes one step (nu = 1e-3).
Every row is one run of the ``field`` recipe (:mod:`sciml.operators.recipe`) with its defaults, the MgNO
paper's protocol, for every model: the same data, pointwise normalisation, output decoded inside the model,
spectral relative H1 loss in physical units, Adam + OneCycle, epochs and batch size. Rows whose method
names a change (``mgno_bilinear``, ``mgno_l2_h1``, ``mgno_scalar_norm``) are ablations. This module
declares the sweep, :mod:`sciml.bench.operators_report` the page.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciml.bench.operators_report import report
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.experiment import ExperimentSpec


@dataclass(frozen=True)
class Task:
    """One operator-learning problem: a registered dataset, its input -> target variables, its boundary."""

    name: str
    make: str
    inp: str
    out: str
    periodic: bool
    padding_mode: str  # the convolutions' padding that matches the boundary (MgNO)
    seed_offset: int = 0  # added to the row's seed for the data (the rough task draws its own coefficients)


TASKS = (Task("darcy_smooth", "darcy", "a", "u", False, "zeros"),
         Task("darcy_rough", "darcy_rough", "a", "u", False, "zeros", seed_offset=10_000),
         Task("helmholtz", "helmholtz", "c", "u", False, "reflect"),
         Task("ns", "ns_vorticity_pairs", "w0", "w1", True, "circular"))
METHODS = ("mgno", "fno", "fno_neuralop", "unet")  # the main rows' models, each with the recipe's defaults
ABLATIONS = ("mgno_bilinear", "mgno_l2_h1", "mgno_scalar_norm")  # one change to mgno each (the name says which)
DEFAULT_METHODS = (*METHODS, "mgno_bilinear")

# model sizes: "paper" = MgNO 24 channels / 4 layers (the paper's Darcy model) against the FNO reference
# (12 modes, width 32); "cpu" = the paper's MgNO and a narrower FNO / U-Net, so 4 tasks x 4 models fit a CPU
SIZES = {"paper": dict(mgno_width=24, fno_modes=12, fno_width=32, unet_width=16),
         "cpu": dict(mgno_width=24, fno_modes=12, fno_width=20, unet_width=12)}

# the scale of each preset: Darcy grid and samples, the other tasks' grid and samples (``aux``), Navier-Stokes
# trajectories, training length. cpu: Darcy at 64^2 with 1000 training pairs, Helmholtz and NS at 32^2 with 400,
# 8 epochs (the paper: 1000 pairs, 500 epochs); gpu: the paper's grids (Darcy smooth 211, rough 256).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": dict(res=64, n_train=1000, n_test=100, aux_res=32, aux_n_train=400, ns_res=32, ns_traj=50,
                epochs=8, batch_size=8, lr=1e-3, size="cpu", device="cpu"),
    "gpu": dict(res=211, rough_res=256, n_train=1000, n_test=100, aux_res=211, aux_n_train=1000, ns_res=64,
                ns_traj=220, epochs=500, batch_size=8, lr=5e-4, size="paper", device="auto"),
    "smoke": dict(res=16, n_train=24, n_test=8, aux_res=16, aux_n_train=24, ns_res=16, ns_traj=8,
                  epochs=1, batch_size=8, lr=1e-3, size="cpu", device="auto"),
}


def task_grid(task: Task, p: dict[str, Any]) -> tuple[int, int]:
    """(grid points per side, training pairs) of ``task`` in preset ``p``."""
    if task.name == "darcy_rough":
        return p.get("rough_res", p["res"]), p["n_train"]
    if task.name == "darcy_smooth":
        return p["res"], p["n_train"]
    return (p["ns_res"] if task.name == "ns" else p["aux_res"]), p["aux_n_train"]


def task_data(task: Task, p: dict[str, Any], seed: int, runs: Path) -> dict[str, Any]:
    """The ``data`` section of one task: the first ``n_train`` pairs train, the last ``n_test`` are held out
    (in file order: the Navier-Stokes pairs are trajectory-major, so test pairs come from unseen runs).
    Every method of a task and seed reads one generated file, ``runs/data/TASK-sSEED.nc``."""
    res, n_train = task_grid(task, p)
    n = n_train + p["n_test"]
    params: dict[str, Any] = {"n": n, "res": res, "seed": seed + task.seed_offset}
    if task.name == "ns":  # ceil(n / runs) + 1 consecutive pairs of each of ns_traj trajectories
        params.update(trajectories=p["ns_traj"], pairs_per_trajectory=math.ceil(n / p["ns_traj"]) + 1)
    return {"make": task.make, "params": params, "inputs": [task.inp], "targets": [task.out],
            "split": {"train": n_train / n, "test": p["n_test"] / n}, "split_shuffle": False,
            **({"periodic": True} if task.periodic else {}), "cache": str(runs / "data" / f"{task.name}-s{seed}.nc")}


def models_for(task: Task, res: int, size: str) -> dict[str, dict[str, Any]]:
    """Model sections of every method on ``task``. neuraloperator counts modes over the whole axis (+-k),
    the FNO paper (and sciml's ``fno``) per sign, so ``n_modes = 2 * modes`` keeps the same frequencies."""
    z = SIZES[size]
    # the paper's Darcy/Helmholtz model has 6 levels (572,661 parameters) on 211 and 256 alike; on NS
    # MgNO uses the paper's variant (global residual u + w0, GroupNorm)
    mgno = dict(name="mgno", width=z["mgno_width"], layers=4, padding_mode=task.padding_mode,
                residual=task.periodic, norm=task.periodic,
                **({"levels": 6} if size == "paper" and not task.periodic else {"grid_size": res}))
    return {
        "mgno": mgno,
        "fno": dict(name="fno", modes=z["fno_modes"], width=z["fno_width"], layers=4,
                    padding=0 if task.periodic else 8),
        "fno_neuralop": dict(name="fno_neuralop", n_modes=2 * z["fno_modes"], hidden_channels=z["fno_width"],
                             n_layers=4, domain_padding=0.0 if task.periodic else 0.25),
        "unet": dict(name="unet", width=z["unet_width"], depth=3,
                     padding_mode="circular" if task.periodic else "zeros"),
        # bilinear interpolation + 3x3 conv instead of the paper's 4x4 transposed conv
        "mgno_bilinear": dict(mgno, prolongation="bilinear"),
    }


def method_sections(method: str, models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The spec sections of ``method``: its model, plus the one setting an ablation changes."""
    if method == "mgno_l2_h1":  # relative L2 + finite-difference relative H1 instead of the spectral H1
        return {"model": models["mgno"], "loss": {"name": "l2_h1"}}
    if method == "mgno_scalar_norm":  # one mean/std per variable instead of one per grid point
        return {"model": models["mgno"], "data": {"normalize": True}}
    return {"model": models[method]}


def run_name(task: str, method: str, seed: int) -> str:
    """The folder (under ``--runs``) and spec name of one row."""
    return f"{task}-{method}-s{seed}"


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """One ``field`` run per (task, method, seed)."""
    p = PRESETS[preset]
    train = {"epochs": args.epochs or p["epochs"], "batch_size": p["batch_size"], "lr": p["lr"], "progress": False}
    rows = []
    for task in (t for t in TASKS if t.name in args.tasks):
        res = task_grid(task, p)[0]
        models = models_for(task, res, p["size"])
        for method in args.methods:
            for seed in args.seeds:
                name = run_name(task.name, method, seed)
                sections = method_sections(method, models)
                data = {**task_data(task, p, seed, args.runs), **sections.pop("data", {})}
                spec = ExperimentSpec(recipe="field", name=name, out_dir=str(args.runs / name), seed=seed,
                                      device=p["device"], data=data, train=dict(train), **sections)
                rows.append(Row(task.name, method, spec,
                                labels={"grid": res, "role": "main" if method in METHODS else "ablation"}))
    return rows


def add_options(parser: argparse.ArgumentParser) -> None:
    names = [t.name for t in TASKS]
    parser.add_argument("--tasks", nargs="+", default=names, choices=names,
                        help="the tasks to run (default: all four)")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS + ABLATIONS,
                        help=f"the models to train (default: {', '.join(METHODS)} and the mgno_bilinear "
                             f"ablation; the other ablations: {', '.join(ABLATIONS[1:])})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the data draws and the weights (default: 0); each seed draws its own data, "
                             "every model of a seed sees the same")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train every row for this many epochs instead of the preset's (the OneCycle schedule "
                             "runs its whole course over them; the page then measures a shorter training)")


register_benchmark(Benchmark(name="operators", summary=__doc__.strip().splitlines()[0], sweep=sweep, report=report,
                             presets=("cpu", "gpu", "smoke"), options=add_options))
