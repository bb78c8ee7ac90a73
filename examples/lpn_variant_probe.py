"""Short probes behind docs/lpn.md's "Limits": train a denoiser variant briefly, then score it alone and in PnP.

For each variant: train on the benchmark's 2000 training patches at noise 0.05 (LPN: l1 steps, the bench's
recipe without the proximal-matching phase; DnCNN: MSE with a cosine learning rate, as the bench), then report

- held-out denoising PSNR at noise 0.05 and 0.02 (64 test patches, as ``sciml bench lpn``),
- deblurring (blur 1 px, noise 0.02) with PnP-ADMM from A^T y, rho and iteration count (10/20/30) chosen
  on the bench's 3 validation crops, scored on the 4 held-out test crops.

Run (one core, ~1.5-3 min per LPN variant at 500 steps):
  PYTHONPATH=. python examples/lpn_variant_probe.py --steps 500 --variants base beta100 layers6
  PYTHONPATH=. python examples/lpn_variant_probe.py --steps 500 --variants dncnn
"""
import argparse
import time
import warnings

import torch

from sciml.inverse import pnp_admm
from sciml.inverse.image_priors import heldout_denoising
from sciml.inverse.metrics import mean_psnr
from sciml.inverse.restoration import make_task, test_crops, val_crops
from sciml.inverse.images import sample_patches
from sciml.inverse.matching import DenoisingObjective
from sciml.inverse.denoiser_training import train_lpn, train_steps
from sciml.models import build_model

BASE = dict(hidden=16, layers=4, beta=10.0, alpha=0.01)  # the default bench preset's LPN
VARIANTS = {"base": {}, "beta30": {"beta": 30.0}, "beta100": {"beta": 100.0}, "layers6": {"layers": 6},
            "hidden32": {"hidden": 32}, "mse": {}, "unconstrained": {},
            # multiscale, the official image LPNs' layout: stride 1 / 2 alternating, 8x coarser at the end
            "ms16": {"layers": 6, "strides": (2, 1, 2, 1, 2)},
            "ms32": {"layers": 6, "strides": (2, 1, 2, 1, 2), "hidden": 32},
            "ms64": {"layers": 6, "strides": (2, 1, 2, 1, 2), "hidden": 64}}
# diagnostics, not methods: "mse" trains the preset LPN with the l2 loss instead of l1 (is it the loss?);
# "unconstrained" never clamps the path weights, so psi is not convex and f is no longer a prox (what does
# the exact-prox constraint cost?)


def pnp_score(model, rhos=(0.05, 0.1, 0.15, 0.2, 0.3), counts=(10, 20, 30)) -> tuple:
    """(val PSNR, rho, iterations, test PSNR) of the validation-best setting on deblur_noise0.02."""
    task = make_task("deblur_noise0.02", 48, 20)
    op, noise = task.op, task.noise
    xv, xt = (torch.tensor(c(48, task.disk))[:, None] for c in (val_crops, test_crops))
    yv, yt = op.measure(xv, noise, seed=7), op.measure(xt, noise, seed=0)  # the restoration recipe's seeds
    best = (-1.0,)
    for rho in rhos:
        pv, pt = {}, {}
        for y, x, seen in ((yv, xv, pv), (yt, xt, pt)):
            pnp_admm(op, y, model.denoise, rho=rho, iters=max(counts), tol=0.0, x0=op.adjoint(y),
                     callback=lambda k, z, x=x, seen=seen: seen.__setitem__(k, mean_psnr(z, x)))
        best = max([best] + [(pv[k], rho, k, pt[k]) for k in counts])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--variants", nargs="+", default=["base"], help=f"{sorted(VARIANTS)} or dncnn")
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    patches = torch.tensor(sample_patches(2000, 32, "train", seed=0))[:, None]
    for name in args.variants:
        torch.manual_seed(0)
        t0 = time.perf_counter()
        if name == "dncnn":
            model = build_model("dncnn", hidden=16, depth=6)
            train_steps(model, DenoisingObjective(patches, 0.05, "l2", 16, seed=0), args.steps, 1e-3, "cpu", 0,
                        scheduler="cosine")
        else:
            model = build_model("lpn", **{**BASE, **VARIANTS[name]})
            if name == "unconstrained":  # switch the clamp off (instance attributes shadow the methods)
                model.psi.project_, model.psi.is_convex = (lambda: None), (lambda: True)
            if name == "mse":
                train_steps(model, DenoisingObjective(patches, 0.05, "l2", 16, seed=0), args.steps, 1e-3, "cpu", 0,
                            grad_clip=None)
            else:
                train_lpn(model, patches, 0.05, l1_steps=args.steps, pm_steps=0, batch_size=16, device="cpu", seed=0)
        secs = time.perf_counter() - t0
        model.eval()
        if name == "unconstrained":
            print(f"  path weights < 0 after training: {sum(int((w < 0).sum()) for w in model.psi.path_weights())}")
        den = heldout_denoising(model, 32, 0)
        val, rho, k, test = pnp_score(model)
        print(f"{name}: {args.steps} steps in {secs:.0f} s | denoising {den[0.05]:.2f} dB at 0.05, "
              f"{den[0.02]:.2f} at 0.02 | PnP deblur 0.02: val {val:.2f} (rho {rho}, {k} its), "
              f"test {test:.2f} dB", flush=True)


if __name__ == "__main__":
    main()
