"""``sciml climate fit`` and ``sciml climate score`` through the command line, on files in the exact ClimateBench
release layout (conftest.py): LPS against an exactly pattern-scaled truth, a tiny CNN-LSTM, and user errors."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sciml.cli import main
from sciml.climate.baselines import PUBLISHED_SCORES, paper_table
from sciml.climate.io import OUTPUT_VARS
from sciml.climate.metrics import global_mean
from sciml.climate.prediction import PREDICTION_FILE, score_prediction


def _truth_mean(release):
    raw = xr.open_dataset(release / "test" / "outputs_ssp245.nc")
    return raw.mean("member").sel(time=slice(2080, 2100))


def test_lps_fit_predicts_an_exactly_pattern_scaled_truth(linear_release, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["climate", "fit", "--model", "lps", "--data", str(linear_release), "--out", str(out)]) == 0
    pred = xr.open_dataset(out / PREDICTION_FILE)
    # the released outputs schema, without members; every year of ssp245 from its inputs
    assert pred.tas.dims == ("time", "lat", "lon") and float(pred["quantile"]) == 0.9
    assert pred.pr.attrs["units"] == "kg m-2 s-1" and pred.attrs["model"] == "lps"
    assert list(pred.time.values) == list(range(2015, 2101)) and set(OUTPUT_VARS) <= set(pred.data_vars)
    truth = xr.open_dataset(linear_release / "test" / "outputs_ssp245.nc").mean("member")
    for v in OUTPUT_VARS:  # LPS reproduces a pattern-scaled climate (float32 files: ~1e-6 relative)
        np.testing.assert_allclose(pred[v].values, truth[v].values, rtol=1e-4, atol=1e-4)
    capsys.readouterr()
    assert main(["climate", "score", str(out), "--data", str(linear_release)]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("lps "))
    assert row.count("0.000") == 12  # all 12 scores vanish
    assert all(name in text for name in PUBLISHED_SCORES) and "16.778" in text  # the CNN-LSTM's DTR total


def test_score_of_a_shifted_prediction_by_hand(linear_release, tmp_path):
    truth = _truth_mean(linear_release)
    pred = truth.copy(deep=True)
    pred["tas"] = pred.tas + 0.5  # every cell and year off by 0.5 K
    pred.to_netcdf(tmp_path / "shifted.nc")
    scores, _, name = score_prediction(tmp_path / "shifted.nc", linear_release)
    norm = abs(float(global_mean(truth.tas.rename(lat="latitude", lon="longitude").mean("time"))))
    assert scores["tas_spatial_nrmse"] == pytest.approx(0.5 / norm, rel=1e-4)
    assert scores["tas_global_nrmse"] == pytest.approx(0.5 / norm, rel=1e-4)
    assert scores["tas_total_nrmse"] == pytest.approx(6 * 0.5 / norm, rel=1e-4)
    assert scores["pr_total_nrmse"] == pytest.approx(0.0, abs=1e-6) and name == "shifted"


def test_a_tiny_cnn_lstm_fits_and_scores_and_the_same_seed_gives_the_same_prediction(release, tmp_path, capsys):
    args = ["climate", "fit", "--model", "cnn_lstm", "--data", str(release), "--epochs", "1", "--seed", "3",
            "--model-param", "filters=4", "--model-param", "hidden=4", "--model-param", "input_pool=1"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    a, b = (xr.open_dataset(tmp_path / d / PREDICTION_FILE) for d in "ab")
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert a.attrs["model"] == "cnn_lstm"
    capsys.readouterr()
    assert main(["climate", "score", str(tmp_path / "a" / PREDICTION_FILE), "--data", str(release),
                 "--no-published"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cnn_lstm"))
    values = [float(c) for c in row.replace("|", " ").split()[1:]]
    assert len(values) == 12 and np.all(np.isfinite(values)) and min(values) > 0
    # total = spatial + 5 x global, as printed (rounding to 3 decimals)
    for s, g, t in zip(values[0::3], values[1::3], values[2::3]):
        assert t == pytest.approx(s + 5 * g, abs=4e-3)


def _one_line_error(capsys, args, match):
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sciml: error:") and match in err, err


def test_user_errors_are_one_line_with_exit_code_2(release, tmp_path, capsys):
    _one_line_error(capsys, ["climate", "fit", "--model", "lps", "--data", str(tmp_path / "nowhere")],
                    "does not exist")
    (tmp_path / "empty").mkdir()
    _one_line_error(capsys, ["climate", "fit", "--model", "lps", "--data", str(tmp_path / "empty"),
                             "--out", str(tmp_path / "r")], "inputs_ssp245.nc")
    (tmp_path / "only_test" / "test").mkdir(parents=True)  # the test half of the release only
    for f in (release / "test").iterdir():
        (tmp_path / "only_test" / "test" / f.name).symlink_to(f)
    _one_line_error(capsys, ["climate", "fit", "--model", "lps", "--data", str(tmp_path / "only_test"),
                             "--out", str(tmp_path / "r")], "inputs_historical.nc and outputs_historical.nc")
    (tmp_path / "no_test" / "train_val").mkdir(parents=True)  # the training half of the release only
    for f in (release / "train_val").iterdir():
        (tmp_path / "no_test" / "train_val" / f.name).symlink_to(f)
    _one_line_error(capsys, ["climate", "fit", "--model", "lps", "--data", str(tmp_path / "no_test"),
                             "--out", str(tmp_path / "r2")], "inputs_ssp245.nc")
    assert not (tmp_path / "r2").exists()  # refused before any training
    with pytest.raises(SystemExit) as exc:
        main(["climate", "fit", "--model", "gpr", "--data", str(release)])
    assert exc.value.code == 2 and "invalid choice: 'gpr'" in capsys.readouterr().err
    _one_line_error(capsys, ["climate", "score", str(tmp_path / "empty"), "--data", str(release)],
                    "no prediction file")
    bad = _truth_mean(release)
    bad["pr"][3, 1, 1] = np.nan
    bad.to_netcdf(tmp_path / "nan.nc")
    _one_line_error(capsys, ["climate", "score", str(tmp_path / "nan.nc"), "--data", str(release)], "NaN/Inf")
    bad.sel(time=slice(2080, 2090)).to_netcdf(tmp_path / "short.nc")
    _one_line_error(capsys, ["climate", "score", str(tmp_path / "short.nc"), "--data", str(release)],
                    "lacks the years [2091")


def test_every_climate_option_has_help(capsys):
    for cmd in ("fit", "score"):
        with pytest.raises(SystemExit):
            main(["climate", cmd, "--help"])
        text = capsys.readouterr().out
        for opt in {"fit": ("--model", "--data", "--out", "--seed", "--device", "--members", "--epochs",
                            "--model-param"), "score": ("--data", "--no-published")}[cmd]:
            assert opt in text
    from sciml.cli import build_parser

    climate = next(a for a in build_parser()._subparsers._group_actions[0].choices["climate"]._actions
                   if a.dest == "climate_cmd")
    for sub in climate.choices.values():
        assert all(a.help for a in sub._actions), [a.dest for a in sub._actions if not a.help]


def test_the_paper_table_marks_what_was_not_published():
    table = paper_table({}, published=True)
    lps = next(line for line in table.splitlines() if line.startswith("LPS"))
    assert lps.split("|")[1].split() == ["0.079", "0.041", "0.284"] and lps.split("|")[2].split() == ["-"] * 3
    nan = paper_table({"x": {"tas_spatial_nrmse": float("nan")}}, published=False)
    assert "nan" in nan.splitlines()[-1]


def test_a_member_count_below_one_is_a_one_line_error(release, tmp_path, capsys):
    for members in ("0", "-1"):  # an empty member list once reached max() and gave a traceback
        _one_line_error(capsys, ["climate", "fit", "--model", "lps", "--data", str(release), "--members", members,
                                 "--out", str(tmp_path / f"r{members}")], "members=")


def test_a_prediction_that_is_not_netcdf_is_a_one_line_error(release, tmp_path, capsys):
    (tmp_path / "junk.nc").write_text("not a netCDF file")  # the backends' ValueError once escaped as a traceback
    _one_line_error(capsys, ["climate", "score", str(tmp_path / "junk.nc"), "--data", str(release)],
                    "cannot be read as netCDF")
