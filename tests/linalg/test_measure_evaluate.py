"""`sciml evaluate` scores a linear_solver measurement (a JSON artefact) through its recipe's evaluator."""
from __future__ import annotations

import json

import pytest

from sciml.cli import main
from sciml.experiment import ExperimentSpec, run_experiment


def test_sciml_evaluate_scores_a_measurement_json(tmp_path, capsys):
    spec = ExperimentSpec(recipe="linear_solver", name="cg-16", out_dir=str(tmp_path / "run"), seed=0, device="cpu",
                          params={"family": "constant", "grid": [16, 16], "method": "cg", "threads": 1})
    result = run_experiment(spec)
    capsys.readouterr()
    assert main(["evaluate", result["checkpoint"], "--out", str(tmp_path / "eval")]) == 0
    printed = json.loads(capsys.readouterr().out.split("report:")[0])
    assert printed["iterations"] == result["scores"]["iterations"] > 0
    assert printed["method"] == "cg"


@pytest.mark.parametrize("text,message", [("{\"runs\": []}", "names no recipe"), ("not json", "cannot read")])
def test_a_json_file_that_is_no_artefact_is_a_one_line_error(tmp_path, capsys, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
