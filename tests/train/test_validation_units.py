"""Validation metrics are in physical units, with the definition of the test metrics."""
from __future__ import annotations

import torch

from sciml.data import FieldDataset, Normalizers, make_dataset, split_indices
from sciml.models import build_model
from sciml.train import TrainConfig, Trainer
from sciml.train.metrics import rel_h1, rel_l2


def test_val_rel_l2_is_the_rel_l2_of_the_decoded_fields():
    ds = make_dataset("darcy", n=24, res=8, seed=0)
    parts = split_indices(ds.sizes["sample"], seed=0)
    norms = Normalizers.fit(ds.isel(sample=parts["train"]), ["a", "u"])
    train = FieldDataset(ds, ["a"], ["u"], indices=parts["train"], normalizers=norms)
    val = FieldDataset(ds, ["a"], ["u"], indices=parts["val"], normalizers=norms)
    model = build_model("fno", modes=4, width=8)
    trainer = Trainer(model, TrainConfig(epochs=1, batch_size=4, progress=False, amp=False, device="cpu"),
                      train, val, normalizers=norms)
    record = trainer.fit()[-1]

    model.eval()
    x = torch.stack([val[i][0] for i in range(len(val))])
    u = torch.as_tensor(ds["u"].values[parts["val"]], dtype=torch.float32)[:, None]  # physical units
    encoded_u = torch.stack([val[i][1] for i in range(len(val))])
    with torch.no_grad():
        out = model(x)
    by_hand = float(rel_l2(norms.decode_stack(["u"], out), u).mean())
    on_normalised = float(rel_l2(out, encoded_u).mean())
    assert abs(record["val_rel_l2"] - by_hand) <= 1e-5 * by_hand
    assert abs(on_normalised - by_hand) > 1e-3 * by_hand  # the two definitions differ: the test is not vacuous


def test_val_rel_h1_on_periodic_data_is_the_periodic_one():
    """A run whose data is periodic (the recipes record it in the metadata) scores ``val_rel_h1`` with
    periodic differences, as ``sciml evaluate`` scores ``rel_h1``."""
    ds = make_dataset("darcy", n=24, res=8, seed=0)
    parts = split_indices(ds.sizes["sample"], seed=0)
    train = FieldDataset(ds, ["a"], ["u"], indices=parts["train"])
    val = FieldDataset(ds, ["a"], ["u"], indices=parts["val"])
    cfg = TrainConfig(epochs=1, batch_size=4, progress=False, amp=False, device="cpu", val_metrics=["rel_h1"])
    records = {}
    for periodic in (False, True):
        model = build_model("fno", modes=4, width=8)
        records[periodic] = Trainer(model, cfg, train, val, metadata={"periodic": periodic}).fit()[-1]
        model.eval()
        x = torch.stack([val[i][0] for i in range(len(val))])
        y = torch.stack([val[i][1] for i in range(len(val))])
        with torch.no_grad():
            by_hand = float(rel_h1(model(x), y, periodic=periodic).mean())
        assert abs(records[periodic]["val_rel_h1"] - by_hand) <= 1e-5 * by_hand
    assert records[True]["val_loss"] == records[False]["val_loss"]  # same seed, same training
    assert records[True]["val_rel_h1"] != records[False]["val_rel_h1"]  # the setting reached the metric
