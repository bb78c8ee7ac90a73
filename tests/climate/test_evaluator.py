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
