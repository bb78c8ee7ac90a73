"""The page of ``sciml bench lpn``: the set-up, held-out denoising, one table per restoration task, the 1-D
toy, the learned prior against the noise, and the figure. Every number is a score of a run of
:mod:`sciml.inverse.recipe`, read from the benchmark's rows; the set-up facts, the images and the curves
are read from the runs' own files (``eval.json``, ``restoration.nc``) under ``--runs``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from sciml.data.io import open_dataset
from sciml.inverse.images import TEST_IMAGES
from sciml.inverse.recipe import TOY_LOSSES
from sciml.inverse.restoration import METHODS, TASKS, VAL_CROPS
from sciml.train.checkpoint import load_checkpoint
from sciml.utils.files import save_figure

DENOISE, TOY = "denoise", "laplace_toy"
FIGURE_TASKS = ("deblur_noise0.02", "ct_sparse")


def run_name(task: str, method: str, seed: int) -> str:
    """The folder (under ``--runs``) and spec name of one row."""
    return f"{task}-{method}-s{seed}"


def _run(args: argparse.Namespace, task: str, method: str, seed: int) -> Path:
    return Path(args.runs) / run_name(task, method, seed)


def _eval_json(args: argparse.Namespace, task: str, method: str, seed: int) -> dict[str, Any] | None:
    path = _run(args, task, method, seed) / "eval.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _setup(res, args: argparse.Namespace, seed: int) -> list[str]:
    """The opening paragraph: data, nets, training, tuning."""
    summ = res.summary()
    text = ("LPN (learned proximal network, Fang et al. ICLR 2024) inside PnP-ADMM, against TV, DnCNN and BM3D, "
            f"on held-out crops of skimage images ({', '.join(TEST_IMAGES)}; grey, [0, 1]). ")
    nets = {m: _eval_json(args, DENOISE, m, seed) for m in ("lpn", "dncnn")}
    if all(nets.values()):
        t, steps = nets["lpn"]["training"], {m: nets[m]["scores"] for m in nets}
        secs = {m: summ.get((DENOISE, m, "train_s"), (float("nan"),))[0] for m in nets}
        text += (f"LPN and DnCNN were trained in this run on the same {t['n_patches']} {t['res']}x{t['res']} training "
                 f"patches at noise {t['sigma_train']} (LPN {_net(args, 'lpn', seed)}: "
                 f"{steps['lpn'].get('l1_steps', 0):.0f} l1 + {steps['lpn'].get('pm_steps', 0):.0f} proximal-matching "
                 f"steps, {secs['lpn']:.0f} s; DnCNN {_net(args, 'dncnn', seed)}: "
                 f"{steps['dncnn'].get('mse_steps', 0):.0f} MSE steps, {secs['dncnn']:.0f} s). ")
    elif args.pretrained:
        text += "The LPN and the DnCNN are the nets shipped with sciml (`sciml.inverse.pretrained`). "
    elif args.priors:
        text += f"The LPN and the DnCNN are the checkpoints of `--priors` ({Path(args.priors).name}). "
    text += ("Each method's strength (rho / TV weight) and PnP iteration count were tuned on the mean PSNR of "
             f"{len(VAL_CROPS)} validation crops of training images ({', '.join(n for n, _ in VAL_CROPS)}); "
             "deblurring starts from A^T y, CT from filtered back-projection. ")
    if "bm3d" not in {r["method"] for r in res.rows}:
        text += "BM3D: not run (package not installed or not selected; pip install 'sciml[bench]'). "
    return [text + "wall_s: median seconds per image; strength, iters: the tuned values.", ""]


def _net(args: argparse.Namespace, method: str, seed: int) -> str:
    """The architecture of the ``denoise`` row's net in words, from its checkpoint, e.g. ``(16 channels, 4 layers)``."""
    config = load_checkpoint(_run(args, DENOISE, method, seed) / f"{method}.pt")["model"]["config"]
    words = [f"{config['hidden']} channels", f"{config.get('layers', config.get('depth'))} "
             + ("layers" if method == "lpn" else "convs")]
    if config.get("strides"):
        words.append(f"strides {tuple(config['strides'])}")
    if method == "lpn":
        words.append(f"beta {config['beta']:g}, {config['padding_mode']} padding")
    return "(" + ", ".join(words) + ")"


def _denoising(res, summ) -> list[str]:
    metrics = sorted({r["metric"] for r in res.rows if r["task"] == DENOISE and r["metric"].startswith("psnr_db_noise")},
                     key=lambda m: float(m.split("noise")[1]))
    if not metrics:
        return []
    levels = [m.split("noise")[1] for m in metrics]
    lines = ["## Held-out denoising (the denoisers alone)", "",
             "Mean PSNR (dB) on 64 held-out patches of the training size with Gaussian noise.", "",
             "| denoiser | " + " | ".join(f"noise {s}" for s in levels) + " |", "|---" * (len(levels) + 1) + "|"]
    methods = list(dict.fromkeys(r["method"] for r in res.rows if r["task"] == DENOISE))
    # the noisy input's PSNR is the same in every denoiser's run (same patches, same noise): shown once
    for name, src, prefix in [("noisy input", methods[0], "input_"), *((m, m, "") for m in methods)]:
        cells = [summ.get((DENOISE, src, f"{prefix}psnr_db_noise{s}"), (float("nan"),))[0] for s in levels]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")
    return lines + [""]


def _task_tables(res, summ) -> list[str]:
    lines = []
    for task in (t for t in TASKS if any(r["task"] == t for r in res.rows)):
        lines += [f"## {task}", "", res.markdown_table(task, ["psnr_db", "ssim", "wall_s"], fmt="{:.3f}"), ""]
        tuned = [f"{m} {summ[(task, m, 'strength')][0]:g} / {summ[(task, m, 'iters')][0]:.0f}"
                 for m in METHODS if (task, m, "strength") in summ and (task, m, "iters") in summ]
        if tuned:
            lines += ["Tuned strength / iterations: " + ", ".join(tuned), ""]
        if (task, "lpn", "psnr_db") in summ:
            diffs = [f"{m}: {summ[(task, 'lpn', 'psnr_db')][0] - summ[(task, m, 'psnr_db')][0]:+.2f} dB"
                     for m in METHODS[1:] if (task, m, "psnr_db") in summ]
            if diffs:
                lines += ["LPN minus " + ", ".join(diffs), ""]
    return lines


def _toy(res, summ) -> list[str]:
    losses = [k for k in TOY_LOSSES if (TOY, k, "lambda") in summ]
    if not losses:
        return []
    lines = ["## 1-D Laplacian toy", "",
             "x ~ Laplace(1), y = x + N(0, 1); max |error| over |y| <= 3 against each truth, and the fitted "
             "threshold lambda = mean(|y| - |f(y)|) over |y| >= 2 (soft-thresholding: 1).", "",
             "| loss | vs soft-thr. | vs MMSE | vs median | lambda |", "|---|---|---|---|---|"]
    for k in losses:
        cells = [summ[(TOY, k, m)][0] for m in ("max_err_soft", "max_err_mmse", "max_err_median", "lambda")]
        lines.append(f"| {k} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    lines.append("")
    r_err = [r["value"] for r in res.rows if (r["task"], r["method"], r["metric"]) == (TOY, "prox_matching", "r_max_err")]
    if r_err:  # NaN (stored as null) when f(y) = x has no solution: shown, not dropped
        value = f"{np.mean(r_err):.3f}" if None not in r_err else "NaN (f(y) = x not solvable on the grid)"
        lines += [f"Learned R (prox matching) vs |x| on [-3, 3], both zero at 0: max |error| {value}.", ""]
    return lines


def _prior(summ) -> list[str]:
    keys = sorted((k[2] for k in summ if k[:2] == (DENOISE, "lpn") and k[2].startswith("prior_r_noise")),
                  key=lambda m: float(m.split("noise")[1]))
    if not keys:
        return []
    levels, values = [k.split("noise")[1] for k in keys], [summ[(DENOISE, "lpn", k)][0] for k in keys]
    return ["## Learned prior vs noise level (held-out patches)", "",
            "| noise std | " + " | ".join(levels) + " |", "|---" * (len(levels) + 1) + "|",
            "| mean R | " + " | ".join(f"{v:.2f}" for v in values) + " |", "",
            "Monotone: " + str(bool(np.all(np.diff(values) > 0))), ""]


def _beside_cpu_preset(res, cpu_json: Path) -> list[str]:
    """For another preset's page: its PSNRs beside the cpu preset's rows in ``cpu_json``."""
    if res.benchmark == "lpn" or not cpu_json.is_file():
        return []
    cpu = {(r["task"], r["method"]): r["value"] for r in json.loads(cpu_json.read_text())["rows"]
           if r["metric"] == "psnr_db"}
    here = {(r["task"], r["method"]): r["value"] for r in res.rows if r["metric"] == "psnr_db"}
    rows = [k for k in here if k in cpu and cpu[k] is not None and here[k] is not None]
    if not rows:
        return []
    lines = ["## Beside the CPU preset", "",
             f"PSNR (dB) on the same test crops, tuned the same way: the cpu preset's nets (`{cpu_json.name}`) "
             "against this page's nets.", "", "| task | method | CPU preset | this page | change |",
             "|---|---|---|---|---|"]
    for task, method in rows:
        a, b = cpu[(task, method)], here[(task, method)]
        lines.append(f"| {task} | {method} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    return lines + [""]


def report(res, args: argparse.Namespace) -> str:
    """The page's markdown; writes the figure ``NAME.png`` beside it."""
    summ, seed = res.summary(), args.seeds[0]
    lines = _setup(res, args, seed) + _denoising(res, summ) + _task_tables(res, summ) + _toy(res, summ) + _prior(summ)
    lines += _beside_cpu_preset(res, Path(args.out) / "lpn.json")
    if _figure(args, seed, Path(args.out) / f"{res.benchmark}.png"):
        lines += [f"![LPN benchmark]({res.benchmark}.png)", ""]
    return "\n".join(lines)


def _figure(args: argparse.Namespace, seed: int, path: Path) -> bool:
    """Toy curves, learned R, R vs noise, and the first test image of two tasks restored by every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    toy = {k: _eval_json(args, TOY, k, seed) for k in TOY_LOSSES}
    prior = (_eval_json(args, DENOISE, "lpn", seed) or {}).get("prior_vs_noise")
    images = {t: _images(args, t, seed) for t in FIGURE_TASKS}
    if not (any(toy.values()) or prior or any(images.values())):
        return False
    fig, ax = plt.subplots(3, 6, figsize=(16, 8.5))
    for a in ax.ravel():
        a.axis("off")
    _toy_panels(ax[0, 0], ax[0, 1], toy)
    if prior:
        ax[0, 2].axis("on")
        ax[0, 2].plot(*zip(*prior), "o-")
        ax[0, 2].set_title("mean learned R vs noise (held-out)")
        ax[0, 2].set_xlabel("noise std")
    for row, task in enumerate(FIGURE_TASKS, 1):
        for j, (name, img) in enumerate(images[task].items()):
            ax[row, j].imshow(img, cmap="gray", vmin=0, vmax=1)
            ax[row, j].set_title(f"{task}: {name}" if j == 0 else name, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)
    return True


def _images(args: argparse.Namespace, task: str, seed: int) -> dict[str, np.ndarray]:
    """The first test image of ``task``: its input, each method's restoration, the truth (what exists)."""
    out: dict[str, np.ndarray] = {}
    for method in ("tv", "dncnn", "bm3d", "lpn"):
        path = _run(args, task, method, seed) / "restoration.nc"
        if path.is_file():
            with open_dataset(path) as ds:
                out.setdefault("input", ds["measured"].values[0])
                out[method], truth = ds["restored"].values[0], ds["truth"].values[0]
    if out:
        out["truth"] = truth
    return out


def _toy_panels(ax_f, ax_r, toy: dict[str, dict | None]) -> None:
    ref = next((t for t in toy.values() if t), None)
    if ref is None:
        return
    ax_f.axis("on")
    for k, style, label in (("soft", "k-", "soft-thr. (MAP)"), ("mmse", "k--", "MMSE"), ("median", "k:", "median")):
        ax_f.plot(ref["y"], ref[k], style, lw=1, label=label)
    for (k, t), c in zip(toy.items(), ("C0", "C1", "C3")):
        if t:
            ax_f.plot(t["y"], t["f"], c, lw=1.5, alpha=0.8, label=f"LPN {k}")
    ax_f.set_title("1-D Laplace toy: learned f(y)")
    ax_f.legend(fontsize=6)
    pm = toy.get("prox_matching")
    if pm:
        ax_r.axis("on")
        ax_r.plot(pm["r_x"], np.abs(pm["r_x"]), "k-", label="|x|")
        ax_r.plot(pm["r_x"], pm["r"], "C3", label="learned R (prox matching)")
        ax_r.set_title("toy: learned regulariser")
        ax_r.legend(fontsize=7)
