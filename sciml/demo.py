"""``sciml demo``: the quick start. Small Darcy set, MgNO, FNO and U-Net trained briefly, one report.

Everything runs on a laptop CPU in a few minutes (about 6 on a busy 2-core machine) and writes
``runs/demo/report.md`` with a table (each model against the 'predict the training mean' baseline) and
a figure of truth, prediction and error on one test sample.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

from sciml.data import open_dataset
from sciml.data.registry import make_or_reuse
from sciml.errors import ConfigError
from sciml.evaluate import metrics_table, plot_panels, predict_fields, write_report
from sciml.experiment import ExperimentSpec, run_experiment
from sciml.models import count_parameters, load_model
from sciml.operators import DataConfig
from sciml.train import TrainConfig
from sciml.train.checkpoint import load_checkpoint

MODELS = {  # MgNO at the operators bench's width; run_demo sets its levels from the grid (32^2 -> 4)
    "mgno": {"name": "mgno", "width": 24, "layers": 4},
    "fno": {"name": "fno", "modes": 8, "width": 24, "layers": 4, "padding": 4},
    "unet": {"name": "unet", "width": 16, "depth": 3},
}


def run_demo(out_dir: str | Path = "runs/demo", n: int = 400, res: int = 32, epochs: int = 20) -> Path:
    """Run the demo; returns the report path."""
    for flag, value, least, why in (("--n", n, 10, "the 80/10/10 split needs a test sample"),
                                    ("--res", res, 8, "the models coarsen the grid"),
                                    ("--epochs", epochs, 1, "each model trains at least once")):
        if not isinstance(value, int) or value < least:  # checked before anything is written
            raise ConfigError(f"demo {flag} must be an integer of at least {least} ({why}), got {value!r}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    data_path = out / "darcy.nc"
    print(f"[demo] Darcy data: {n} samples at {res}x{res} (generated once, reused while n and res match) ...")
    make_or_reuse(data_path, "darcy", n=n, res=res, seed=0)
    results, preds = {}, {}
    for name, model_cfg in MODELS.items():
        print(f"[demo] training {name} for {epochs} epochs ...")
        cfg = ExperimentSpec(
            name=f"demo_{name}", out_dir=str(out / name),
            data=DataConfig(path=str(data_path), inputs=["a"], targets=["u"]),
            model={**model_cfg, "grid_size": res} if name == "mgno" else model_cfg,
            train=TrainConfig(epochs=epochs, batch_size=16, lr=2e-3, weight_decay=1e-4, scheduler="onecycle",
                              grad_clip=1.0, seed=0),
        )
        res_ = run_experiment(cfg)
        results[name] = res_
    ds = open_dataset(data_path).load()
    ckpt_extra = results["fno"]["metrics"]
    test_idx = np.asarray(_split(out / "fno" / "best.pt")["test"])
    test = ds.isel(sample=test_idx)
    table_in = {}
    for name in MODELS:
        table_in[name] = results[name]["metrics"]
        model = load_model(out / name / "best.pt")
        preds[name] = predict_fields(model, test, ["a"], ["u"], model.normalizers)
    base = results["fno"]["metrics"]
    table_in["training mean"] = xr.Dataset({m: base[f"{m}_baseline"] for m in ("rel_l2", "rel_h1", "rmse")})
    i = int(np.argsort(ckpt_extra["rel_l2"].values)[len(test_idx) // 2])
    truth = test["u"].isel(sample=i).values
    rows = {}
    for name in MODELS:
        p = preds[name]["u"].isel(sample=i).values
        rows[name] = {"input a": test["a"].isel(sample=i).values, "truth u": truth, "prediction": p,
                      "error (pred - truth)": p - truth}
    fig = plot_panels(rows, out / "demo.png")
    params = "\n".join(f"- {k}: {count_parameters(load_model(results[k]['checkpoint'])):,} parameters, config `{MODELS[k]}`"
                       for k in MODELS)
    elapsed = time.perf_counter() - t0
    report = write_report(out / "report.md", "sciml demo: Darcy flow, MgNO vs FNO vs U-Net", [
        f"Data: {n} samples of -div(a grad u) = 1 on the unit square at {res}x{res} "
        f"(`sciml data make darcy`), split 80/10/10. {epochs} epochs each, OneCycle, CPU.",
        params,
        "Test error (mean ± std over test samples), in physical units:",
        metrics_table(table_in, ["rel_l2", "rel_h1", "rmse"]),
        f"![truth, prediction and error]({fig.name})",
        f"Total time: {elapsed:.0f} s. Checkpoints: " + ", ".join(f"`{out}/{k}/best.pt`" for k in MODELS)
        + f" (re-evaluate with `sciml evaluate {out}/mgno/best.pt {data_path}`).",
    ])
    print(f"[demo] done in {elapsed:.0f} s; report: {report}")
    print(metrics_table(table_in, ["rel_l2", "rel_h1", "rmse"]))
    return report


def _split(ckpt_path: Path) -> dict:
    return load_checkpoint(ckpt_path)["extra"]["split"]
