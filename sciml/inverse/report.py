"""Figure and markdown for ``sciml bench lpn`` (kept apart from the benchmark's numerics)."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from sciml.utils.files import save_figure

METHODS = ("lpn", "tv", "dncnn", "bm3d")
TASKS = ("deblur_noise0.02", "deblur_noise0.04", "ct_sparse")


def run_toy(steps: int, seed: int = 0) -> dict:
    """Train l2 / l1 / proximal-matching LPNs on the 1-D Laplacian toy and score them against the truths."""
    from sciml.inverse.prior import prior_value
    from sciml.inverse.toy import evaluate_toy, posterior_stats, soft_threshold, train_toy

    y = np.linspace(-4, 4, 161)
    mean, median = posterior_stats(y)
    out = {"y": y, "mmse": mean, "median": median, "soft": soft_threshold(y)}
    inner = np.abs(y) <= 3
    for loss in ("l2", "l1", "prox_matching"):
        model = train_toy(loss, steps=steps, seed=seed)
        f = evaluate_toy(model, y)
        out[loss] = f
        out[f"{loss}_err"] = {k: float(np.abs(f - out[k])[inner].max()) for k in ("soft", "mmse", "median")}
        big = np.abs(y) >= 2
        out[f"{loss}_lambda"] = float(np.mean(np.abs(y[big]) - np.abs(f[big])))
        if loss == "prox_matching":
            xs = torch.linspace(-3, 3, 61)[:, None]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = prior_value(model, xs, iters=200).numpy()
            out["R_x"], out["R"] = xs[:, 0].numpy(), r - r[30]
            out["R_err"] = float(np.abs(out["R"] - np.abs(out["R_x"])).max())
    return out


def _figure(figs: dict, prior: tuple | None, toy: dict | None, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["input", "tv", "dncnn", "bm3d", "lpn", "truth"]
    fig, ax = plt.subplots(3, 6, figsize=(16, 8.5))
    if toy is not None:
        y = toy["y"]
        for k, style in (("soft", "k-"), ("mmse", "k--"), ("median", "k:")):
            ax[0, 0].plot(y, toy[k], style, lw=1,
                          label={"soft": "soft-thr. (MAP)", "mmse": "MMSE", "median": "median"}[k])
        for k, c in (("l2", "C0"), ("l1", "C1"), ("prox_matching", "C3")):
            ax[0, 0].plot(y, toy[k], c, lw=1.5, alpha=0.8, label=f"LPN {k}")
        ax[0, 0].set_title("1-D Laplace toy: learned f(y)")
        ax[0, 0].legend(fontsize=6)
        ax[0, 1].plot(toy["R_x"], np.abs(toy["R_x"]), "k-", label="|x|")
        ax[0, 1].plot(toy["R_x"], toy["R"], "C3", label="learned R (prox matching)")
        ax[0, 1].set_title("toy: learned regulariser")
        ax[0, 1].legend(fontsize=7)
    if prior is not None:
        ax[0, 2].plot(prior[0], prior[1], "o-")
        ax[0, 2].set_title("mean learned R vs noise (held-out)")
        ax[0, 2].set_xlabel("noise std")
    for a in ax[0, 3:] if prior is not None else ax[0, :]:
        a.axis("off")
    for row, task in ((1, "deblur_noise0.02"), (2, "ct_sparse")):
        for j, c in enumerate(cols):
            a = ax[row, j]
            a.axis("off")
            if c in figs.get(task, {}):
                a.imshow(figs[task][c], cmap="gray", vmin=0, vmax=1)
                a.set_title(f"{task}: {c}" if j == 0 else c, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)


def report(res, figs, prior, toy, cfg, args, bm3d_note, t_lpn, t_dn, out_dir, denoise=None) -> None:
    from pathlib import Path

    secs = lambda t: "time not recorded" if t is None else f"{t:.0f} s"  # noqa: E731
    _figure(figs, prior, toy, Path(out_dir) / f"{res.benchmark}.png")
    s = res.summary()
    lines = ["LPN (learned proximal network, Fang et al. ICLR 2024) inside PnP-ADMM, against TV, DnCNN and BM3D, "
             "on held-out crops of skimage images (" + ", ".join(("coffee", "chelsea", "hubble_deep_field",
                                                                  "immunohistochemistry")) + "; "
             f"{cfg['img']}x{cfg['img']} px, grey, [0, 1]). LPN and DnCNN were trained on the same {cfg['n_patches']} "
             f"{cfg['res']}x{cfg['res']} training patches at noise {cfg['sigma_train']} "
             f"(LPN: {cfg['l1_steps']} l1 + {cfg['pm_steps']} proximal-matching steps, {secs(t_lpn)}; "
             f"DnCNN ({cfg['dncnn_hidden']} channels, {cfg['dncnn_depth']} convs): {cfg['dncnn_steps']} MSE steps, "
             f"{secs(t_dn)}; "
             f"LPN: {cfg['lpn_hidden']} channels, {cfg.get('lpn_layers', 4)} layers"
             + (f", strides {tuple(cfg['lpn_strides'])}" if cfg.get("lpn_strides") else "")
             + f", {cfg['padding']} padding). Each method's strength (rho / TV weight) and "
             "PnP iteration count (10/20/30) were tuned on the mean PSNR of 3 validation crops of training images "
             "(camera, astronaut, coins); deblurring starts from A^T y. " + bm3d_note + ". wall_s: median seconds per image.", ""]
    if denoise:
        levels = sorted({k[1] for k in denoise})
        lines += ["## Held-out denoising (the denoisers alone)", "",
                  f"Mean PSNR (dB) on 64 held-out {cfg['res']}x{cfg['res']} patches with Gaussian noise; both nets trained at noise "
                  f"{cfg['sigma_train']}.", "", "| denoiser | " + " | ".join(f"noise {s:g}" for s in levels) + " |",
                  "|---" * (len(levels) + 1) + "|"]
        for name in dict.fromkeys(k[0] for k in denoise):
            lines.append(f"| {name} | " + " | ".join(f"{denoise[(name, s)]:.2f}" for s in levels) + " |")
        lines.append("")
    for task in (t for t in TASKS if any(r["task"] == t for r in res.rows)):
        lines += [f"## {task}", "", res.markdown_table(task, ["psnr_db", "ssim", "wall_s"], fmt="{:.3f}"), ""]
        if (task, "lpn", "psnr_db") in s:
            diffs = [f"{m}: {s[(task, 'lpn', 'psnr_db')][0] - s[(task, m, 'psnr_db')][0]:+.2f} dB"
                     for m in METHODS[1:] if (task, m, "psnr_db") in s]
            lines += ["LPN minus " + ", ".join(diffs), ""]
    if toy is not None:
        lines += _toy_section(toy)
    if prior is not None:
        lines += ["## Learned prior vs noise level (held-out patches)", "",
                  "| noise std | " + " | ".join(f"{v:g}" for v in prior[0]) + " |", "|---" * (len(prior[0]) + 1) + "|",
                  "| mean R | " + " | ".join(f"{v:.2f}" for v in prior[1]) + " |", "",
                  "Monotone: " + str(bool(np.all(np.diff(prior[1]) > 0))), ""]
    lines += _beside_cpu_preset(res, Path(out_dir) / "lpn.json")
    lines += [f"![LPN benchmark]({res.benchmark}.png)", ""]
    res.write(out_dir, "\n".join(lines))


def _toy_section(toy: dict) -> list[str]:
    lines = ["## 1-D Laplacian toy", "",
             "x ~ Laplace(1), y = x + N(0, 1); max |error| over |y| <= 3 against each truth, and the fitted "
             "threshold lambda = mean(|y| - |f(y)|) over |y| >= 2 (soft-thresholding: 1).", "",
             "| loss | vs soft-thr. | vs MMSE | vs median | lambda |", "|---|---|---|---|---|"]
    for k in ("l2", "l1", "prox_matching"):
        e = toy[f"{k}_err"]
        lines.append(f"| {k} | {e['soft']:.3f} | {e['mmse']:.3f} | {e['median']:.3f} | {toy[f'{k}_lambda']:.3f} |")
    return lines + ["", f"Learned R (prox matching) vs |x| on [-3, 3], both zero at 0: max |error| {toy['R_err']:.3f}.",
                    ""]


def _beside_cpu_preset(res, cpu_json) -> list[str]:
    """For another preset's page: its PSNRs beside the default (CPU) preset's rows in ``cpu_json``."""
    import json

    if res.benchmark == "lpn" or not cpu_json.exists():
        return []
    cpu = {(r["task"], r["method"]): r["value"] for r in json.loads(cpu_json.read_text())["rows"]
           if r["metric"] == "psnr_db"}
    here = {(r["task"], r["method"]): r["value"] for r in res.rows if r["metric"] == "psnr_db"}
    rows = [k for k in here if k in cpu]
    if not rows:
        return []
    lines = ["## Beside the CPU preset", "",
             f"PSNR (dB) on the same test crops, tuned the same way: the CPU preset's nets (`{cpu_json.name}`, "
             "16 channels, trained in its run) against this page's nets.", "",
             "| task | method | CPU preset | this page | change |", "|---|---|---|---|---|"]
    for task, method in rows:
        a, b = cpu[(task, method)], here[(task, method)]
        lines.append(f"| {task} | {method} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    return lines + [""]
