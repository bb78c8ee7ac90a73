"""``sciml bench sinenet``: SineNet-K against U-Nets and FNO on a periodic and a walled system.

Same data, loss (relative L2 in normalised space), optimiser (AdamW, warmup + cosine) and epochs
for every model; one-step teacher forcing; errors in physical units; mean +- std over seeds.
Writes ``docs/benchmarks/sinenet.{json,md}`` and two figures.
"""
from __future__ import annotations

import inspect
import json
import time
from pathlib import Path

import numpy as np
import torch

from sciml.bench.results import BenchResult, keep_previous_rows
from sciml.bench.sinenet_report import write_page
from sciml.utils.cost import epochs_for_budget, gmacs
from sciml.utils.arguments import ArgumentParser
from sciml.data import Normalizers, TrajectoryDataset, make_dataset
from sciml.errors import ConfigError
from sciml.data.registry import DATASETS
from sciml.evaluate.rollout import NextFrameFromIncrement, field_rel_l2_loss, rollout, rollout_errors
from sciml.models import build_model, count_parameters
from sciml.train import Trainer, TrainConfig
from sciml.utils import default_device

# The default preset is sized for one core of a shared CPU (C = 8, 32^2): smoke takes minutes, NS about an
# hour per seed for the seven methods (SineNet-8 ~18 min). A per-system dict overrides the preset for that
# system: NS trains on 96 trajectories of 16 frames (1248 windows) for 8 epochs, 2496 optimiser steps. On NS
# the U-Net beat SineNet-8 at 468-936 steps, the two are level at 2496 and SineNet-8 wins every seed at 4992
# (--epochs 16; docs/benchmarks/sinenet.md, ADR 0044). The 104 generated trajectories give a test set shared
# with runs at other --n-train.
PRESETS = {
    "default": dict(res=32, n_train=8, n_test=4, frames=12, epochs=4, channels=8, seeds=2, rollout=8, batch=4,
                    ns=dict(n_train=96, n_pool=104, n_test=8, frames=16, epochs=8)),
    "quick": dict(res=16, n_train=3, n_test=2, frames=6, epochs=1, channels=4, seeds=2, rollout=2, batch=8),
    "full": dict(res=64, n_train=400, n_test=50, frames=30, epochs=50, channels=64, seeds=3, rollout=10, batch=32),
}
SYSTEMS = {  # name: (generator, variables, periodic, history, generator kwargs)
    # frames 1 time unit apart: at 32^2 max|u| dt/dx is 4.8 cells per frame (median; 6.9 at most), rms 2.6
    "ns": ("ns_vorticity", ["w"], True, 4, {}),
    # rising plumes, frames 0.1 apart: the fastest smoke moves ~3-5 cells per frame at 32^2
    "smoke": ("smoke_box", ["s", "u", "v"], False, 2, {"burn_in": 1.0}),
    # c = 1, frames 0.1 apart: wave fronts move ~3.3 cells per frame at 32^2 and reflect off the walls
    "wave_box": ("wave_box", ["u", "v"], False, 2, {"frame_dt": 0.1}),
}
DEFAULT_SYSTEMS = ["ns", "smoke"]
TARGETS = {"increment": "the increment over the last input frame (output layer zero-initialised, so training starts "
                        "at persistence)", "state": "the next state (default initialisation)"}


METHODS = ("unet", "sinenet-2", "sinenet-4", "sinenet-8", "unet-compute-matched", "sinenet-8-zeropad", "fno")


def method_configs(fields: int, periodic: bool, channels: int, res: int, history: int) -> dict[str, dict]:
    """The seven methods of the issue; SineNet-K are parameter-matched to the U-Net (K = 1)."""
    pad = "circular" if periodic else "zeros"
    base = dict(name="sinenet", fields=fields, history=history, channels=channels, padding_mode=pad)
    cfgs = {"unet": {**base, "waves": 1}}
    for k in (2, 4, 8):
        cfgs[f"sinenet-{k}"] = {**base, "waves": k}
    x = torch.randn(1, history * fields, res, res)
    g1, g8 = (gmacs(build_model(**{kk: v for kk, v in c.items() if kk != "name"}, name="sinenet"), x)
              for c in (cfgs["unet"], cfgs["sinenet-8"]))
    cfgs["unet-compute-matched"] = {**base, "waves": 1, "channels": int(round(channels * np.sqrt(g8 / g1)))}
    if periodic:
        cfgs["sinenet-8-zeropad"] = {**base, "waves": 8, "padding_mode": "zeros"}
    cfgs["fno"] = dict(name="fno", in_channels=history * fields, out_channels=fields, modes=min(12, res // 2),
                       width=2 * channels, layers=4, padding=0 if periodic else 8)
    return cfgs


def build_method(cfg: dict, fields: int, target: str) -> torch.nn.Module:
    """The model of one method's config, wrapped to predict the increment when ``target == "increment"``."""
    cfg = dict(cfg)
    model = build_model(cfg.pop("name"), **cfg)
    return NextFrameFromIncrement(model, fields) if target == "increment" else model


def epochs_within_budget(cfgs: dict[str, dict], p: dict, train, fields: int, device) -> int:
    """Epochs (at most the preset's) that fit ``p["budget_s"]`` seconds of training for the costliest method
    run (the one with the most waves); every method then trains for that many epochs, so all get the same
    optimiser steps. Timed on a throwaway copy before any training (:func:`epochs_for_budget`)."""
    method, cfg = max(cfgs.items(), key=lambda kv: kv[1].get("waves", 0))
    torch.manual_seed(0)
    model = build_method(cfg, fields, p.get("target", "increment")).to(device)
    batch = tuple(map(torch.stack, zip(*[train[i] for i in range(min(p["batch"], len(train)))])))
    epochs = epochs_for_budget(model, batch, field_rel_l2_loss(fields), len(train), p["budget_s"], p["epochs"])
    print(f"[sinenet] --budget-s {p['budget_s']:g}: {epochs} epochs for every method (timed on {method})", flush=True)
    return epochs


def system_preset(p: dict, system: str) -> dict:
    """The preset with its per-system overrides applied (other systems' override dicts dropped)."""
    return {**{k: v for k, v in p.items() if not isinstance(v, dict)}, **p.get(system, {})}


def trajectory_split(n_train: int, n_test: int, n_pool: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Indices of the training trajectories (the first ``n_train``) and test trajectories (the last ``n_test``)
    of ``n_pool`` generated ones (default ``n_train + n_test``), and the number to generate. A fixed pool makes
    runs with different ``n_train`` share one test set and nest their training sets (the NS generator draws
    each trajectory from the seed and its index, so a trajectory does not depend on the pool size)."""
    n_pool = n_pool or n_train + n_test
    if n_pool < n_train + n_test:
        raise ConfigError(f"--n-pool {n_pool} is smaller than n_train + n_test = {n_train + n_test}; raise it")
    return np.arange(n_train), np.arange(n_pool - n_test, n_pool), n_pool


def run_system(system: str, p: dict, res_: BenchResult, device, pictures: dict, notes: dict) -> None:
    p = system_preset(p, system)
    gen, variables, periodic, history, kw = SYSTEMS[system]
    kw = {**kw, **p.get("gen", {})}  # per-system generator overrides (e.g. frame_dt)
    if "device" in inspect.signature(DATASETS.get(gen)).parameters:  # batched solvers run where the models train
        kw["device"] = str(device)
    F = len(variables)
    train_idx, test_idx, n_gen = trajectory_split(p["n_train"], p["n_test"], p.get("n_pool"))
    t_gen = time.perf_counter()
    ds = make_dataset(gen, n=n_gen, res=p["res"], frames=p["frames"], seed=123, **kw)
    t_gen = time.perf_counter() - t_gen
    select = p.get("select", "last")
    if select == "val-rollout":  # validation trajectories carved from the end of the training ones
        train_idx, val_idx = train_idx[:-p["n_val"]], train_idx[-p["n_val"]:]
    norms = Normalizers.fit(ds.isel(sample=train_idx), variables)
    train = TrajectoryDataset(ds, variables, history, 1, samples=train_idx, normalizers=norms)
    steps = min(p["rollout"], p["frames"] + 1 - history)

    def rollout_case(idx):
        """Windows of trajectories ``idx``, the normalised first window of each (B, h*F, H, W) and the
        whole trajectories in physical units (B, T, F, H, W)."""
        windows = TrajectoryDataset(ds, variables, history, 1, samples=idx, normalizers=norms)
        x0 = torch.stack([windows[j][0] for j, (s, t0) in enumerate(windows.index) if t0 == 0])
        full = torch.as_tensor(np.stack([ds[v].isel(sample=idx).values for v in variables], axis=2)).double()
        return windows, x0, full

    test, x0, test_full = rollout_case(test_idx)
    xs, ys = map(torch.stack, zip(*[test[i] for i in range(len(test))]))
    # the same one-step error on (up to 256 evenly spaced) training windows: the train/test gap shows overfitting
    fit_idx = np.unique(np.linspace(0, len(train) - 1, min(256, len(train))).round().astype(int))
    xs_fit, ys_fit = map(torch.stack, zip(*[train[int(i)] for i in fit_idx]))
    true_traj = test_full[:, history:history + steps]

    def decode(z):  # (..., F, H, W) normalised -> physical
        return norms.decode_stack(variables, z.double(), dim=-3)

    val_error = None
    if select == "val-rollout":
        _, vx0, val_full = rollout_case(val_idx)
        vtrue = val_full[:, history:history + steps]

        def val_error(m):  # mean rollout error over the validation trajectories, physical units
            was_training = m.training
            m.eval()
            with torch.no_grad():
                err = float(rollout_errors(decode(rollout(m, vx0.to(device), steps, F).cpu()), vtrue).mean())
            m.train(was_training)
            return {"rollout_rel_l2": err}

    cfgs = {m: c for m, c in method_configs(F, periodic, p["channels"], p["res"], history).items()
            if not p.get("methods") or m in p["methods"]}
    if p.get("budget_s"):
        p["epochs"] = epochs_within_budget(cfgs, p, train, F, device)
    # context, not a method: persistence (copy the last frame) over the same windows and rollouts
    persist = test_full[:, history - 1:history].expand_as(true_traj)
    notes[system] = {"persistence_one_step": float(rollout_errors(decode(xs[:, -F:])[:, None], decode(ys)[:, None]).mean()),
                          "persistence_rollout": float(rollout_errors(persist, true_traj).mean()),
                          "n_generated": n_gen, "generation_s": t_gen, "train_windows": len(train),
                          "epochs": p["epochs"], "steps": p["epochs"] * -(-len(train) // p["batch"]),  # every method
                          "n_train": len(train_idx), "n_test": len(test_idx), "budget_s": p.get("budget_s")}
    print(f"[sinenet] {system}: generated {n_gen} trajectories in {t_gen:.1f} s; {len(train)} training windows, "
          f"{notes[system]['steps']} optimiser steps per model", flush=True)

    for method, cfg in cfgs.items():
        for seed in range(p.get("first_seed", 0), p.get("first_seed", 0) + p["seeds"]):
            torch.manual_seed(seed)
            model = build_method(cfg, F, p.get("target", "increment"))
            tc = TrainConfig(epochs=p["epochs"], batch_size=p["batch"], lr=p.get("lr", 1e-3), weight_decay=1e-5, optimizer="adamw",
                             scheduler="cosine", warmup_epochs=p["epochs"] / 10, min_lr=1e-7,
                             seed=seed, device=str(device), progress=False, monitor="val_rollout_rel_l2")
            t0 = time.perf_counter()
            # the paper's selection: the Trainer keeps the epoch with the lowest validation rollout error
            trainer = Trainer(model, tc, train, loss_fn=field_rel_l2_loss(F), validate_fn=val_error)
            trainer.fit()
            s_per_epoch = (time.perf_counter() - t0) / p["epochs"]
            m = trainer.model
            if val_error is not None:
                epoch = trainer.restore_best()
                res_.add(system, method, "selected_epoch", epoch, seed=seed)
                res_.add(system, method, "val_rollout_rel_l2", trainer.best, seed=seed)
                print(f"[sinenet] {method} seed {seed}: val rollout by epoch "
                      + ", ".join(f"{h['val_rollout_rel_l2']:.4f}" for h in trainer.history) + f"; selected epoch {epoch}")
            m = m.eval()
            with torch.no_grad():
                one = torch.cat([m(xs[i:i + 64].to(device)).cpu() for i in range(0, len(xs), 64)])
            one_step = float(rollout_errors(decode(one)[:, None], decode(ys)[:, None]).mean())
            with torch.no_grad():
                fit = torch.cat([m(xs_fit[i:i + 64].to(device)).cpu() for i in range(0, len(xs_fit), 64)])
            train_one_step = float(rollout_errors(decode(fit)[:, None], decode(ys_fit)[:, None]).mean())
            traj = decode(rollout(m, x0.to(device), steps, F).cpu())
            per_step = rollout_errors(traj, true_traj).mean(0).numpy()
            for metric, value in [("one_step_rel_l2", one_step), ("params", count_parameters(m)),
                                  ("gmacs", gmacs(m.cpu(), x0[:1])), ("s_per_epoch", s_per_epoch),
                                  ("train_one_step_rel_l2", train_one_step)]:
                res_.add(system, method, metric, value, seed=seed)
            # the error at each rollout step rides on the rollout row: the page's curves (merged runs too)
            res_.add(system, method, "rollout_rel_l2", float(per_step.mean()), seed=seed,
                     per_step=[float(v) for v in per_step])
            m.to(device)
            if seed == p.get("first_seed", 0) and method in ("unet", "sinenet-8"):
                pictures.setdefault(system, {"truth": true_traj[0, -1, 0].numpy()})[method] = traj[0, -1, 0].numpy()
            print(f"[sinenet] {system:8s} {method:22s} seed {seed}: one-step {one_step:.4f}, "
                  f"rollout {per_step.mean():.4f}, one-step on training windows {train_one_step:.4f} "
                  f"({s_per_epoch:.1f} s/epoch)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="sciml bench sinenet", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--full", action="store_true", help="paper-like scale (C = 64, 64^2, more data), for a GPU")
    ap.add_argument("--systems", nargs="*", default=DEFAULT_SYSTEMS, choices=list(SYSTEMS))
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--methods", nargs="*", default=None, help="run only these methods (default: all seven)")
    ap.add_argument("--seeds", type=int, default=None, help="override the preset's number of seeds")
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--target", choices=["increment", "state"], default=None,
                    help="what every model predicts: the increment over the last frame (default) or the next state")
    ap.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate for every method (default 1e-3)")
    ap.add_argument("--frame-dt", type=float, default=None,
                    help="time between stored frames for the systems run (default: each system's own)")
    ap.add_argument("--select", choices=["last", "val-rollout"], default="last",
                    help="which epoch's model is tested: the last (default) or the one with the lowest rollout error "
                         "on validation trajectories carved from the training ones (the paper's protocol)")
    ap.add_argument("--channels", type=int, default=None,
                    help="base width C for every method of the systems run (default: the preset's, 8); the "
                         "parameter matching, compute-matched U-Net and FNO width follow it")
    ap.add_argument("--epochs", type=int, default=None,
                    help="training epochs for every method of the systems run (default: the preset's per system)")
    ap.add_argument("--res", type=int, default=None,
                    help="grid size (res x res) for the systems run (default: the preset's, 32); the frame spacing in "
                         "time stays, so features move proportionally more cells per frame")
    ap.add_argument("--n-train", type=int, default=None,
                    help="training trajectories for the systems run (default: the preset's per system)")
    ap.add_argument("--n-pool", type=int, default=None,
                    help="trajectories generated for the systems run (default n_train + n_test): training uses the "
                         "first n_train, testing the last n_test, so runs with different --n-train share a test set")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="seconds of training per model: the epoch count (at most the preset's) is sized so that the "
                         "costliest method run fits, and every method trains that many epochs (e.g. for a GPU session)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the rows of OUT/sinenet.json that this run does not redo (other systems, methods or "
                         "seeds), so runs split by method or seed (e.g. in parallel processes) give one page")
    ap.add_argument("--n-val", type=int, default=4, help="validation trajectories taken from the training ones "
                                                          "with --select val-rollout")
    a = ap.parse_args(argv)
    name = "full" if a.full else a.preset
    p, device = dict(PRESETS[name]), default_device(a.device)
    if a.methods:
        p["methods"] = a.methods
    if a.seeds:
        p["seeds"] = a.seeds
    p["first_seed"] = a.first_seed
    if a.target:
        p["target"] = a.target
    if a.lr:
        p["lr"] = a.lr
    p["select"], p["n_val"] = a.select, a.n_val
    if a.budget_s:
        p["budget_s"] = a.budget_s
    for system in a.systems if a.frame_dt else ():  # the per-system dicts carry generator overrides
        p[system] = {**p.get(system, {}), "gen": {**p.get(system, {}).get("gen", {}), "frame_dt": a.frame_dt}}
    # size overrides go into the per-system dicts, which win over both the preset's base values and
    # its own per-system values (e.g. the default preset's ns n_train=96, epochs=8)
    sizes = {k: v for k, v in (("channels", a.channels), ("epochs", a.epochs), ("n_train", a.n_train),
                               ("n_pool", a.n_pool), ("res", a.res)) if v}
    for system in a.systems if sizes else ():
        p[system] = {**p.get(system, {}), **sizes}
    res = BenchResult("sinenet", command="sciml bench sinenet " + " ".join(argv or []), device=device)
    notes = {}
    pictures, t0 = {}, time.perf_counter()
    for system in a.systems:
        run_system(system, p, res, device, pictures, notes)
    out = Path(a.out)
    # read at write time, so runs of other methods or seeds that finished meanwhile are merged too
    old = json.loads((out / "sinenet.json").read_text()) if a.merge and (out / "sinenet.json").exists() else None
    wall_s, old_meta = time.perf_counter() - t0, (old or {}).get("meta", {})
    res.meta["wall_s"] = {**old_meta.get("wall_s", {}), res.command: round(wall_s, 1)}  # per run, before chaining
    keep_previous_rows(res, old)
    res.meta["notes"] = {**old_meta.get("notes", {}), **notes}  # data facts per system
    systems = [s for s in SYSTEMS if any(r["task"] == s for r in res.rows)]
    write_page(res, out, res.command, name, p, systems, a.select, a.n_val, res.meta["notes"], pictures,
               wall_s, device)
    print(f"[sinenet] wrote {out / 'sinenet.md'}")
    return 0
