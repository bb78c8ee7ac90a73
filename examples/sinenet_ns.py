"""SineNet vs its U-Net (K = 1) on 2-D Navier-Stokes vorticity, through the Python API.

Run: python examples/sinenet_ns.py           (about 10 min on a busy 2-core CPU)
     python examples/sinenet_ns.py --quick   (under a minute: checks the pipeline, numbers meaningless)
"""
import sys

import numpy as np
import torch

from sciml.data import Normalizers, TrajectoryDataset, make_dataset
from sciml.evaluate.rollout import field_rel_l2_loss, rollout, rollout_errors
from sciml.models import build_model, count_parameters
from sciml.train import Trainer, TrainConfig

quick = "--quick" in sys.argv
n_train, n_test, res, frames, epochs = (3, 1, 16, 6, 1) if quick else (16, 4, 32, 12, 6)
history, fields = 4, 1

# (sample, time, y, x) vorticity; frames 1 time unit apart, eddies move a few cells per frame
ds = make_dataset("ns_vorticity", n=n_train + n_test, res=res, frames=frames, seed=0)
train_idx, test_idx = np.arange(n_train), np.arange(n_train, n_train + n_test)
norms = Normalizers.fit(ds.isel(sample=train_idx), ["w"])
train = TrajectoryDataset(ds, ["w"], history, 1, samples=train_idx, normalizers=norms)

truth = torch.as_tensor(ds.w.isel(sample=test_idx).values, dtype=torch.float64)[:, :, None]  # (B, T, F, H, W)
x0 = norms.encode_stack(["w"], truth[:, :history], dim=-3).flatten(1, 2).float()
steps = frames + 1 - history

for waves in (1, 4):  # K = 1 is the U-Net; K = 4 has the same parameter count
    torch.manual_seed(0)
    model = build_model("sinenet", waves=waves, history=history, channels=4 if quick else 8,
                        padding_mode="circular", residual_output=True)
    cfg = TrainConfig(epochs=epochs, batch_size=8, lr=1e-3, weight_decay=1e-5, warmup_epochs=0.1 * epochs,
                      min_lr=1e-7, progress=False)
    Trainer(model, cfg, train, loss_fn=field_rel_l2_loss(fields)).fit()
    pred = norms.decode_stack(["w"], rollout(model.eval(), x0, steps, fields).double(), dim=-3)
    err = rollout_errors(pred, truth[:, history:]).mean(0)
    print(f"K={waves}: {count_parameters(model):,} params (mult {model.mult}); "
          f"rollout rel L2 per step {np.round(err.numpy(), 3).tolist()}")
