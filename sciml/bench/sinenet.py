"""``sciml bench sinenet``: SineNet-K against U-Nets and FNO on a periodic and a walled system.

Same data, loss (relative L2 in normalised space), optimiser (AdamW, warmup + cosine) and epochs
for every model; one-step teacher forcing; errors in physical units; mean +- std over seeds.
Writes ``docs/benchmarks/sinenet.{json,md}`` and two figures.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sciml.bench.results import BenchResult
from sciml.data import Normalizers, TrajectoryDataset, make_dataset
from sciml.evaluate.rollout import rollout, rollout_errors
from sciml.models import build_model, count_parameters
from sciml.train import Trainer, TrainConfig
from sciml.utils import default_device

PRESETS = {
    "default": dict(res=32, n_train=24, n_test=8, frames=10, epochs=8, channels=8, seeds=2, rollout=8),
    "quick": dict(res=16, n_train=4, n_test=2, frames=6, epochs=1, channels=4, seeds=1, rollout=3),
    "full": dict(res=64, n_train=400, n_test=50, frames=30, epochs=50, channels=64, seeds=3, rollout=10),
}
HISTORY = 2
SYSTEMS = {  # name: (generator, variables, periodic, generator kwargs)
    "ns": ("ns_vorticity", ["w"], True, {}),
    "wave_box": ("wave_box", ["u", "v"], False, {}),
}


def gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as fc:
        model(x)
    return fc.get_total_flops() / 2e9


def method_configs(fields: int, periodic: bool, channels: int, res: int) -> dict[str, dict]:
    pad = "circular" if periodic else "zeros"
    base = dict(name="sinenet", fields=fields, history=HISTORY, channels=channels, padding_mode=pad)
    cfgs = {"unet": {**base, "waves": 1}}
    for k in (2, 4, 8):
        cfgs[f"sinenet-{k}"] = {**base, "waves": k}
    x = torch.randn(1, HISTORY * fields, res, res)
    g1, g8 = (gmacs(build_model(**{kk: v for kk, v in c.items() if kk != "name"}, name="sinenet"), x)
              for c in (cfgs["unet"], cfgs["sinenet-8"]))
    cfgs["unet-compute-matched"] = {**base, "waves": 1, "channels": int(round(channels * np.sqrt(g8 / g1)))}
    if periodic:
        cfgs["sinenet-8-zeropad"] = {**base, "waves": 8, "padding_mode": "zeros"}
    cfgs["fno"] = dict(name="fno", in_channels=HISTORY * fields, out_channels=fields, modes=min(12, res // 2),
                       width=24, layers=4, padding=0 if periodic else 8)
    return cfgs


def run_system(system: str, p: dict, res_: BenchResult, device, curves: dict, pictures: dict) -> None:
    gen, variables, periodic, kw = SYSTEMS[system]
    F = len(variables)
    ds = make_dataset(gen, n=p["n_train"] + p["n_test"], res=p["res"], frames=p["frames"], seed=123, **kw)
    train_idx, test_idx = np.arange(p["n_train"]), np.arange(p["n_train"], p["n_train"] + p["n_test"])
    norms = Normalizers.fit(ds.isel(sample=train_idx), variables)
    train = TrajectoryDataset(ds, variables, HISTORY, 1, samples=train_idx, normalizers=norms)
    test = TrajectoryDataset(ds, variables, HISTORY, 1, samples=test_idx, normalizers=norms)
    xs, ys = map(torch.stack, zip(*[test[i] for i in range(len(test))]))
    steps = min(p["rollout"], p["frames"] + 1 - HISTORY)
    starts = [test[j] for j, (s, t0) in enumerate(test.index) if t0 == 0]
    x0 = torch.stack([s[0] for s in starts])
    true_traj = torch.as_tensor(np.stack([ds[v].isel(sample=test_idx).values for v in variables], axis=2))
    true_traj = true_traj[:, HISTORY:HISTORY + steps].double()  # (B, T, F, H, W), physical units

    def decode(z):  # (..., F, H, W) normalised -> physical
        return norms.decode_stack(variables, z.double(), dim=-3)

    for method, cfg in method_configs(F, periodic, p["channels"], p["res"]).items():
        for seed in range(p["seeds"]):
            torch.manual_seed(seed)
            cfg_ = dict(cfg)
            model = build_model(cfg_.pop("name"), **cfg_)
            tc = TrainConfig(epochs=p["epochs"], batch_size=16, lr=1e-3, weight_decay=1e-5, optimizer="adamw",
                             scheduler="cosine", warmup_epochs=1 if p["epochs"] > 2 else 0, min_lr=1e-7,
                             seed=seed, device=str(device), progress=False)
            t0 = time.perf_counter()
            trainer = Trainer(model, tc, train)
            trainer.fit()
            s_per_epoch = (time.perf_counter() - t0) / p["epochs"]
            m = trainer.model.eval()
            with torch.no_grad():
                one = torch.cat([m(xs[i:i + 64].to(device)).cpu() for i in range(0, len(xs), 64)])
            one_step = float(rollout_errors(decode(one)[:, None], decode(ys)[:, None]).mean())
            traj = decode(rollout(m, x0.to(device), steps, F).cpu())
            per_step = rollout_errors(traj, true_traj).mean(0).numpy()
            for metric, value in [("one_step_rel_l2", one_step), ("rollout_rel_l2", float(per_step.mean())),
                                  ("params", count_parameters(m)),
                                  ("gmacs", gmacs(m.cpu(), x0[:1])), ("s_per_epoch", s_per_epoch)]:
                res_.add(system, method, metric, value, seed=seed)
            m.to(device)
            curves.setdefault(system, {}).setdefault(method, []).append(per_step)
            if seed == 0 and method in ("unet", "sinenet-8"):
                pictures.setdefault(system, {"truth": true_traj[0, -1, 0].numpy()})[method] = traj[0, -1, 0].numpy()
            print(f"[sinenet] {system:8s} {method:22s} seed {seed}: one-step {one_step:.4f}, "
                  f"rollout {per_step.mean():.4f} ({s_per_epoch:.1f} s/epoch)", flush=True)


def figures(curves: dict, pictures: dict, out: Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.evaluate import plot_panels

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
    for ax, (system, methods) in zip(axes[0], curves.items()):
        for method, runs in methods.items():
            c = np.mean(runs, axis=0)
            ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, label=method)
        ax.set(title=system, xlabel="rollout step", ylabel="relative L2", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    curve_path = out / "sinenet_rollout.png"
    fig.savefig(curve_path, dpi=110)
    plt.close(fig)
    rows = {s: {"truth": d["truth"], **{m: d[m] for m in ("unet", "sinenet-8") if m in d},
                **{f"error {m}": d[m] - d["truth"] for m in ("unet", "sinenet-8") if m in d}} for s, d in pictures.items()}
    return curve_path, plot_panels(rows, out / "sinenet_fields.png", cmap="RdBu_r")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sciml bench sinenet", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--full", action="store_true", help="paper-like scale (C = 64, 64^2, more data), for a GPU")
    ap.add_argument("--systems", nargs="*", default=list(SYSTEMS))
    ap.add_argument("--out", default="docs/benchmarks")
    ap.add_argument("--device", default="auto")
    a = ap.parse_args(argv)
    name = "full" if a.full else a.preset
    p, device = PRESETS[name], default_device(a.device)
    res = BenchResult("sinenet", command="sciml bench sinenet " + " ".join(argv or []), device=device)
    curves, pictures, t0 = {}, {}, time.perf_counter()
    for system in a.systems:
        run_system(system, p, res, device, curves, pictures)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    curve_path, field_path = figures(curves, pictures, out)
    metrics = ["one_step_rel_l2", "rollout_rel_l2", "params", "gmacs", "s_per_epoch"]
    body = [f"Preset `{name}`: {p}; history {HISTORY} frames; seeds 0..{p['seeds'] - 1} (mean ± std). "
            f"Rollout error is the mean over {p['rollout']} autoregressive steps from the first frames of unseen "
            f"test trajectories. Whole run: {time.perf_counter() - t0:.0f} s.",
            "Systems: `ns` = 2-D vorticity Navier-Stokes on the torus (nu = 1e-3, Kolmogorov forcing, frames 1 time "
            "unit apart); `wave_box` = damped wave equation with walls (exact modal solution), fields u and u_t. "
            "`sinenet-8-zeropad` only runs on the periodic system, where zero padding is the wrong boundary model."]
    for system in a.systems:
        body += [f"## {system}", res.markdown_table(system, metrics)]
    body += [f"![rollout error vs step]({curve_path.name})", f"![true vs predicted, last rollout step]({field_path.name})"]
    res.write(out, "\n\n".join(body))
    print(f"[sinenet] wrote {out / 'sinenet.md'}")
    return 0
