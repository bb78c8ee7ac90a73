"""The evaluator of the ``field`` recipe (``sciml evaluate``): field-to-field models on a test split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr

from sciml.data import fingerprint, open_chunked, save_dataset, validate
from sciml.data.normalize import resample_to_grid
from sciml.errors import ConfigError, DimensionError, SchemaError
from sciml.evaluate.evaluate import field_metrics, mean_predictor, predict_fields, require_finite_predictions
from sciml.evaluate.report import metrics_table, plot_panels, write_report
from sciml.models.wrappers import wrapped_model_name


def scored_samples(ds: xr.Dataset, data_path: str | Path, extra: dict) -> tuple[np.ndarray, str, bool]:
    """Which samples of ``ds`` (read from ``data_path``) to score, a sentence saying which, and whether
    ``ds`` is the training data.

    The data the model was trained on (recognised by the content fingerprint in the checkpoint, or by
    its path for checkpoints without one) is scored only on its held-out test split; a missing or
    empty test split is an error, never a fallback to every sample. Other data is scored entirely.
    """
    n, name = ds.sizes["sample"], Path(data_path).name
    names = list(extra.get("inputs", ["a"])) + list(extra.get("targets", ["u"]))
    trained_on = Path(extra["data_path"]) if extra.get("data_path") else None
    same_path = trained_on is not None and trained_on.is_file() and trained_on.resolve() == Path(data_path).resolve()
    recorded = extra.get("data_fingerprint")
    if recorded is not None:
        is_training_data = fingerprint(ds, names) == recorded
        if same_path and not is_training_data:
            raise SchemaError(f"{str(data_path)!r} is the file this model was trained on, but its content has changed "
                              "since (another fingerprint than the checkpoint's), so its held-out samples cannot be "
                              "told from training samples; evaluate on data the model has not seen")
    else:
        is_training_data = same_path
    if not is_training_data:
        return np.arange(n), f"all {n} samples of {name} (not the training data)", False
    test = np.asarray(extra.get("split", {}).get("test", []), dtype=int)
    if test.size == 0:
        raise ConfigError(f"{str(data_path)!r} is the data this model was trained on and the checkpoint records no "
                          "held-out test samples (its test split is empty), so scoring it would score samples used in "
                          "training; evaluate on another file or retrain with data.split.test > 0")
    if test.max() >= n:
        raise SchemaError(f"the checkpoint's test split indexes sample {int(test.max())} but {name} has {n} samples")
    shown = ", ".join(map(str, test[:10])) + (", ..." if test.size > 10 else "")
    return test, f"the {test.size} held-out test samples of {name} recorded in the checkpoint (of {n}; indices {shown})", True


def _training_mean(ds: xr.Dataset, targets: list[str], extra: dict, is_training_data: bool) -> xr.Dataset:
    """The training samples' mean of ``targets``, for the training-mean baseline, computed chunk by chunk
    and held as a one-sample Dataset (so ``mean_predictor``'s mean over ``sample`` returns it unchanged).
    The training samples are ``ds``'s recorded train split, or the recorded training file's; ``ds``
    itself when they cannot be found."""
    split_train = extra.get("split", {}).get("train")
    trained_on = Path(extra["data_path"]) if extra.get("data_path") else None
    if is_training_data:
        src = ds
    elif trained_on is not None and trained_on.is_file():
        src = open_chunked(trained_on)
    else:
        src, split_train = ds, None
    train = src.isel(sample=split_train) if split_train else src
    return train[targets].mean("sample").compute().expand_dims(sample=1)


def on_evaluation_grid(mean: xr.Dataset, like: xr.Dataset, targets: list[str]) -> tuple[xr.Dataset, str | None]:
    """The training mean ``mean`` (one sample, on the training grid) put on the grid of ``like`` (the data
    scored), and a sentence saying so when the grids differ (else None).

    A training file of another resolution holds the mean on another grid, and xarray would align the two
    grids' coordinates into NaN. The mean is a function on the domain, like a pointwise normaliser's
    statistics, so it is resampled the same way (:func:`~sciml.data.normalize.resample_to_grid`: multilinear,
    end points included), which keeps the baseline meaningful across resolutions; on the same grid the values
    are kept and only take ``like``'s coordinates.
    """
    out, grids = xr.Dataset(), set()
    for v in targets:
        dims = [d for d in like[v].dims if d != "sample"]
        if set(dims) != set(mean[v].dims) - {"sample"}:
            raise DimensionError(f"the training data's {v!r} has dimensions {mean[v].dims} and the evaluation data's "
                                 f"{like[v].dims}; evaluate on data with the training data's dimensions")
        field = torch.as_tensor(np.asarray(mean[v].isel(sample=0).transpose(*dims).values, dtype=np.float64))
        shape = tuple(like.sizes[d] for d in dims)
        if tuple(field.shape) != shape:
            grids.add((tuple(field.shape), shape))
            field = resample_to_grid(field, shape)
        out[v] = (["sample", *dims], field.numpy()[None], mean[v].attrs)
        out = out.assign_coords({d: like[d] for d in dims if d in like.coords})
    if not grids:
        return out, None
    src, dst = sorted(grids)[0]  # the targets of one file share its grid
    return out, (f"The training-mean baseline is the training data's mean on its {'x'.join(map(str, src))} grid, "
                 f"resampled to this {'x'.join(map(str, dst))} grid by multilinear interpolation, as the pointwise "
                 "normalisers are.")


def open_field_data(data_path: str | Path, extra: dict) -> xr.Dataset:
    """The data file ``data_path`` opened chunked (the fingerprint and the training mean stream; only the
    scored samples are loaded), checked to hold the inputs and targets the checkpoint's ``extra`` names."""
    names = list(extra.get("inputs", ["a"])) + list(extra.get("targets", ["u"]))
    return validate(open_chunked(data_path), required=names, source=str(data_path))


def evaluate_field_model(model, ds: xr.Dataset, data_path: str | Path, out_dir: str | Path, checkpoint: dict,
                         attrs: dict | None = None) -> xr.Dataset:
    """Predict ``ds`` (the file ``data_path`` as :func:`open_field_data` returns it), score against the truth
    and the training-mean baseline, write ``eval.nc``, ``report.md`` and a figure. On the training data only
    its held-out test split is scored (:func:`scored_samples`); the result's ``scored`` attribute and the
    report say which samples.
    ``rel_h1`` wraps around the edges when the checkpoint records ``periodic`` data. ``attrs`` (e.g. the
    model's costs) are added to the result's attributes and listed in the report."""
    extra = checkpoint.get("extra", {})
    inputs, targets = extra.get("inputs", ["a"]), extra.get("targets", ["u"])
    if "sample" not in ds.coords:  # keep the file's sample indices through isel, into eval.nc
        ds = ds.assign_coords(sample=np.arange(ds.sizes["sample"]))
    idx, scored, is_training_data = scored_samples(ds, data_path, extra)
    test = validate(ds.isel(sample=idx).load(), required=inputs + targets, finite=True,
                    source=f"{data_path} (scored samples)")
    train_mean, resampled = on_evaluation_grid(_training_mean(ds, list(targets), extra, is_training_data), test,
                                               list(targets))
    pred = require_finite_predictions(predict_fields(model, test, inputs, targets, getattr(model, "normalizers", None)))
    metrics = field_metrics(pred, test, targets, baseline=mean_predictor(train_mean, test, targets),
                            periodic=bool(extra.get("periodic", False)))
    metrics.attrs.update(scored=scored, **(attrs or {}))
    out = Path(out_dir)
    save_dataset(metrics, out / "eval.nc", overwrite=True)  # a rerun into the same folder replaces its own file
    name = wrapped_model_name(checkpoint["model"])  # the network, not the decoded_output wrapper around it
    i = int(np.argsort(metrics["rel_l2"].values)[len(test.sample) // 2])  # the median sample
    t, p = test[targets[0]].isel(sample=i).values, pred[targets[0]].isel(sample=i).values
    fig = plot_panels({name: {"input " + inputs[0]: test[inputs[0]].isel(sample=i).values, "truth": t,
                              "prediction": p, "error": p - t}}, out / "eval.png")
    names = ("rel_l2", "rel_h1", "rmse")
    baseline = xr.Dataset({m: metrics[f"{m}_baseline"] for m in names})
    table = metrics_table({name: metrics, "training mean": baseline}, list(names))
    write_report(out / "report.md", f"Evaluation of {name} on {Path(data_path).name}",
                 [f"Scored {scored}; mean ± std over samples.", *([resampled] if resampled else []), table,
                  *([", ".join(f"{k} {v:.4g}" for k, v in attrs.items())] if attrs else []),
                  f"![median sample]({fig.name})"])
    return metrics
