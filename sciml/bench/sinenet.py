"""``sciml bench sinenet``: SineNet-K against U-Nets and FNO on a periodic and a walled system.

Every row is one run of the ``trajectory`` recipe (:mod:`sciml.evaluate.trajectory`) at its defaults: the
same data, loss (relative L2 in normalised space), optimiser (AdamW, warmup + cosine) and epochs for
every model of a system, one-step teacher forcing, each model predicting the increment over the last
frame, scored at the last epoch; errors in physical units; mean +- std over seeds. The seven methods
differ only in their model. ``--ablations`` adds rows for the U-Net and SineNet-8 with one recipe
setting changed, each named after what differs. This module declares the sweep,
:mod:`sciml.bench.sinenet_report` the page.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.bench.sinenet_report import report
from sciml.experiment import ExperimentSpec
from sciml.models.sinenet import compute_matched_channels

# Sizes per preset; a per-system dict overrides the preset for that system. The cpu preset is sized for
# one core of a shared CPU (C = 8, 32^2): smoke takes minutes, NS about an hour per seed for the seven
# methods (SineNet-8 ~20 min). NS trains on the first 96 of 104 generated trajectories (17 frames stored,
# 1248 windows) for 8 epochs, 2496 optimiser steps; the last 8 are the test set, shared with runs that
# train on fewer of them. On NS the U-Net beat SineNet-8 at 468-936 steps, the two are level at 2496 and
# SineNet-8 wins every seed at 4992 (docs/benchmarks/sinenet.md, ADR 0044).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": dict(res=32, n_train=8, n_test=4, frames=12, epochs=4, channels=8, seeds=[0, 1, 2], rollout=8, batch=4,
                device="cpu", ns=dict(n_train=96, n_pool=104, n_test=8, frames=16, epochs=8)),
    "gpu": dict(res=64, n_train=400, n_test=50, frames=30, epochs=50, channels=64, seeds=[0, 1, 2], rollout=10,
                batch=32, device="auto"),
    "smoke": dict(res=16, n_train=3, n_test=2, frames=6, epochs=1, channels=4, seeds=[0, 1], rollout=2, batch=8,
                  device="cpu"),
}
SYSTEMS = {  # name: (generator, variables, periodic, history, generator parameters)
    # frames 1 time unit apart: at 32^2 max|u| dt/dx is 4.8 cells per frame (median; 6.9 at most), rms 2.6
    "ns": ("ns_vorticity", ["w"], True, 4, {}),
    # rising plumes, frames 0.1 apart: the fastest smoke moves ~3-5 cells per frame at 32^2
    "smoke": ("smoke_box", ["s", "u", "v"], False, 2, {"burn_in": 1.0}),
    # c = 1, frames 0.1 apart: wave fronts move ~3.3 cells per frame at 32^2 and reflect off the walls
    "wave_box": ("wave_box", ["u", "v"], False, 2, {"frame_dt": 0.1}),
}
FRAME_DT = {"ns": 1.0, "smoke": 0.1, "wave_box": 0.1}  # each system's time between stored frames
DEFAULT_SYSTEMS = ["ns", "smoke"]
DATA_SEED = 123  # every seed's run sees the same trajectories; the seed draws the weights and batches
METHODS = ("unet", "sinenet-2", "sinenet-4", "sinenet-8", "unet-compute-matched", "sinenet-8-zeropad", "fno")
# one recipe setting changed from its default (name: what the spec changes, in its sections)
ABLATIONS: dict[str, dict[str, Any]] = {
    "state-target": {"params": {"target": "state"}},
    "lr-5e-4": {"train": {"lr": 5e-4}},
    "val-rollout-selection": {"params": {"select": "val_rollout"}},
    "frame-dt-x2": {"data_factor": {"frame_dt": 2}},
    "steps-x2": {"train_factor": {"epochs": 2}},
}
ABLATION_TEXT = {
    "state-target": "the model predicts the next state (default initialisation) instead of the increment",
    "lr-5e-4": "peak learning rate 5e-4 instead of 1e-3",
    "val-rollout-selection": "the epoch with the lowest rollout error on 4 validation trajectories (at most half) "
                             "carved from the training ones (trained on the rest) is tested, instead of the last",
    "frame-dt-x2": "frames twice as far apart in time",
    "steps-x2": "twice the epochs (twice the optimiser steps)",
}
N_VAL = 4  # validation trajectories of val-rollout-selection, taken from the end of the training ones (at most half)


def system_preset(preset: str, system: str, epochs: int | None = None) -> dict[str, Any]:
    """The preset's sizes with the system's own overrides applied (and ``epochs``, when given, for every system)."""
    p = PRESETS[preset]
    sizes = {**{k: v for k, v in p.items() if not isinstance(v, dict)}, **p.get(system, {})}
    return {**sizes, "epochs": epochs} if epochs else sizes


def method_model(method: str, system: str, channels: int, res: int) -> dict[str, Any] | None:
    """The model section of one method (None: the method does not run on this system). SineNet-K are
    parameter-matched to the U-Net (K = 1); the compute-matched U-Net has SineNet-8's GMACs."""
    _, variables, periodic, history, _ = SYSTEMS[system]
    pad = "circular" if periodic else "zeros"
    sinenet = {"name": "sinenet", "channels": channels, "padding_mode": pad}
    if method == "fno":
        return {"name": "fno", "modes": min(12, res // 2), "width": 2 * channels, "layers": 4,
                "padding": 0 if periodic else 8}
    if method == "unet-compute-matched":
        return {**sinenet, "waves": 1,
                "channels": compute_matched_channels(len(variables), history, channels, 8, res, pad)}
    if method == "sinenet-8-zeropad":  # zero padding is already every model's treatment of a box's walls
        return {**sinenet, "waves": 8, "padding_mode": "zeros"} if periodic else None
    return {**sinenet, "waves": 1 if method == "unet" else int(method.split("-")[1])}


def run_name(system: str, method: str, seed: int) -> str:
    """The folder (under ``--runs``) and spec name of one row."""
    return f"{system}-{method}-s{seed}"


def base_spec(preset: str, system: str, model: dict[str, Any], seed: int, name: str, runs: Path,
              epochs: int | None = None) -> ExperimentSpec:
    """A main row's spec: the system's data and sizes, the method's model, everything else the recipe's defaults."""
    p = system_preset(preset, system, epochs)
    gen, variables, _, history, gen_params = SYSTEMS[system]
    n_pool = p.get("n_pool", p["n_train"] + p["n_test"])
    data_params = {"n": n_pool, "res": p["res"], "frames": p["frames"], "seed": DATA_SEED, **gen_params}
    if p["device"] != "cpu":  # the batched solvers generate the trajectories where the models train
        data_params["device"] = "cuda"
    return ExperimentSpec(
        recipe="trajectory", name=name, out_dir=str(runs / name), seed=seed, device=p["device"],
        data={"make": gen, "params": data_params}, model=model,
        train={"epochs": p["epochs"], "batch_size": p["batch"], "progress": False},
        params={"variables": variables, "history": history, "split": {"train": p["n_train"], "test": p["n_test"]},
                "rollout_steps": p["rollout"]})


def ablated(spec: ExperimentSpec, system: str, ablation: str) -> ExperimentSpec:
    """``spec`` (a main row of ``system``) with the one setting of ``ablation`` changed."""
    change = ABLATIONS[ablation]
    data_params = {**spec.data["params"], **change.get("data", {})}
    if "frame_dt" in change.get("data_factor", {}):
        data_params["frame_dt"] = FRAME_DT[system] * change["data_factor"]["frame_dt"]
    train = {**spec.train, **change.get("train", {})}
    if "epochs" in change.get("train_factor", {}):
        train["epochs"] = spec.train["epochs"] * change["train_factor"]["epochs"]
    data = {**spec.data, "params": data_params}
    params = {**spec.params, **change.get("params", {})}
    if params.get("select") == "val_rollout":
        split = spec.params["split"]
        n_val = min(N_VAL, split["train"] // 2)  # at most half of them: the smoke preset trains on 3
        params["split"] = {"train": split["train"] - n_val, "val": n_val, "test": split["test"]}
    return ExperimentSpec(**{**vars(spec), "data": data, "train": train, "params": params})


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """One ``trajectory`` run per (system, method, seed), then the ablation rows."""
    rows = []
    for system in args.systems:
        p = system_preset(preset, system, args.epochs)
        seeds = args.seeds or p["seeds"]
        for method in args.methods or METHODS:
            model = method_model(method, system, p["channels"], p["res"])
            for seed in seeds if model is not None else ():
                name = run_name(system, method, seed)
                rows.append(Row(system, method, base_spec(preset, system, model, seed, name, args.runs, args.epochs)))
        for ablation in args.ablations:
            for method in args.ablation_methods:
                for seed in seeds:
                    name = run_name(system, f"{method}-{ablation}", seed)
                    spec = base_spec(preset, system, method_model(method, system, p["channels"], p["res"]), seed,
                                     name, args.runs, args.epochs)
                    rows.append(Row(system, f"{method}-{ablation}", ablated(spec, system, ablation),
                                    labels={"ablation": ablation}))
    return rows


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--systems", nargs="+", default=DEFAULT_SYSTEMS, choices=list(SYSTEMS),
                        help="the systems to run: ns (periodic Navier-Stokes vorticity), smoke (plumes in a closed "
                             "box), wave_box (damped waves in a box); default: ns smoke")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS,
                        help="only these methods (default: all seven)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="the seeds of the weights and batches (default: the preset's, 0 1 2 on cpu and gpu)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train every row for this many epochs instead of the preset's (a size, like the preset's; "
                             "e.g. a short gpu-preset run within a time limit)")
    parser.add_argument("--ablations", nargs="+", default=[], choices=list(ABLATIONS),
                        help="add rows with one recipe setting changed, named METHOD-ABLATION: "
                             + "; ".join(f"{k}: {v}" for k, v in ABLATION_TEXT.items()) + " (default: none)")
    parser.add_argument("--ablation-methods", nargs="+", default=["unet", "sinenet-8"], choices=METHODS,
                        help="the methods the ablations run for (default: unet sinenet-8)")


SUMMARY = "SineNet-K against U-Nets and FNO: rollout error on a periodic and a walled system"

register_benchmark(Benchmark(name="sinenet", summary=SUMMARY,
                             sweep=sweep, report=report, presets=("cpu", "gpu", "smoke"), options=add_options))
