"""Evaluation: predictions in physical units and per-sample metrics as an xarray Dataset."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import xarray as xr

from sciml.data.normalize import Normalizers
from sciml.data.schema import validate
from sciml.errors import NonFiniteError
from sciml.train.metrics import get_metric

@torch.no_grad()
def predict_fields(model: nn.Module, ds: xr.Dataset, inputs: Sequence[str], targets: Sequence[str],
                   normalizers: Normalizers | None = None, batch_size: int = 32,
                   device: str | torch.device = "cpu") -> xr.Dataset:
    """Run ``model`` on every sample of ``ds``; returns the predicted ``targets`` in physical units."""
    inputs, targets = list(inputs), list(targets)
    validate(ds, required=inputs, finite=inputs)
    normalizers = normalizers or Normalizers()
    model = model.to(device).eval()
    x_all = torch.stack([torch.as_tensor(ds[v].values, dtype=torch.float32) for v in inputs], dim=1)
    preds = []
    for start in range(0, x_all.shape[0], batch_size):
        x = normalizers.encode_stack(inputs, x_all[start:start + batch_size]).to(device)
        preds.append(normalizers.decode_stack(targets, model(x).float().cpu()))
    pred = torch.cat(preds)
    ref = ds[inputs[0]]
    out = xr.Dataset(coords=ref.coords)
    for i, name in enumerate(targets):
        attrs = dict(ds[name].attrs) if name in ds else {}
        attrs["long_name"] = "predicted " + attrs.get("long_name", name)
        out[name] = (ref.dims, pred[:, i].numpy(), attrs)
    return out


def require_finite_predictions(pred: xr.Dataset, what: str = "the model") -> xr.Dataset:
    """Raise NonFiniteError naming every variable of ``pred`` that holds NaN/Inf; return ``pred``.

    Scores of a non-finite prediction are NaN (see :mod:`sciml.train.metrics`); a command that reports
    scores calls this first, so it says which variable failed instead of writing NaN tables.
    """
    bad = []
    for name, da in pred.data_vars.items():
        values = np.asarray(da.values)
        if not np.issubdtype(values.dtype, np.number):
            continue
        nonfinite = ~np.isfinite(values)
        if nonfinite.any():
            where = ""
            if "sample" in da.dims:
                per_sample = np.moveaxis(nonfinite, da.dims.index("sample"), 0).reshape(da.sizes["sample"], -1)
                n_bad = int(per_sample.any(1).sum())
                where = f" in {n_bad} of {per_sample.shape[0]} samples"
            bad.append(f"{name!r}{where} ({100 * nonfinite.mean():.4g}% of its values)")
    if bad:
        raise NonFiniteError(f"{what} predicted NaN/Inf values for variable(s) {', '.join(bad)}; its scores would "
                             "be NaN, so none were written. Check the checkpoint (a diverged training run?) and "
                             "the inputs")
    return pred


def field_metrics(pred: xr.Dataset, truth: xr.Dataset, targets: Sequence[str],
                  metrics: Sequence[str] = ("rel_l2", "rel_h1", "rmse"),
                  baseline: xr.Dataset | None = None, periodic: bool = False) -> xr.Dataset:
    """Per-sample metrics: variables ``{metric}`` (dims ``sample``), over all ``targets`` jointly.

    ``baseline`` (e.g. the training-mean prediction) adds ``{metric}_baseline`` for comparison.
    ``periodic``: the fields live on a torus, so ``rel_h1``'s differences wrap around the edges.
    A sample with a NaN/Inf prediction or truth scores NaN, and so do the ``mean_{metric}`` attributes.
    """
    def stack(d: xr.Dataset) -> torch.Tensor:
        return torch.stack([torch.from_numpy(np.array(d[v].values, dtype=np.float64)) for v in targets], dim=1)  # a copy: xarray's may be read-only

    t, p = stack(truth), stack(pred)
    out = xr.Dataset(coords={"sample": truth["sample"].values if "sample" in truth.coords else np.arange(t.shape[0])})
    for m in metrics:
        metric = get_metric(m, periodic=periodic)
        out[m] = ("sample", metric(p, t).numpy(), {"long_name": m.replace("_", " ")})
        if baseline is not None:
            out[f"{m}_baseline"] = ("sample", metric(stack(baseline), t).numpy(),
                                    {"long_name": f"{m} of the baseline"})
    out.attrs.update({f"mean_{m}": float(out[m].mean(skipna=False)) for m in metrics})  # NaN stays NaN
    return out


def mean_predictor(train: xr.Dataset, like: xr.Dataset, targets: Sequence[str]) -> xr.Dataset:
    """The 'predict the training mean field' baseline, shaped like ``like``."""
    out = xr.Dataset(coords=like.coords)
    for v in targets:
        mean = train[v].mean("sample")
        out[v] = mean.expand_dims(sample=like.sizes["sample"]).transpose(*like[v].dims).assign_coords(sample=like["sample"])
    return out
