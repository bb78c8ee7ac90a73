"""``sciml bench lpn``: learned proximal networks in plug-and-play, against TV, DnCNN and BM3D.

All methods run on the same held-out images (crops of skimage images never used for training):
deblurring (Gaussian blur sigma 1 px, noise 0.02 and 0.04) and sparse-view CT. LPN and DnCNN
are trained here on the same patches at the same noise level; each method's strength (rho, TV
weight, BM3D sigma) is tuned on validation crops of the training images (:data:`VAL_CROPS`). Also runs the 1-D
Laplacian toy and the prior-vs-noise check (reported in the markdown and figure).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sciml.bench.results import BenchResult, command_line, device_description
from sciml.utils.arguments import ArgumentParser
from sciml.inverse import GaussianBlur, Radon, make_denoiser, pnp_admm, prior_value
from sciml.inverse.denoiser_pair import build_nets, load_nets, save_nets, train_nets
from sciml.inverse.images import TEST_IMAGES, load_grey, sample_patches
from sciml.inverse.pnp import PnPConvergenceWarning
from sciml.inverse.pretrained import pretrained_path
from sciml.inverse.report import TASKS, report, run_toy
from sciml.train import metrics as M
from sciml.utils.device import sync

PRESETS = {
    # sized for a heavily shared 2-core CPU: ~25 min on one core in all. LPN and DnCNN get the same
    # patches, noise and number of optimiser steps (LPN: l1 pre-training + proximal matching).
    "default": dict(n_patches=2000, res=32, lpn_hidden=16, dncnn_hidden=16, dncnn_depth=6, l1_steps=2000,
                    pm_steps=500, batch=16, img=48, iters=30, iter_grid=(10, 20, 30), ct_angles=20,
                    toy_steps=500, sigma_train=0.05, bm3d_iters=4, padding="circular"),
    # one GPU, about 5 minutes of training: the multiscale 64-channel LPN and a parameter-matched DnCNN
    # (64 channels, 8 convs) on the same patches, for about equal wall time on one H200 (LPN 128 s, DnCNN
    # 152 s; these step counts are what an equal-time budget gave there). These are the nets that ship
    # (sciml.inverse.pretrained). Evaluation uses the default preset's crops, so its rows sit beside the CPU rows.
    "gpu": dict(n_patches=20000, res=64, lpn_hidden=64, lpn_layers=6, lpn_strides=(2, 1, 2, 1, 2),
                dncnn_hidden=64, dncnn_depth=8, l1_steps=3460, pm_steps=864, dncnn_steps=9550, pm_fraction=0.2,
                batch=64, img=48, iters=30, iter_grid=(10, 20, 30), ct_angles=20,
                toy_steps=500, sigma_train=0.05, bm3d_iters=4, padding="circular"),
    # full: the official image LPN's multiscale layout (stride 2 in every other hidden conv; ConvICNN strides)
    "full": dict(n_patches=40000, res=64, lpn_hidden=128, dncnn_hidden=64, dncnn_depth=6, l1_steps=20000,
                 pm_steps=20000, lpn_layers=6, lpn_strides=(2, 1, 2, 1, 2),
                 batch=64, img=128, iters=100, iter_grid=(20, 50, 100), ct_angles=30,
                 toy_steps=5000, sigma_train=0.05, bm3d_iters=20,
                 padding="circular"),
}


def psnr(x: np.ndarray, ref: np.ndarray) -> float:
    """PSNR (dB, peak 1) of one image ``x`` clipped to [0, 1] against ``ref`` (:func:`sciml.train.metrics.psnr`).

    Only finite values are clipped: a NaN/Inf pixel makes the score NaN instead of being clipped into range.
    """
    x = np.where(np.isfinite(x), np.clip(x, 0, 1), np.nan)
    return float(M.psnr(torch.as_tensor(x, dtype=torch.float64)[None], torch.as_tensor(ref, dtype=torch.float64)[None])[0])


def mean_psnr(batch: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean :func:`psnr` over a batch of single-channel images ``(B, 1, H, W)`` on any device."""
    return float(np.mean([psnr(a[0], b[0]) for a, b in zip(batch.cpu().numpy(), ref.cpu().numpy())]))


def ssim(x: np.ndarray, ref: np.ndarray) -> float:
    """SSIM (peak 1) of ``x`` clipped to [0, 1] against ``ref``; NaN if either holds a NaN/Inf (never clipped into range)."""
    from skimage.metrics import structural_similarity

    if not (np.isfinite(x).all() and np.isfinite(ref).all()):
        return float("nan")
    return float(structural_similarity(np.clip(x, 0, 1), ref, data_range=1.0))


def test_crops(size: int, disk: bool = False) -> np.ndarray:
    """One centred crop per held-out image, ``(n, size, size)``; ``disk`` zeroes outside the inscribed circle."""
    out = []
    for name in TEST_IMAGES:
        im = load_grey(name)
        r, c = (im.shape[0] - size) // 2, (im.shape[1] - size) // 2
        out.append(im[r:r + size, c:c + size])
    out = np.stack(out).astype(np.float32)
    if disk:
        yy, xx = np.mgrid[:size, :size]
        out *= ((yy - size // 2) ** 2 + (xx - size // 2) ** 2) < (size // 2 - 1) ** 2
    return out


# validation crops (row, col) of *training* images: every method's strength (rho, TV weight) is chosen
# on their mean PSNR, never on the held-out test crops
VAL_CROPS = (("camera", (40, 60)), ("astronaut", (60, 100)), ("coins", (50, 120)))


def val_crops(size: int, disk: bool) -> np.ndarray:
    """``(len(VAL_CROPS), size, size)`` crops of training images for tuning; ``disk`` as in :func:`test_crops`."""
    out = np.stack([load_grey(name)[r:r + size, c:c + size] for name, (r, c) in VAL_CROPS]).astype(np.float32)
    if disk:
        yy, xx = np.mgrid[:size, :size]
        out = out * (((yy - size // 2) ** 2 + (xx - size // 2) ** 2) < (size // 2 - 1) ** 2)
    return out


def solve(method: str, op, y, x0, den_models, par: float, iters: int, rho_tv: float = 1.0, noise: float = 0.02,
          bm3d_iters: int = 6, callback=None):
    """Reconstruct with one method; ``par`` is rho (lpn/dncnn/bm3d-CT), the TV weight, or BM3D's sigma.
    ``callback(k, z)`` sees every PnP iterate (used to tune the iteration count in the same run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PnPConvergenceWarning)
        warnings.filterwarnings("ignore", "LPN.denoise: input range|DnCNN.denoise: input range", RuntimeWarning)
        kw = dict(x0=x0, callback=callback)
        if method == "tv":
            return pnp_admm(op, y, make_denoiser("tv", weight=par), rho=rho_tv, iters=iters, **kw).x
        if method == "bm3d":
            if isinstance(op, GaussianBlur):  # tune BM3D's sigma; ADMM weight rho = (noise / sigma)^2
                return pnp_admm(op, y, make_denoiser("bm3d", sigma=par), rho=(noise / par) ** 2,
                                iters=bm3d_iters, **kw).x
            return pnp_admm(op, y, make_denoiser("bm3d", sigma=0.05), rho=par, iters=bm3d_iters, **kw).x
        return pnp_admm(op, y, make_denoiser(method, model=den_models[method]), rho=par, iters=iters, **kw).x


def grids(task: str) -> dict[str, list[float]]:
    # wide rho grids: a fixed-strength prox trained at noise s_t has rho ~ (noise / s_t)^2 as its
    # Bayes-matched ADMM weight (0.16 for 0.02 / 0.05), but an imperfect prox can prefer another
    if task == "ct_sparse":
        return {"lpn": [1, 3, 10, 30, 100], "dncnn": [1, 3, 10, 30, 100], "tv": [0.003, 0.01, 0.03], "bm3d": [10]}
    rho = [0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0]
    return {"lpn": rho, "dncnn": rho, "tv": [0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03],
            "bm3d": [0.03]}  # BM3D is slow: one setting, not tuned


def make_task(task: str, size: int, ct_angles: int):
    disk = task == "ct_sparse"
    if disk:
        op, noise = Radon((size, size), n_angles=ct_angles), 0.5
    else:
        op, noise = GaussianBlur((size, size), 1.0), float(task.split("noise")[1])
    return op, noise, disk


def tune(task, method, op, x_val, y_val, x0, models, cfg, rho_tv, noise) -> tuple[float, int]:
    """Best (strength, iteration count) on the validation crops' mean PSNR. One run per strength
    scores every count in ``cfg["iter_grid"]`` through the iterate callback (BM3D: fixed)."""
    grid = grids(task)[method]
    if len(grid) == 1:
        return grid[0], cfg["bm3d_iters"] if method == "bm3d" else cfg["iters"]
    scores = []
    for par in grid:
        seen = {}

        def record(k, z):
            if k in cfg["iter_grid"]:
                seen[k] = mean_psnr(z, x_val)
        try:
            xr = solve(method, op, y_val, x0, models, par, max(cfg["iter_grid"]), rho_tv, noise, callback=record)
            last = mean_psnr(xr, x_val)
            scores += [(seen.get(k, last), par, k) for k in cfg["iter_grid"]]  # converged early: final iterate
        except Exception as exc:  # a diverging setting is just a bad grid point
            print(f"  {task} {method} par={par}: {type(exc).__name__}: {exc}")
    if not scores:
        return grid[0], cfg["iters"]
    _, par, k = max(scores)
    return par, k


def run_task(task, cfg, models, methods, res: BenchResult, seed: int, figs: dict, device: str = "cpu"):
    """Tune each method on the validation crops and score it on the test crops; the operator,
    images and PnP iterations live on ``device`` (the noise is drawn on the CPU, so it is the same
    draw on every device; TV, BM3D and the CT FBP step through NumPy/skimage on the host)."""
    op, noise, disk = make_task(task, cfg["img"], cfg["ct_angles"])
    op = op.to(device)
    rho_tv = 10.0 if task == "ct_sparse" else 1.0
    x_tune = torch.tensor(val_crops(cfg["img"], disk), device=device)[:, None]
    x_test = torch.tensor(test_crops(cfg["img"], disk), device=device)[:, None]
    y_tune, y_test = op.measure(x_tune, noise, seed=seed + 7), op.measure(x_test, noise, seed=seed)
    # initial guess: filtered back-projection for CT, A^T y for deblurring (as in the paper's code)
    init = (lambda y: op.fbp(y).clamp(0, 1)) if disk else op.adjoint
    truths = x_test[:, 0].cpu().numpy()                                      # scored on the host, copied once
    figs[task] = {"truth": truths[0], "input": (init(y_test) if disk else y_test)[0, 0].cpu().numpy()}
    for method in methods:
        best, iters = tune(task, method, op, x_tune, y_tune, init(y_tune), models, cfg, rho_tv, noise)
        ps, ss, ts = [], [], []
        for i in range(x_test.shape[0]):
            t0 = time.perf_counter()
            xr = solve(method, op, y_test[i:i + 1], init(y_test[i:i + 1]), models, best, iters, rho_tv, noise,
                       cfg["bm3d_iters"])
            sync(device)
            ts.append(time.perf_counter() - t0)
            got = xr[0, 0].cpu().numpy()
            ps.append(psnr(got, truths[i]))
            ss.append(ssim(got, truths[i]))
            if i == 0:
                figs[task][method] = got
        res.add(task, method, "psnr_db", float(np.mean(ps)), seed, tuned=best, iters=iters)
        res.add(task, method, "ssim", float(np.mean(ss)), seed, tuned=best, iters=iters)
        res.add(task, method, "wall_s", float(np.median(ts)), seed)
        print(f"{task:18s} {method:6s} psnr {np.mean(ps):6.2f} ssim {np.mean(ss):.3f} "
              f"wall {np.median(ts):.2f}s (tuned {best}, {iters} its)", flush=True)


def denoising_psnr(models: dict, res_px: int, seed: int, levels=(0.02, 0.05), device: str = "cpu") -> dict:
    """Mean PSNR of each denoiser on 64 held-out patches at each noise level (plus the noisy input)."""
    x = torch.tensor(sample_patches(64, res_px, "test", seed=seed + 5))[:, None]
    gen = torch.Generator().manual_seed(seed + 11)
    out = {}
    for s in levels:
        y = (x + s * torch.randn(x.shape, generator=gen)).to(device)
        for name, fn in [("noisy input", lambda v: v)] + [(k, m.denoise) for k, m in models.items()]:
            with torch.no_grad():
                out[(name, s)] = mean_psnr(fn(y), x)
    print("held-out denoising PSNR", {f"{k[0]}@{k[1]}": round(v, 2) for k, v in out.items()}, flush=True)
    return out


def prior_vs_noise(model, res_px: int, seed: int, levels=(0.0, 0.025, 0.05, 0.1, 0.2), device: str = "cpu"):
    """Mean learned R over held-out patches as noise grows (should rise monotonically)."""
    x = torch.tensor(sample_patches(16, res_px, "test", seed=seed + 3))[:, None]
    gen = torch.Generator().manual_seed(seed)
    out = []
    for s in levels:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = prior_value(model, (x + s * torch.randn(x.shape, generator=gen)).to(device), iters=200)
        out.append(float(r.mean()))
    return list(levels), out


def main(argv=None) -> int:
    ap = ArgumentParser(prog="sciml bench lpn", description=__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default",
                    help="default: CPU-sized nets; gpu: 64-channel multiscale LPN and DnCNN trained for equal time "
                         "on one GPU (the shipped nets); full: the paper's scale")
    ap.add_argument("--full", action="store_true", help="same as --preset full")
    ap.add_argument("--out", default="docs/benchmarks", help="folder for the JSON, page and figure")
    ap.add_argument("--seed", type=int, default=0, help="seed of the patches, noise and initialisation")
    ap.add_argument("--methods", default="lpn,tv,dncnn,bm3d", help="comma-separated methods to score")
    ap.add_argument("--l1-steps", type=int, default=None, help="override the preset's LPN l1 steps")
    ap.add_argument("--pm-steps", type=int, default=None, help="override the preset's proximal-matching steps")
    ap.add_argument("--dncnn-steps", type=int, default=None, help="override the DnCNN's step count")
    ap.add_argument("--batch", type=int, default=None, help="override the preset's training batch size")
    ap.add_argument("--train-budget-s", type=float, default=None,
                    help="train each net for about this many seconds instead of a fixed step count")
    ap.add_argument("--save-models", default=None, help="folder to write the trained nets to (lpn.pt, dncnn.pt)")
    ap.add_argument("--load-models", default=None, help="folder of a --save-models run: evaluate those nets")
    ap.add_argument("--pretrained", action="store_true",
                    help="evaluate the nets shipped with sciml (sciml.inverse.pretrained; use with --preset gpu)")
    ap.add_argument("--deadline-s", type=float, default=None,
                    help="stop starting new evaluation tasks after this many seconds; the page keeps what finished")
    args = ap.parse_args(argv)
    t_start = time.monotonic()
    preset = "full" if args.full else args.preset
    cfg = dict(PRESETS[preset])
    for key in ("l1_steps", "pm_steps", "dncnn_steps", "train_budget_s", "batch"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    torch.manual_seed(args.seed)
    methods = args.methods.split(",")
    bm3d_note = "bm3d: installed"
    try:
        import bm3d  # noqa: F401
    except ImportError:
        methods = [m for m in methods if m != "bm3d"]
        bm3d_note = "bm3d: package not installed, skipped (pip install 'sciml[bench]')"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cudnn.benchmark = device == "cuda"  # fixed shapes: let cuDNN pick its fastest convolutions
    if args.pretrained or args.load_models:  # evaluate nets trained (and timed) by an earlier run of this preset
        paths = ({k: pretrained_path(k) for k in ("lpn", "dncnn")} if args.pretrained else
                 {k: Path(args.load_models) / f"{k}.pt" for k in ("lpn", "dncnn")})
        nets, prov = load_nets(paths, cfg)
        lpn, dncnn = nets["lpn"], nets["dncnn"]
        bm3d_note += "; the nets were loaded: " + "; ".join(
            f"{k} trained by `{p.get('command', '?')}` on {p.get('device', '?')}" for k, p in prov.items())
    else:
        lpn, dncnn = build_nets(cfg)
        prov = train_nets(lpn, dncnn, cfg, args.seed, device, command_line(), device_description(device))
        if args.save_models:
            save_nets(args.save_models, {"lpn": lpn, "dncnn": dncnn}, prov)
    t_lpn, t_dn = prov["lpn"].get("train_s"), prov["dncnn"].get("train_s")
    lpn, dncnn = lpn.to(device).eval(), dncnn.to(device).eval()   # evaluation runs where training ran
    denoise = denoising_psnr({"lpn": lpn, "dncnn": dncnn}, cfg["res"], args.seed, device=device)
    print(f"LPN training {t_lpn} s, DnCNN {t_dn} s", flush=True)
    name = "lpn" if preset == "default" else f"lpn_{preset}"
    res = BenchResult(name, command_line() if "bench" in command_line() else "sciml bench lpn", device)
    res.meta["nets"] = {net: {k: v for k, v in p.items() if k != "net_cfg"} for net, p in prov.items()}
    page = lambda prior=None, toy=None: report(res, figs, prior, toy, cfg, args, bm3d_note, t_lpn, t_dn,  # noqa: E731
                                               args.out, denoise)
    past_deadline = lambda: args.deadline_s is not None and time.monotonic() - t_start > args.deadline_s  # noqa: E731
    figs: dict = {}
    page()
    for task in TASKS:
        if past_deadline():
            print(f"deadline: {task} not run", flush=True)
            continue
        run_task(task, cfg, {"lpn": lpn, "dncnn": dncnn}, methods, res, args.seed, figs, device)
        page()  # what finished is on disk if the run is cut short
    if past_deadline():
        return 0
    levels, rvals = prior_vs_noise(lpn, cfg["res"], args.seed, device=device)
    print("prior vs noise", levels, rvals, flush=True)
    page((levels, rvals), run_toy(cfg["toy_steps"], args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
