"""Train a small LPN on image patches, deblur a held-out image with PnP-ADMM, and evaluate the prior.

Run:  PYTHONPATH=. python examples/lpn_deblur.py   (about 2-4 minutes on one CPU core)
"""
import numpy as np
import torch

from sciml.inverse import GaussianBlur, make_denoiser, pnp_admm, prior_value
from sciml.inverse.images import load_grey, sample_patches
from sciml.inverse.denoiser_training import train_lpn
from sciml.models import build_model

torch.manual_seed(0)
patches = torch.tensor(sample_patches(1000, 32, "train"))[:, None]          # (N, 1, 32, 32) in [0, 1]
lpn = build_model("lpn", hidden=16, layers=4, beta=10.0, alpha=0.01)
train_lpn(lpn, patches, sigma=0.05, l1_steps=150, pm_steps=150, batch_size=16, device="cpu")
lpn.eval()

truth = torch.tensor(load_grey("coffee")[60:124, 200:264], dtype=torch.float32)[None, None]
op = GaussianBlur((64, 64), sigma=1.0)
y = op.measure(truth, noise=0.02, seed=0)
result = pnp_admm(op, y, make_denoiser("lpn", model=lpn), rho=0.1, iters=30)
tv = pnp_admm(op, y, make_denoiser("tv", weight=0.01), rho=1.0, iters=30)
psnr = lambda x: 10 * np.log10(1 / float(((x.clamp(0, 1) - truth) ** 2).mean()))
print(f"blurred {psnr(y):.2f} dB | TV-PnP {psnr(tv.x):.2f} dB | LPN-PnP {psnr(result.x):.2f} dB "
      f"({result.iterations} iterations, converged={result.converged})")

# the learned regulariser R: larger on noisier versions of the same image
for s in (0.0, 0.05, 0.1):
    print(f"R(truth + {s} noise) = {float(prior_value(lpn, truth + s * torch.randn_like(truth))):.2f}")
