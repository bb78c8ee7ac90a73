"""`sciml bench medida`: a declared sweep of medida recipe runs; its specs run alone, its page lays out their scores."""
import json

import pytest
import yaml

from sciml.bench.medida import ERRORS, PARTS, cases
from sciml.bench.runner import BENCHMARKS, run_benchmark
from sciml.cli import main
from sciml.experiment import run_experiment, spec_from_dict


@pytest.fixture(autouse=True)
def spin_up_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE", str(tmp_path / "cache"))


def test_the_sweep_covers_every_cell_of_the_page_once():
    rows = list(cases(list(PARTS), 4))
    names = [(exp, method) for exp, method, _ in rows]
    assert len(names) == len(set(names)) == 1 + 2 + (8 + 7) + 2 * 8   # full, noisy, sparse50/25, cycled
    cycled = {m: p for e, m, p in rows if e == "sparse25"}
    assert cycled["rff_cycled_moving"]["window"] == 4 and cycled["rff_cycled_moving_obs"]["regression"] == \
        "observation_space"


def test_dry_run_specs_load_and_one_trains_alone(tmp_path, capsys):
    argv = ["--preset", "smoke", "--dry-run", "--runs", str(tmp_path / "runs")]
    assert main(["bench", "medida", *argv]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert len(docs) == len(ERRORS) * (1 + 2 + 15 + 16)
    specs = [spec_from_dict(d) for d in docs]
    assert all(s.recipe == "medida" for s in specs)
    moving = next(s for s in specs if s.name == "sparse25_drag0-rff_cycled_moving-s0")
    assert spec_from_dict(moving.to_dict()) == moving
    scores = run_experiment(moving)["scores"]
    assert 0 <= scores["correct_terms"] <= 1 and scores["analysis_rel_err_c15"] < scores["analysis_rel_err_c0"]


def test_a_reduced_smoke_run_writes_the_page_with_exact_full_observation_rows(tmp_path):
    argv = ["--preset", "smoke", "--errors", "drag2x", "nobeta", "--methods", "direct", "rff_cycled_moving",
            "--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("medida"), argv) == 0
    rows = json.loads((tmp_path / "docs" / "medida_smoke.json").read_text())["rows"]
    full = {(r["task"], r["metric"]): r["value"] for r in rows if r["experiment"] == "full"}
    for err in ("drag2x", "nobeta"):
        assert full[(f"full_{err}", "correct_terms")] == 1
        assert full[(f"full_{err}", "coef_rel_err")] < 1e-6
        assert full[(f"full_{err}", "forecast_rel_err")] < full[(f"full_{err}", "forecast_rel_err_uncorrected")]
    assert {r["experiment"] for r in rows} == {"full", "noisy", "sparse50", "sparse25"}
    page = (tmp_path / "docs" / "medida_smoke.md").read_text()
    for section in ("## Summary", "## Where the signal is lost", "## Cycled analysis: error against cycle",
                    "## All tasks", "## Forecast error after 10 steps", "## Wall time per stage",
                    "## Reading the results", "medida_smoke.png"):
        assert section in page
    assert "| full_nobeta | direct | 1 |" in page and "dx_psi1" in page         # the discovered equation
    assert (tmp_path / "docs" / "medida_smoke.png").is_file()
