"""Darcy flow with an FNO through the Python API (no CLI).

Run: python examples/darcy_fno.py   (about a minute on a laptop CPU)
"""
from pathlib import Path

from sciml.data import FieldDataset, Normalizers, make_dataset, save_dataset, split_indices
from sciml.evaluate import field_metrics, mean_predictor, predict_fields
from sciml.models import build_model, count_parameters, load_model
from sciml.train import Trainer, TrainConfig

out = Path("runs/example_darcy_fno")
ds = make_dataset("darcy", n=300, res=32, seed=0)           # xarray Dataset: a (input), u (solution)
save_dataset(ds, out / "darcy.nc", overwrite=True)           # CF-annotated NetCDF; a rerun replaces it

parts = split_indices(ds.sizes["sample"], {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
norms = Normalizers.fit(ds.isel(sample=parts["train"]), ["a", "u"])   # fitted on training data only
train, val = (FieldDataset(ds, ["a"], ["u"], indices=parts[k], normalizers=norms) for k in ("train", "val"))

model = build_model("fno", modes=12, width=32, layers=4, padding=8)
print(f"FNO with {count_parameters(model):,} parameters")
cfg = TrainConfig(epochs=20, batch_size=16, lr=2e-3, weight_decay=1e-4, scheduler="onecycle")
Trainer(model, cfg, train, val, normalizers=norms, out_dir=out).fit()

best = load_model(out / "best.pt")                            # rebuilt from the checkpoint alone
test = ds.isel(sample=parts["test"])
pred = predict_fields(best, test, ["a"], ["u"], best.normalizers)
scores = field_metrics(pred, test, ["u"], baseline=mean_predictor(ds.isel(sample=parts["train"]), test, ["u"]))
print(f"test rel L2: FNO {float(scores.rel_l2.mean()):.4f}  vs training mean {float(scores.rel_l2_baseline.mean()):.4f}")
