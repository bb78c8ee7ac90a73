"""Bad input to generators, `sciml data make`, `sciml evaluate` and the metrics: refused or NaN, never a number.

Each row names one bad input. Generators and the CLI must raise the named error type / exit 2 with one
`sciml: error:` line naming the parameter or variable, and write nothing; metrics given a NaN/Inf
prediction must score NaN (the rule documented in sciml/train/metrics.py).
"""
from __future__ import annotations

import inspect
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from sciml.cli import main
from sciml.data import make_dataset, open_dataset, save_dataset
from sciml.errors import ConfigError, NonFiniteError, SchemaError
from tests.conftest import smoothing_dataset

# two rows overflow float32 on purpose (numpy warns before the output check refuses the result)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning")

# ---------------------------------------------------------------- generators and `sciml data make`

# (generator, parameters, error type, text the message must contain: the parameter or variable)
GENERATOR_ROWS = [
    ("darcy", dict(n=2, res=8, forcing=float("nan")), ConfigError, "'forcing'"),
    ("darcy", dict(n=-5), ConfigError, "'n'"),
    ("darcy", dict(n=2, res=2), ConfigError, "'res'"),
    ("darcy", dict(n=2, res=8, seed=-1), ConfigError, "'seed'"),
    ("darcy", dict(n=2, res=8, low=-3.0), ConfigError, "'low'"),
    ("darcy_rough", dict(n=2, res=8, alpha=0.0), ConfigError, "'alpha'"),
    ("helmholtz", dict(n=2, res=24, omega=0.0), ConfigError, "'omega'"),
    ("helmholtz", dict(n=2, res=24, c_amplitude=2.0), ConfigError, "c_amplitude"),
    ("helmholtz", dict(n=2, res=8), ConfigError, "raise res"),  # 2.6 points per wavelength at the default omega
    ("helmholtz", dict(n=2, res=24, boundary="periodic"), ConfigError, "'boundary'"),
    ("ns_vorticity", dict(n=2, res=16, nu=-1e-3), ConfigError, "'nu'"),  # used to hang
    ("ns_vorticity", dict(n=2, res=16, frames=0), ConfigError, "'frames'"),
    ("ns_vorticity", dict(n=2, res=16, dt=0.0), ConfigError, "'dt'"),
    ("ns_vorticity", dict(n=2, res=4), ConfigError, "'res'"),
    ("ns_vorticity_pairs", dict(n=4, res=16, trajectories=0), ConfigError, "'trajectories'"),
    ("ns_vorticity_pairs", dict(n=9, res=16, trajectories=2, pairs_per_trajectory=4), ConfigError,
     "raise trajectories or pairs_per_trajectory"),
    ("smoke_box", dict(n=2, res=16, dt=0.0), ConfigError, "'dt'"),
    ("smoke_box", dict(n=2, res=16, frame_dt=-0.1), ConfigError, "'frame_dt'"),
    ("wave_box", dict(n=2, res=16, c=0.0), ConfigError, "'c'"),
    ("wave_box", dict(n=2, res=16, gamma=100.0), ConfigError, "gamma"),
    ("qg", dict(n=1, res=16, save_every=0), ConfigError, "'save_every'"),
    ("qg", dict(n=1, res=16, dt=float("inf")), ConfigError, "'dt'"),
    ("qg", dict(n=1, res=16, viscosity=1.0), ConfigError, "'viscosity'"),
    ("dcdm_ritz", dict(n=4, res=8, low_fraction=1.5), ConfigError, "'low_fraction'"),
    ("dcdm_residuals", dict(res=8, rtol=0.0), ConfigError, "'rtol'"),
    ("dcdm_residuals", dict(n=4, res=8), ConfigError, "'n'"),  # it has no n: refused, not a TypeError
    ("image_patches", dict(n=4, res=16, digits_fraction=2.0), ConfigError, "'digits_fraction'"),
    ("image_patches", dict(n=4, res=16, split="val"), ConfigError, "'split'"),
    ("climatebench_synthetic", dict(n=1, experiment="ssp999"), ConfigError, "'experiment'"),
    ("climatebench_synthetic", dict(n=1, res=32), ConfigError, "'res'"),
    ("darcy", dict(n=2.5, res=8), ConfigError, "'n'"),
    ("darcy", dict(n=2, res=8, tau="3"), ConfigError, "'tau'"),
    # parameters within every rule whose output overflows float32 / blows up: the output check refuses them
    ("darcy", dict(n=2, res=8, high=1e308), NonFiniteError, "'a'"),
    ("ns_vorticity", dict(n=1, res=8, dt=1.0, forcing_amplitude=1e6, burn_in=0.0, frames=3), NonFiniteError, "'w'"),
]


def _row_id(row) -> str:
    name, params, _, _ = row
    return name + "-" + "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("name, params, error, text", GENERATOR_ROWS, ids=[_row_id(r) for r in GENERATOR_ROWS])
def test_generator_refuses(name, params, error, text):
    with pytest.raises(error, match=f"dataset '{name}'.*{_re(text)}|{_re(text)}.*dataset '{name}'"):
        make_dataset(name, **params)


@pytest.mark.parametrize("name, params, error, text", GENERATOR_ROWS, ids=[_row_id(r) for r in GENERATOR_ROWS])
def test_data_make_cli_refuses_and_writes_nothing(name, params, error, text, tmp_path, capsys):
    argv = ["data", "make", name, "--out", str(tmp_path / "out.nc")]
    for k, v in params.items():
        if k in ("n", "res", "seed") and isinstance(v, int):
            argv += [f"--{k}", str(v)]
        else:  # YAML text that reads back as the same value (.nan, 1.0e+308, '3', ...)
            argv += ["--param", f"{k}={yaml.safe_dump(v).splitlines()[0]}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sciml: error:") and text in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_data_make_param_in_scientific_notation_is_a_number(tmp_path):
    """`--param nu=2e-3` is the float 0.002 (YAML 1.2 numbers; YAML 1.1 reads the string '2e-3')."""
    import json

    out = tmp_path / "ns.nc"
    argv = ["data", "make", "ns_vorticity", "--n", "1", "--res", "16", "--param", "nu=2e-3", "--param", "frames=2",
            "--out", str(out)]
    assert main(argv) == 0
    got = open_dataset(out).load()
    assert json.loads(got.attrs["generator_params"])["nu"] == 0.002 and got.attrs["nu"] == 0.002
    want = make_dataset("ns_vorticity", n=1, res=16, nu=0.002, frames=2)
    np.testing.assert_array_equal(got["w"].values, want["w"].values)


def test_every_generator_has_a_bad_row_and_a_rule_per_parameter():
    from sciml.data.registry import DATASETS

    assert {r[0] for r in GENERATOR_ROWS} == set(DATASETS.names())
    for name in DATASETS.names():
        gen = DATASETS.get(name)
        unchecked = {p for p, spec in inspect.signature(gen).parameters.items()
                     if p not in gen.rules and spec.kind is not inspect.Parameter.VAR_KEYWORD}
        assert unchecked <= {"device", "model"}, (name, unchecked)  # a torch device string, a checkpoint path


def _re(text: str) -> str:
    import re

    return re.escape(text)


# ---------------------------------------------------------------- cached data of an experiment

def test_cached_data_regenerated_when_parameters_change_and_refused_when_resuming(tmp_path):
    from sciml.operators.recipe import DataConfig, load_data

    cfg = DataConfig(make="darcy", params={"n": 3, "res": 8, "seed": 1})
    first, path = load_data(cfg, tmp_path)
    assert first.sizes["sample"] == 3
    bigger = DataConfig(make="darcy", params={"n": 5, "res": 8, "seed": 1})
    with pytest.raises(ConfigError, match="resuming"):
        load_data(bigger, tmp_path, resume=True)
    assert open_dataset(path).sizes["sample"] == 3  # untouched
    again, _ = load_data(bigger, tmp_path)
    assert again.sizes["sample"] == 5 and open_dataset(path).sizes["sample"] == 5


def test_cached_data_not_made_by_sciml_is_never_overwritten(tmp_path):
    from sciml.operators.recipe import DataConfig, load_data

    save_dataset(smoothing_dataset(n=4, res=8), tmp_path / "data.nc")  # no generator attributes
    before = (tmp_path / "data.nc").read_bytes()
    with pytest.raises(ConfigError, match="no sciml provenance"):
        load_data(DataConfig(make="darcy", params={"n": 4, "res": 8}), tmp_path)
    assert (tmp_path / "data.nc").read_bytes() == before


# ---------------------------------------------------------------- `sciml evaluate`

def _train(tmp_path: Path, split: dict, data_name: str = "d.nc") -> tuple[Path, Path]:
    """A 1-epoch FNO on 20 smoothing samples; returns (checkpoint, data file)."""
    from sciml.experiment import ExperimentSpec, run_experiment
    from sciml.operators import DataConfig
    from sciml.train import TrainConfig

    data = tmp_path / data_name
    save_dataset(smoothing_dataset(n=20, res=8), data)
    cfg = ExperimentSpec(name="t", out_dir=str(tmp_path / "run"),
                           data=DataConfig(path=str(data), split=split),
                           model={"name": "fno", "modes": 2, "width": 4, "layers": 1, "padding": 0, "head_width": 4},
                           train=TrainConfig(epochs=1, batch_size=8, progress=False, amp=False))
    run_experiment(cfg, evaluate=False)
    return tmp_path / "run" / "best.pt", data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("trained"), {"train": 0.6, "val": 0.2, "test": 0.2})


def test_evaluate_training_data_with_empty_test_split_is_an_error(tmp_path, capsys):
    ckpt, data = _train(tmp_path, {"train": 0.8, "val": 0.2, "test": 0.0})
    assert main(["evaluate", str(ckpt), str(data), "--out", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sciml: error:") and "test split is empty" in err[0]
    assert not (tmp_path / "ev").exists()


def test_evaluate_scores_only_the_test_split_of_a_copied_training_file(trained, tmp_path, capsys):
    from sciml.train.checkpoint import load_checkpoint

    ckpt, data = trained
    copy = tmp_path / "elsewhere.nc"
    shutil.copy(data, copy)  # the same data under another name: still the training data
    assert main(["evaluate", str(ckpt), str(copy), "--out", str(tmp_path / "ev")]) == 0
    assert "held-out test samples" in capsys.readouterr().out
    test = load_checkpoint(ckpt)["extra"]["split"]["test"]
    scored = open_dataset(tmp_path / "ev" / "eval.nc")["sample"].values
    assert sorted(scored.tolist()) == sorted(test) and len(test) == 4


def test_evaluate_says_it_scored_every_sample_of_other_data(trained, tmp_path, capsys):
    ckpt, _ = trained
    save_dataset(smoothing_dataset(n=6, res=8, seed=5), tmp_path / "new.nc")
    assert main(["evaluate", str(ckpt), str(tmp_path / "new.nc"), "--out", str(tmp_path / "ev")]) == 0
    assert "all 6 samples of new.nc" in capsys.readouterr().out


def test_evaluate_training_file_changed_in_place_is_an_error(tmp_path, capsys):
    ckpt, data = _train(tmp_path, {"train": 0.6, "val": 0.2, "test": 0.2})
    data.unlink()
    save_dataset(smoothing_dataset(n=20, res=8, seed=9), data)  # regenerated in place: other samples
    assert main(["evaluate", str(ckpt), str(data), "--out", str(tmp_path / "ev")]) == 2
    assert "content has changed" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()


def test_evaluate_non_finite_predictions_names_the_variable(trained, tmp_path, capsys):
    from sciml.train.checkpoint import load_checkpoint

    ckpt, data = trained
    state = load_checkpoint(ckpt)
    key = next(k for k, v in state["state_dict"].items() if v.is_floating_point() and "weight" in k)
    state["state_dict"][key] = torch.full_like(state["state_dict"][key], float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    save_dataset(smoothing_dataset(n=6, res=8, seed=5), tmp_path / "new.nc")
    assert main(["evaluate", str(tmp_path / "nan.pt"), str(tmp_path / "new.nc"), "--out", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'u'" in err[0] and "NaN" in err[0]
    assert not (tmp_path / "ev").exists()


def test_run_experiment_refuses_an_empty_test_split_before_training(tmp_path):
    from sciml.experiment import ExperimentSpec, run_experiment
    from sciml.operators import DataConfig

    save_dataset(smoothing_dataset(n=10, res=8), tmp_path / "d.nc")
    cfg = ExperimentSpec(out_dir=str(tmp_path / "run"),
                           data=DataConfig(path=str(tmp_path / "d.nc"), split={"train": 0.85, "val": 0.1, "test": 0.04}))
    with pytest.raises(ConfigError, match="no test sample"):
        run_experiment(cfg)
    assert not list((tmp_path / "run").glob("*.pt"))


# ---------------------------------------------------------------- metrics given non-finite predictions

def _fields(bad: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, target) of shape (3, 1, 8, 8): one value of sample 1 of pred is ``bad``."""
    g = torch.Generator().manual_seed(seed)
    target = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    pred = target + 0.1 * torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    pred[1, 0, 3, 4] = bad
    return pred, target


def _climate(pred_bad: float, frac_finite: float) -> tuple[xr.DataArray, xr.DataArray]:
    """(truth, pred) over (time, latitude, longitude) on a 5 x 24 x 48 grid; pred equals the truth on
    ``frac_finite`` of its values (at least one), the rest is ``pred_bad``."""
    rng = np.random.default_rng(0)
    coords = {"time": np.arange(2080, 2085), "latitude": np.linspace(-80, 80, 24), "longitude": np.linspace(0, 352.5, 48)}
    truth = xr.DataArray(280 + rng.standard_normal((5, 24, 48)), dims=tuple(coords), coords=coords, name="tas")
    pred = truth.copy(data=truth.values.copy())
    keep = max(1, int(frac_finite * pred.size))
    pred.values.reshape(-1)[keep:] = pred_bad
    return truth, pred


def _torch_metric(name, bad, **kwargs):
    from sciml.train import metrics as M

    pred, target = _fields(bad)
    out = getattr(M, name)(pred, target, **kwargs)
    assert math.isfinite(float(out[0])) and math.isfinite(float(out[2]))  # the finite samples still score
    return float(out[1])


def _climate_metric(name, bad, frac_finite):
    from sciml.climate import metrics as C

    truth, pred = _climate(bad, frac_finite)
    return getattr(C, name)(truth, pred)


def _score_table(bad):
    from sciml.climate.metrics import score_table

    truth, pred = _climate(bad, 0.9999)
    scores = score_table(truth.to_dataset(), pred.to_dataset())
    assert set(scores) == {"tas_spatial_nrmse", "tas_global_nrmse", "tas_total_nrmse"}
    return max(scores.values(), key=lambda v: not math.isnan(v))  # NaN only if every score is NaN


def _field_metrics_mean(bad):
    from sciml.evaluate import field_metrics

    truth = smoothing_dataset(n=4, res=8)
    pred = truth.copy(deep=True)
    pred["u"].values[2, 0, 0] = bad
    return field_metrics(pred, truth, ["u"]).attrs["mean_rel_l2"]


def _metrics_table_cell(bad):
    from sciml.evaluate import metrics_table

    table = metrics_table({"m": xr.Dataset({"rel_l2": ("sample", [0.1, bad, 0.2])})}, ["rel_l2"])
    return float(table.splitlines()[-1].split("|")[2].split("±")[0])


def _lpn(name, bad):
    from sciml.inverse import metrics as lpn

    ref = np.random.default_rng(0).random((16, 16))
    x = ref.copy()
    x[3, 4] = bad
    return getattr(lpn, name)(x, ref)


def _medida_rel(bad):
    from sciml.discovery.medida import rel

    b = torch.randn(2, 8, 8, dtype=torch.float64)
    a = b.clone()
    a[0, 0, 0] = bad
    return rel(a, b)


def _coef_score(bad):
    from sciml.discovery.estimator import score

    true = np.array([[1.0, 0.0, -2.0]])
    coef = np.array([[1.0, bad, -2.0]])
    return score(coef, true)["correct_terms"]


METRIC_ROWS = [
    ("rel_l2 +inf", lambda: _torch_metric("rel_l2", float("inf"))),
    ("rel_lp p=1 -inf", lambda: _torch_metric("rel_lp", float("-inf"), p=1.0)),
    ("rel_h1 +inf", lambda: _torch_metric("rel_h1", float("inf"))),
    ("mse -inf", lambda: _torch_metric("mse", float("-inf"))),
    ("rmse +inf", lambda: _torch_metric("rmse", float("inf"))),
    ("mae +inf", lambda: _torch_metric("mae", float("inf"))),
    ("max_abs_error +inf", lambda: _torch_metric("max_abs_error", float("inf"))),
    ("psnr nan", lambda: _torch_metric("psnr", float("nan"))),
    ("spatial_nrmse 99.98% nan", lambda: _climate_metric("spatial_nrmse", float("nan"), 0.0001)),
    ("global_nrmse one nan cell", lambda: _climate_metric("global_nrmse", float("nan"), 0.9999)),
    ("spatial_rmse one inf cell", lambda: _climate_metric("spatial_rmse", float("inf"), 0.9999)),
    ("total_nrmse one nan cell", lambda: _climate_metric("total_nrmse", float("nan"), 0.9999)),
    ("score_table one nan cell", lambda: _score_table(float("nan"))),
    ("field_metrics mean over a nan sample", lambda: _field_metrics_mean(float("nan"))),
    ("metrics_table mean over a nan sample", lambda: _metrics_table_cell(float("nan"))),
    ("lpn psnr +inf pixel (was clipped to 1)", lambda: _lpn("psnr", float("inf"))),
    ("lpn ssim -inf pixel", lambda: _lpn("ssim", float("-inf"))),
    ("medida rel +inf", lambda: _medida_rel(float("inf"))),
    ("discovery score nan coefficient", lambda: _coef_score(float("nan"))),
]


@pytest.mark.parametrize("case", [r[1] for r in METRIC_ROWS], ids=[r[0] for r in METRIC_ROWS])
def test_metric_of_non_finite_prediction_is_nan(case):
    assert math.isnan(case())


def test_require_finite_predictions_names_variable_and_samples():
    from sciml.evaluate import require_finite_predictions

    ds = smoothing_dataset(n=5, res=8)
    ds["u"].values[1, 2, 3] = np.inf
    ds["u"].values[3] = np.nan
    with pytest.raises(NonFiniteError, match=r"'u' in 2 of 5 samples"):
        require_finite_predictions(ds)


def test_climatebench_scoring_refuses_nan_predictions():
    from sciml.climate import emulators

    class NaNModel(torch.nn.Module):  # an emulator whose every prediction is NaN
        def __init__(self):
            super().__init__()
            self.register_buffer("device_marker", torch.zeros(1))  # predict() reads the device from a buffer

        def forward(self, x):
            return torch.full((x.shape[0], 4, x.shape[-2], x.shape[-1]), float("nan"))

    coords = {"time": np.arange(2015, 2101), "latitude": np.linspace(-80, 80, 4), "longitude": np.linspace(0, 270, 4)}
    x = xr.Dataset({"CO2": ("time", np.linspace(0, 5, 86)), "CH4": ("time", np.full(86, 0.3)),
                    "SO2": (tuple(coords), np.zeros((86, 4, 4))), "BC": (tuple(coords), np.zeros((86, 4, 4)))},
                   coords=coords)
    hist = x.isel(time=slice(0, 10)).assign_coords(time=np.arange(2005, 2015))
    truth = xr.Dataset({v: (tuple(coords), np.ones((86, 4, 4))) for v in emulators.OUTPUT_VARS}, coords=coords)
    with pytest.raises(NonFiniteError, match="'tas'"):
        emulators.score_model(NaNModel(), x, hist, {"all": truth})
