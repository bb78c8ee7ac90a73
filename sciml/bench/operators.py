"""``sciml bench operators``: MgNO against FNO (sciml's and neuraloperator's) and U-Net.

Same data, normalisation, loss (the MgNO paper's spectral relative H1), epochs and optimiser for every
model, all in one run.
Tasks: Darcy smooth and rough, Helmholtz (variable wave speed), Navier-Stokes one step (nu = 1e-3).
Writes ``docs/benchmarks/operators.{json,md,png}``.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import xarray as xr
from torch.utils.data import TensorDataset

from sciml.bench.operators_report import write_report
from sciml.bench.results import BenchResult, keep_previous_rows
from sciml.utils.cost import epochs_for_budget, median_time, training_memory_mb
from sciml.utils.arguments import ArgumentParser
from sciml.data import DecodedOutput, Normalizer, make_dataset
from sciml.models import build_model, count_parameters
from sciml.train import Trainer, TrainConfig
from sciml.train.losses import SpectralH1Loss
from sciml.train.metrics import rel_h1, rel_l2
from sciml.utils import default_device

# Model sizes per preset: "paper" = MgNO 24 channels / 4 layers (the paper's Darcy model) against the
# FNO reference (12 modes, width 32); "cpu" = the paper's 24 MgNO channels (16 until session 4: 24 gave a
# clearly lower Darcy error at ~1.5x the epoch time, still with half the CPU FNO's parameters) and narrower
# FNO / U-Net so 4 tasks x 4 models fit a CPU budget.
SIZES = {
    "paper": dict(mgno_width=24, fno_modes=12, fno_width=32, unet_width=16),
    "cpu": dict(mgno_width=24, fno_modes=12, fno_width=20, unet_width=12),
}
PRESETS = {
    # a reduced CPU budget: Darcy at 64^2 with 400 training / 100 test samples (not the 1000: one epoch
    # of all four models at 64^2 costs ~0.15 s per sample, so 1000 would take ~55 min), Helmholtz and NS at
    # 32^2, 8 epochs at batch 8 (the paper: 1000 samples, 500 epochs). Measured: 31 min on one shared core.
    "default": dict(res=64, n_train=400, n_test=100, epochs=8, batch_size=8, lr=1e-3, aux_res=32, aux_n_train=400,
                    ns_res=32, ns_traj=50, size="cpu"),
    "quick": dict(res=16, n_train=24, n_test=8, epochs=1, batch_size=8, lr=1e-3, ns_res=16, ns_traj=8, size="cpu"),
    # the paper's grids for a GPU: Darcy smooth 211 (from 421), rough 256; 1000 training samples, 500 epochs
    "full": dict(res=211, n_train=1000, n_test=100, epochs=500, batch_size=8, lr=5e-4, ns_res=64, ns_traj=220,
                 size="paper"),
}


@dataclass
class Task:
    name: str
    inp: str
    out: str
    periodic: bool
    padding_mode: str


TASKS = [Task("darcy_smooth", "a", "u", False, "zeros"), Task("darcy_rough", "a", "u", False, "zeros"),
         Task("helmholtz", "c", "u", False, "reflect"), Task("ns", "w0", "w1", True, "circular")]


def task_params(task: Task, p: dict) -> dict:
    """The preset for one task: Helmholtz and NS use their own (smaller) grid and sample count when set."""
    if task.name.startswith("darcy"):
        return p
    return dict(p, res=p.get("aux_res", p["res"]), n_train=p.get("aux_n_train", p["n_train"]))


def task_data(task: Task, p: dict, seed: int) -> xr.Dataset:
    """(sample, y, x) input/target pairs for a task."""
    n = p["n_train"] + p["n_test"]
    res = 256 if (task.name == "darcy_rough" and p["res"] == 211) else p["res"]
    if task.name == "darcy_smooth":
        return make_dataset("darcy", n=n, res=res, seed=seed)
    if task.name == "darcy_rough":  # its own draws: with the smooth task's seed ~93% of coefficient pixels coincide
        return make_dataset("darcy_rough", n=n, res=res, seed=seed + 10_000)
    if task.name == "helmholtz":
        return make_dataset("helmholtz", n=n, res=res, seed=seed)
    frames = int(np.ceil(n / p["ns_traj"])) + 1  # frames - 1 (w0, w1) pairs per trajectory
    traj = make_dataset("ns_vorticity", n=p["ns_traj"], res=p["ns_res"], seed=seed, frames=frames)["w"].values
    w0, w1 = traj[:, :-1].reshape(-1, p["ns_res"], p["ns_res"])[:n], traj[:, 1:].reshape(-1, p["ns_res"], p["ns_res"])[:n]
    dims = ("sample", "y", "x")
    # trajectories are split whole (test pairs come from unseen trajectories): order is trajectory-major
    return xr.Dataset({"w0": (dims, w0, {"units": "1 / s", "long_name": "vorticity at t"}),
                       "w1": (dims, w1, {"units": "1 / s", "long_name": "vorticity at t + 1"})})


def models_for(task: Task, res: int, size: str = "paper", mgno_width: int | None = None) -> dict[str, dict]:
    """Model configs for a task. neuraloperator counts modes over the whole axis (+-k), the FNO paper (and
    sciml's ``fno``) per sign, so ``n_modes = 2 * modes`` keeps the same frequencies in both.
    ``mgno_width`` overrides the size's MgNO channel count (``--mgno-width``)."""
    pm, z = task.padding_mode, dict(SIZES[size])
    if mgno_width is not None:
        z["mgno_width"] = mgno_width
    # the paper's Darcy/Helmholtz model has 6 levels (572,661 parameters) on 211 and 256 alike
    mgno = dict(name="mgno", width=z["mgno_width"], layers=4, padding_mode=pm, residual=task.periodic,
                norm=task.periodic, **({"levels": 6} if size == "paper" and not task.periodic else {"grid_size": res}))
    return {
        "mgno": mgno,
        # ablation (not run by default): bilinear interpolation + 3x3 conv instead of the 4x4 transposed conv
        "mgno_bilinear": dict(mgno, prolongation="bilinear"),
        "fno": dict(name="fno", modes=z["fno_modes"], width=z["fno_width"], layers=4, padding=0 if task.periodic else 8),
        "fno_neuralop": dict(name="fno_neuralop", n_modes=2 * z["fno_modes"], hidden_channels=z["fno_width"],
                             n_layers=4, domain_padding=0.0 if task.periodic else 0.25),
        "unet": dict(name="unet", width=z["unet_width"], depth=3, padding_mode="circular" if task.periodic else "zeros"),
    }


class L2PlusH1Loss(torch.nn.Module):
    """Relative L2 + relative finite-difference H1 (the previous session's loss; ``--loss l2h1``)."""

    def __init__(self, periodic: bool):
        super().__init__()
        self.periodic = periodic

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return rel_l2(pred, target).mean() + rel_h1(pred, target, periodic=self.periodic).mean()


METHODS = ("mgno", "fno", "fno_neuralop", "unet")  # the issue's; run by default
ABLATIONS = ("mgno_bilinear",)  # run only when named in --methods


def _fields(ds: xr.Dataset, name: str) -> torch.Tensor:
    return torch.as_tensor(ds[name].values, dtype=torch.float32)[:, None]


def run_task(task: Task, p: dict, seed: int, res_: BenchResult, device, examples: dict,
             after_method: Callable[[], None] | None = None) -> None:
    """Train and evaluate every method on one task. Inputs are normalised (pointwise by default, as in
    the paper), every model's output is decoded inside the model and the loss is computed in physical units.
    ``after_method()`` runs after each model's rows are added (the CLI writes the report there)."""
    p = task_params(task, p)
    ds = task_data(task, p, seed)
    res = ds.sizes["x"]
    train, test = ds.isel(sample=slice(0, p["n_train"])), ds.isel(sample=slice(p["n_train"], None))
    x_tr, y_tr, x_te, truth = (_fields(d, v) for d, v in ((train, task.inp), (train, task.out),
                                                           (test, task.inp), (test, task.out)))
    pointwise = p.get("normalizer", "pointwise") == "pointwise"
    # the shared normaliser: pointwise = mean/std per grid point over the training samples (eps 1e-5)
    x_norm, y_norm = Normalizer.fit(x_tr, pointwise=pointwise), Normalizer.fit(y_tr, pointwise=pointwise)
    data = TensorDataset(x_norm.encode(x_tr), y_tr)
    loss = SpectralH1Loss() if p.get("loss", "h1") == "h1" else L2PlusH1Loss(periodic=task.periodic)
    x_te_enc = x_norm.encode(x_te).to(device)
    truth = truth.double()
    for method, cfg in models_for(task, res, p["size"], p.get("mgno_width")).items():
        if method not in p.get("methods", METHODS):
            continue
        torch.manual_seed(seed)
        cfg = dict(cfg)
        net = build_model(cfg.pop("name"), **cfg)
        model = DecodedOutput(net, y_norm)
        epochs = p["epochs"]
        if p.get("budget_s"):  # fit the epoch count (and so the whole OneCycle schedule) to a time budget
            batch = (data.tensors[0][: p["batch_size"]], data.tensors[1][: p["batch_size"]])
            epochs = epochs_for_budget(model.to(device), batch, loss, len(data), p["budget_s"], p["epochs"])
        # the paper's OneCycle: warm-up 20 %, start at lr / 2, end at lr / 200; no gradient clipping
        tc = TrainConfig(epochs=epochs, batch_size=p["batch_size"], lr=p["lr"], weight_decay=1e-4,
                         optimizer="adam", scheduler="onecycle",
                         scheduler_kwargs=dict(pct_start=0.2, div_factor=2.0, final_div_factor=100.0),
                         grad_clip=0.0, seed=seed, progress=False, device=str(device))
        trainer = Trainer(model, tc, data, loss_fn=loss)
        history = trainer.fit()
        s_per_epoch = statistics.median(h["time_s"] for h in history)  # median: the CPU is shared
        model = trainer.model.eval()
        with torch.no_grad():
            p_t = torch.cat([model(xb) for xb in x_te_enc.split(32)]).cpu().double()
        xb = torch.randn(p["batch_size"], 1, res, res, device=device)
        mem = training_memory_mb(model.train(), xb, torch.randn_like(xb), loss)
        model.eval()
        with torch.no_grad():
            xi = torch.randn(32, 1, res, res, device=device)
            infer = median_time(lambda: model(xi), repeats=5, device=device) / 32 * 1e3
        err_l2, err_h1 = float(rel_l2(p_t, truth).mean()), float(rel_h1(p_t, truth, periodic=task.periodic).mean())
        for metric, value in [("rel_l2", err_l2), ("h1", err_h1), ("params", count_parameters(net)),
                              ("s_per_epoch", s_per_epoch), ("peak_mem_mb", mem), ("infer_ms", infer),
                              ("epochs", epochs)]:
            res_.add(task.name, method, metric, value, seed=seed)
        print(f"[operators] {task.name:13s} {method:13s} rel_l2 {err_l2:.4f} h1 {err_h1:.4f} "
              f"({epochs} epochs, {s_per_epoch:.1f} s/epoch)", flush=True)
        if seed == 0:
            examples.setdefault(task.name, {"input": test[task.inp].values[0], "truth": test[task.out].values[0]})
            examples[task.name][method] = p_t[0, 0].numpy()
        if after_method is not None:
            after_method()


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="sciml bench operators", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--full", action="store_true", help="the paper's scale (same as --preset full; for a GPU)")
    ap.add_argument("--tasks", nargs="*", default=[t.name for t in TASKS])
    ap.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS + ABLATIONS,
                    help=f"default: the issue's {' '.join(METHODS)}; ablations: {' '.join(ABLATIONS)}")
    ap.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="run seeds FIRST_SEED .. FIRST_SEED + SEEDS - 1 (with --merge: adds seeds to earlier ones)")
    ap.add_argument("--loss", choices=("h1", "l2h1"), default="h1",
                    help="h1: the paper's spectral relative H1 (default); l2h1: relative L2 + finite-difference H1")
    ap.add_argument("--normalizer", choices=("pointwise", "scalar"), default="pointwise")
    ap.add_argument("--n-train", type=int, default=None, help="override the preset's training samples")
    ap.add_argument("--res", type=int, default=None, help="override the preset's Darcy/Helmholtz grid")
    ap.add_argument("--mgno-width", type=int, default=None,
                    help="override the preset's MgNO channels (24 in both presets)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="size each model's epochs (at most --epochs / the preset's) to this many seconds of "
                         "training, timed on the device before it trains; the schedule then runs its whole course")
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other tasks' rows of OUT/operators.json (each row records its command)")
    ap.add_argument("--figure", default=None, help="file name (in OUT) of this run's figure; default "
                    "operators.png, or operators_rerun.png with --merge")
    ap.add_argument("--device", default="auto")
    a = ap.parse_args(argv)
    p = dict(PRESETS["full" if a.full else a.preset], methods=tuple(a.methods))
    p.update(loss=a.loss, normalizer=a.normalizer)
    for key, val in (("epochs", a.epochs), ("n_train", a.n_train), ("res", a.res), ("mgno_width", a.mgno_width),
                     ("budget_s", a.budget_s)):
        if val is not None:
            p[key] = val
    device = default_device(a.device)
    res = BenchResult("operators", command="sciml bench operators " + " ".join(argv or []), device=device)
    examples: dict = {}
    t0 = time.perf_counter()
    done: list[str] = []
    old_json = Path(a.out) / "operators.json"
    old = json.loads(old_json.read_text()) if a.merge and old_json.exists() else None

    def flush() -> None:
        # written after every model, so a run cut short still leaves the finished models' results (and, with
        # --merge, the earlier rows of those not redone yet)
        out_res = BenchResult("operators", command=res.command, device=device)
        out_res.rows = list(res.rows)
        kept = keep_previous_rows(out_res, old)
        write_report(out_res, examples, p, Path(a.out), "full" if a.full else a.preset, done,
                     time.perf_counter() - t0, kept, [t.name for t in TASKS], a.figure)

    for task in [t for t in TASKS if t.name in a.tasks]:
        done.append(task.name)
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            run_task(task, p, seed, res, device, examples, after_method=flush)
    print(f"[operators] wrote {Path(a.out) / 'operators.md'}")
    return 0
