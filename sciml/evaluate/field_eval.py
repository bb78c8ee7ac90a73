"""The default evaluator of ``sciml evaluate``: field-to-field models on a test split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from sciml.data import open_dataset, save_dataset, validate
from sciml.evaluate.evaluate import field_metrics, mean_predictor, predict_fields, register_evaluator
from sciml.evaluate.report import metrics_table, plot_panels, write_report


@register_evaluator("field")
def evaluate_field_model(model, data_path: str | Path, out_dir: str | Path, checkpoint: dict) -> xr.Dataset:
    """Predict, score against the truth and the training-mean baseline, write ``eval.nc``,
    ``report.md`` and a figure. On the training file only its test split is scored."""
    extra = checkpoint.get("extra", {})
    inputs, targets = extra.get("inputs", ["a"]), extra.get("targets", ["u"])
    ds = validate(open_dataset(data_path).load(), required=inputs + targets, source=str(data_path))
    split, trained_on = extra.get("split", {}), Path(extra.get("data_path", ""))
    same_file = trained_on.is_file() and trained_on.resolve() == Path(data_path).resolve()
    # the training file: score its held-out test split; any other file: score every sample
    test = ds.isel(sample=split["test"]) if same_file and split.get("test") else ds
    train_src = open_dataset(trained_on).load() if trained_on.is_file() else ds
    train = train_src.isel(sample=split["train"]) if trained_on.is_file() and split.get("train") else train_src
    pred = predict_fields(model, test, inputs, targets, getattr(model, "normalizers", None))
    metrics = field_metrics(pred, test, targets, baseline=mean_predictor(train, test, targets))
    out = Path(out_dir)
    save_dataset(metrics, out / "eval.nc", overwrite=True)  # a rerun into the same folder replaces its own file
    name = checkpoint["model"]["name"]
    i = int(np.argsort(metrics["rel_l2"].values)[len(test.sample) // 2])  # the median sample
    t, p = test[targets[0]].isel(sample=i).values, pred[targets[0]].isel(sample=i).values
    fig = plot_panels({name: {"input " + inputs[0]: test[inputs[0]].isel(sample=i).values, "truth": t,
                              "prediction": p, "error": p - t}}, out / "eval.png")
    names = ("rel_l2", "rel_h1", "rmse")
    baseline = xr.Dataset({m: metrics[f"{m}_baseline"] for m in names})
    table = metrics_table({name: metrics, "training mean": baseline}, list(names))
    write_report(out / "report.md", f"Evaluation of {name} on {Path(data_path).name}",
                 [f"{len(test.sample)} test samples; mean ± std over samples.", table,
                  f"![median sample]({fig.name})"])
    return metrics
