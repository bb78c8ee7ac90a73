"""`sciml bench climatebench`: a declared sweep of climate_emulator runs; its specs run alone, its page lays out
their scores (on files in the ClimateBench release layout, toy size)."""
import json

import pytest
import xarray as xr
import yaml

from sciml.bench.climatebench import MEMBERS, METHODS, cell_scores, preset_settings
from sciml.bench.results import BenchResult
from sciml.bench.runner import BENCHMARKS, run_benchmark
from sciml.cli import main
from sciml.climate.recipes import TRAINING_DEFAULTS, training_settings
from sciml.experiment import evaluate_checkpoint, run_experiment, spec_from_dict
from tests.climate.release_files import linear_pattern, write_release


def test_dry_run_specs_load_round_trip_and_one_trains_alone(tmp_path, capsys):
    assert main(["bench", "climatebench", "--dry-run", "--runs", str(tmp_path / "runs")]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert len(docs) == len(MEMBERS) * len(METHODS)
    specs = [spec_from_dict(d) for d in docs]
    assert all(s.recipe == "climate_emulator" and s.params["data"] is None for s in specs)
    assert all(spec_from_dict(s.to_dict()) == s for s in specs)
    prithvi = next(s for s in specs if s.name == "m3-prithvi-s0")
    assert prithvi.params == {"data": None, "model": "prithvi", "members": 3}  # the main rows run the defaults
    # a spec of the sweep, pointed at a release-layout folder, trains alone and evaluates with `sciml evaluate`
    release = write_release(tmp_path / "release", pattern=linear_pattern())
    lps = next(s for s in specs if s.name == "m1-lps-s0")
    lps.params.update(data=str(release), members=None)  # every member: their mean is the pattern exactly
    lps.out_dir = str(tmp_path / "lps")
    scores = run_experiment(lps)["scores"]
    assert scores["tas_total_nrmse"] < 1e-4 and scores["truth_members"] == 2  # pattern-scaled truth: exact
    again = evaluate_checkpoint(tmp_path / "lps" / "best.pt")
    assert again.attrs["pr_total_nrmse"] == pytest.approx(scores["pr_total_nrmse"])
    with xr.open_dataset(tmp_path / "lps" / "eval" / "prediction_ssp245.nc") as pred:  # it names what predicted it
        assert pred.attrs["checkpoint"] == str((tmp_path / "lps" / "best.pt").resolve())


def test_a_reduced_run_on_release_files_writes_the_page(tmp_path):
    release = write_release(tmp_path / "release")
    argv = ["--preset", "smoke", "--data", str(release), "--members", "1", "2", "--methods", "lps", "cnn-lstm",
            "--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("climatebench"), argv) == 0
    data = json.loads((tmp_path / "docs" / "climatebench_smoke.json").read_text())
    cells = {(r["task"], r["method"]) for r in data["rows"]}
    assert cells == {(f"m{m}", meth) for m in (1, 2) for meth in ("lps", "cnn-lstm")}
    page = (tmp_path / "docs" / "climatebench_smoke.md").read_text()
    for section in ("## m1_eval2", "## m2_eval2", "## Error against training members", "## Checks",
                    "climatebench_smoke.png"):
        assert section in page
    assert (tmp_path / "docs" / "climatebench_smoke.png").is_file()
    # a rerun reuses every finished row
    assert run_benchmark(BENCHMARKS.get("climatebench"), argv) == 0
    assert json.loads((tmp_path / "docs" / "climatebench_smoke.json").read_text())["rows"] == data["rows"]


def test_the_recipe_defaults_are_the_cpu_page_settings_and_a_spec_overrides_them():
    assert training_settings("prithvi") == TRAINING_DEFAULTS["prithvi"]
    assert training_settings("cnn_lstm")["config"] == {"input_pool": 4} and training_settings("cnn_lstm")["lr"] == 3e-3
    given = training_settings("prithvi", epochs=7, lr=None, config={"embed": 16})
    assert given["epochs"] == 7 and given["lr"] == 5e-4  # None keeps the default
    assert given["config"] == {**TRAINING_DEFAULTS["prithvi"]["config"], "embed": 16}
    assert TRAINING_DEFAULTS["prithvi"]["config"]["embed"] == 48  # the defaults are not mutated
    gpu = preset_settings("gpu")["prithvi"]
    assert gpu["epochs"] == 40 and gpu["config"]["patch"] == 4


def test_cell_scores_split_a_run_into_its_truths():
    res = BenchResult("climatebench", "sciml bench climatebench")
    for metric, value in (("tas_total_nrmse", 0.4), ("tas_total_nrmse_eval50", 0.3), ("truth_members", 3),
                          ("wall_s", 9.0)):
        res.add("m10", "lps", metric, value)
    assert cell_scores(res) == {"m10_eval3": {"lps": {"tas_total_nrmse": 0.4}},
                                "m10_eval50": {"lps": {"tas_total_nrmse": 0.3}}}
