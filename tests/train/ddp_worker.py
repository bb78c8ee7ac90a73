"""Run by tests/train/test_ddp.py under torchrun (or directly for the single-process reference)."""
import sys

import torch

from sciml.data import FieldDataset
from sciml.models import build_model
from sciml.train import Trainer, TrainConfig
from sciml.train.distributed import cleanup
from tests.conftest import smoothing_dataset

if __name__ == "__main__":
    out = sys.argv[1]
    torch.set_num_threads(1)
    ds = smoothing_dataset(n=32, res=8)
    data = FieldDataset(ds, ["a"], ["u"])
    torch.manual_seed(0)
    model = build_model("fno", modes=3, width=8, layers=2, padding=0, head_width=8)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, progress=False, seed=0, device="cpu")
    trainer = Trainer(model, cfg, data, val_data=data)
    hist = trainer.fit()
    if trainer.dist.is_main:
        torch.save({"state": trainer.model.state_dict(), "hist": hist}, out)
    cleanup()
