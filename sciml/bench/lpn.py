"""``sciml bench lpn``: learned proximal networks in plug-and-play, against TV, DnCNN and BM3D.

All methods run on the same held-out images (crops of skimage images never used for training):
deblurring (Gaussian blur sigma 1 px, noise 0.02 and 0.04) and sparse-view CT. Rows, each one run of a
recipe of :mod:`sciml.inverse.recipe`: ``denoise`` trains the LPN and the DnCNN on the same patches at the
same noise and step count (``denoiser``) and scores them alone on held-out patches; the restoration tasks
(``restoration``) tune each method's strength and iteration count on validation crops of training images
and score the test crops, the learned rows using the ``denoise`` rows' checkpoints; ``laplace_toy`` trains
the paper's 1-D Laplacian toy with each loss (``laplace_toy``). The cpu preset measures the recipes'
defaults; :mod:`sciml.bench.lpn_report` renders the page.
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from sciml.bench.lpn_report import DENOISE, TOY, report, run_name
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.experiment import ExperimentSpec
from sciml.inverse.pretrained import pretrained_path
from sciml.inverse.recipe import TOY_LOSSES
from sciml.inverse.restoration import LEARNED, METHODS, TASKS

ALL_TASKS = (DENOISE, *TASKS, TOY)

# what each preset changes in the recipes' defaults (the cpu preset measures the defaults): "nets" per
# learned method (its model section), "denoiser" / "restoration" / "toy" the recipes' parameters, and
# "net_training" per learned method what its own denoiser run changes beyond "denoiser"
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"device": "cpu", "nets": {}, "denoiser": {}, "restoration": {}, "toy": {}},
    # one GPU, about 5 minutes of training: the multiscale 64-channel LPN and a parameter-matched DnCNN (64
    # channels, 8 convs) on the same patches, for about equal wall time on one H200 (the step counts are what
    # an equal-time budget gave there). These are the nets that ship (sciml.inverse.pretrained); evaluation
    # uses the cpu preset's crops, so its rows sit beside the cpu rows.
    "gpu": {"device": "auto",
            "nets": {"lpn": {"hidden": 64, "layers": 6, "strides": [2, 1, 2, 1, 2]}, "dncnn": {"hidden": 64, "depth": 8}},
            "denoiser": {"n_patches": 20000, "res": 64, "batch_size": 64, "l1_steps": 3460, "pm_steps": 864},
            "net_training": {"dncnn": {"mse_steps": 9550}}, "restoration": {}, "toy": {}},
    # the paper's scale: the official image LPN's multiscale layout at 128 channels, 128 px crops
    "full": {"device": "auto",
             "nets": {"lpn": {"hidden": 128, "layers": 6, "strides": [2, 1, 2, 1, 2]}, "dncnn": {"hidden": 64}},
             "denoiser": {"n_patches": 40000, "res": 64, "batch_size": 64, "l1_steps": 20000, "pm_steps": 20000},
             "restoration": {"size": 128, "iter_grid": [20, 50, 100], "ct_angles": 30, "bm3d_iters": 20},
             "toy": {"steps": 5000}},
    # seconds: tiny nets and crops, to check the whole path (not a measurement)
    "smoke": {"device": "cpu",
              "nets": {"lpn": {"hidden": 4, "layers": 2}, "dncnn": {"hidden": 4, "depth": 2}},
              "denoiser": {"n_patches": 64, "res": 16, "batch_size": 8, "l1_steps": 20, "pm_steps": 10},
              "restoration": {"size": 24, "iter_grid": [3, 6], "ct_angles": 8, "bm3d_iters": 1},
              "toy": {"steps": 60, "batch_size": 500}},
}


def prior_training(preset: str, method: str) -> dict[str, Any]:
    """The ``denoiser`` recipe's parameters of ``method``'s net in ``preset`` (its model section included)."""
    p = PRESETS[preset]
    return {"model": {"name": method, **p["nets"].get(method, {})}, **p["denoiser"],
            **p.get("net_training", {}).get(method, {})}


def denoiser_row(preset: str, method: str, seed: int, args: argparse.Namespace) -> Row:
    name, training = run_name(DENOISE, method, seed), prior_training(preset, method)
    spec = ExperimentSpec(recipe="denoiser", name=name, out_dir=str(args.runs / name), seed=seed,
                          device=PRESETS[preset]["device"], model=training.pop("model"), params=training)
    return Row(DENOISE, method, spec)


def prior_of(preset: str, method: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """How a restoration row gets its learned prior: the shipped net, a checkpoint of ``--priors``, or the
    checkpoint of this sweep's ``denoise`` row (with the parameters that train it, so the spec runs alone)."""
    if args.pretrained:
        return {"prior": str(pretrained_path(method))}
    if args.priors:
        return {"prior": str(Path(args.priors).resolve() / f"{method}.pt")}
    return {"prior": str(args.runs / run_name(DENOISE, method, seed) / f"{method}.pt"),
            "prior_training": prior_training(preset, method)}


def restoration_row(preset: str, task: str, method: str, seed: int, args: argparse.Namespace) -> Row:
    name = run_name(task, method, seed)
    params = {"task": task, "method": method, **PRESETS[preset]["restoration"],
              **(prior_of(preset, method, seed, args) if method in LEARNED else {})}
    spec = ExperimentSpec(recipe="restoration", name=name, out_dir=str(args.runs / name), seed=seed,
                          device=PRESETS[preset]["device"], params=params)
    return Row(task, method, spec)


def toy_row(preset: str, loss: str, seed: int, args: argparse.Namespace) -> Row:
    name = run_name(TOY, loss, seed)
    spec = ExperimentSpec(recipe="laplace_toy", name=name, out_dir=str(args.runs / name), seed=seed, device="cpu",
                          params={"loss": loss, **PRESETS[preset]["toy"]})
    return Row(TOY, loss, spec)


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """The denoisers first (the learned restoration rows use their checkpoints), then the restoration tasks,
    then the toy; ``--tasks``, ``--methods`` and ``--seeds`` select rows."""
    methods = [m for m in args.methods if m != "bm3d" or bm3d_installed()]
    trained_here = not (args.pretrained or args.priors)
    rows = []
    for seed in args.seeds:
        if DENOISE in args.tasks and trained_here:
            rows += [denoiser_row(preset, m, seed, args) for m in LEARNED if m in methods]
        rows += [restoration_row(preset, t, m, seed, args) for t in TASKS if t in args.tasks for m in methods]
        if TOY in args.tasks:
            rows += [toy_row(preset, loss, seed, args) for loss in TOY_LOSSES]
    return rows


def bm3d_installed() -> bool:
    """Whether the optional ``bm3d`` package is there (its rows are left out otherwise, and the page says so)."""
    return importlib.util.find_spec("bm3d") is not None


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", nargs="+", default=list(ALL_TASKS), choices=ALL_TASKS,
                        help="which rows to run: denoise (train and score the nets), the restoration tasks, "
                             "laplace_toy (default: all)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="the priors of the restoration rows (default: all; bm3d only when installed)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the patches, the nets' initialisation and the measurement noise (default: 0)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--pretrained", action="store_true",
                        help="restore with the nets shipped with sciml (sciml.inverse.pretrained, trained by the gpu "
                             "preset) instead of training nets")
    source.add_argument("--priors", default=None,
                        help="folder with lpn.pt / dncnn.pt denoiser checkpoints to restore with instead of training")


register_benchmark(Benchmark(name="lpn", summary=__doc__.strip().splitlines()[0], sweep=sweep, report=report,
                             presets=("cpu", "gpu", "full", "smoke"), options=add_options,
                             preset_help={"gpu": "one GPU, about 5 minutes of training: the 64-channel nets that ship "
                                                 "with sciml",
                                          "full": "the paper's scale: a 128-channel LPN on 128 px crops, one GPU, "
                                                  "hours"}))
