"""`sciml evaluate` on a generated ClimateBench directory: the LPS checkpoint's score table."""
import numpy as np
import pytest
import torch

from sciml.climate.emulators import output_array
from sciml.climate.generator import generate_climatebench
from sciml.climate.io import load_climatebench
from sciml.experiment import evaluate_checkpoint
from sciml.models import build_model
from sciml.train.checkpoint import save_checkpoint


@pytest.mark.slow
def test_evaluate_lps_checkpoint(tmp_path):
    generate_climatebench(tmp_path, members=2, experiments=("historical", "ssp126", "ssp585", "ssp245"))
    data = load_climatebench(tmp_path, ("historical", "ssp126", "ssp585"))
    co2 = torch.tensor(np.concatenate([x.CO2.values for x, _ in data.values()]))
    y = torch.from_numpy(np.concatenate([output_array(y) for _, y in data.values()]))
    lps = build_model("lps").fit(co2, y, torch.tensor(data["historical"][0].latitude.values))
    save_checkpoint(tmp_path / "lps.pt", lps, extra={"evaluator": "climatebench"})
    res = evaluate_checkpoint(tmp_path / "lps.pt", tmp_path, tmp_path / "eval")
    assert 0.05 < res.attrs["tas_total_nrmse"] < 2.0
    assert (tmp_path / "eval" / "report.md").read_text().count("|") > 10


@pytest.mark.slow
def test_generated_lps_run_scores_against_both_truths_and_reevaluates_alone(tmp_path):
    from sciml.experiment import ExperimentSpec, run_experiment

    spec = ExperimentSpec(recipe="climate_emulator", name="lps", out_dir=str(tmp_path / "run"),
                          params={"model": "lps", "members": 1})
    scores = run_experiment(spec)["scores"]
    assert scores["truth_members"] == 3 and {"tas_total_nrmse", "tas_total_nrmse_eval50"} <= set(scores)
    # the 50-member truth is less noisy: the same prediction's pr error against it is smaller
    assert scores["pr_spatial_rmse_mm_day_eval50"] < scores["pr_spatial_rmse_mm_day"]
    assert (tmp_path / "run" / "prediction_ssp245.nc").is_file() and not (tmp_path / "run" / "data").exists()
    again = evaluate_checkpoint(tmp_path / "run" / "best.pt", None, tmp_path / "again")
    assert again.attrs["pr_total_nrmse_eval50"] == pytest.approx(scores["pr_total_nrmse_eval50"], rel=1e-12)
