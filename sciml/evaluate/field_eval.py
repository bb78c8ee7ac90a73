"""The default evaluator of ``sciml evaluate``: field-to-field models on a test split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from sciml.data import open_dataset, save_dataset
from sciml.evaluate.evaluate import field_metrics, mean_predictor, predict_fields, register_evaluator
from sciml.evaluate.report import metrics_table, plot_panels, write_report


@register_evaluator("field")
def evaluate_field_model(model, data_path: str | Path, out_dir: str | Path, checkpoint: dict) -> xr.Dataset:
    """Predict the test split (or every sample if the checkpoint records no split), score it
    against the truth and the training-mean baseline, write ``eval.nc``, ``report.md`` and a figure."""
    extra = checkpoint.get("extra", {})
    inputs, targets = extra.get("inputs", ["a"]), extra.get("targets", ["u"])
    ds = open_dataset(data_path).load()
    split = extra.get("split", {})
    test = ds.isel(sample=split["test"]) if split.get("test") else ds
    train = ds.isel(sample=split["train"]) if split.get("train") else ds
    pred = predict_fields(model, test, inputs, targets, getattr(model, "normalizers", None))
    metrics = field_metrics(pred, test, targets, baseline=mean_predictor(train, test, targets))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_dataset(metrics, out / "eval.nc")
    name = checkpoint["model"]["name"]
    i = int(np.argsort(metrics["rel_l2"].values)[len(test.sample) // 2])  # the median sample
    t, p = test[targets[0]].isel(sample=i).values, pred[targets[0]].isel(sample=i).values
    fig = plot_panels({name: {"input": test[inputs[0]].isel(sample=i).values, "truth": t,
                              "prediction": p, "error": p - t}}, out / "eval.png")
    names = ("rel_l2", "rel_h1", "rmse")
    baseline = xr.Dataset({m: metrics[f"{m}_baseline"] for m in names})
    table = metrics_table({name: metrics, "training mean": baseline}, list(names))
    write_report(out / "report.md", f"Evaluation of {name} on {Path(data_path).name}",
                 [f"{len(test.sample)} test samples; mean ± std over samples.", table,
                  f"![median sample]({fig.name})"])
    return metrics
