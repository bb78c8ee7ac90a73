"""``sciml bench pig``: a declared sweep of ``pinn`` specs whose cpu rows run the recipe's defaults."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from sciml.bench.pig import TASKS, sweep
from sciml.bench.runner import run
from sciml.cli import main
from sciml.experiment import spec_from_dict
from sciml.pinn import training_budget


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"runs": Path("runs"), "tasks": None, "methods": None, "seeds": None,
                                 "device": None, **kw})


def test_smoke_bench_writes_the_rows_the_page_and_the_figure(tmp_path, monkeypatch):
    argv = ["--preset", "smoke", "--tasks", "poisson_sharp", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]
    monkeypatch.setattr("sys.argv", ["sciml", "bench", "pig", *argv])  # the command the JSON records
    assert run("pig", argv) == 0
    d = json.loads((tmp_path / "pig_smoke.json").read_text())
    keys = {(r["task"], r["method"], r["metric"]) for r in d["rows"]}
    assert keys == {("poisson_sharp", m, k) for m in ("pig", "pinn", "pinn_fourier") for k in ("rel_l2", "wall_s", "params")}
    assert all(r["value"] is not None and r["value"] > 0 for r in d["rows"])
    assert d["command"] == "sciml bench pig --preset smoke --tasks poisson_sharp"
    page = (tmp_path / "pig_smoke.md").read_text()
    assert (tmp_path / "pig_smoke.png").stat().st_size > 0 and "| poisson_sharp | 20 / 0.9995 / 1x5 / 128 |" in page


def test_cpu_rows_run_the_recipe_defaults_and_gpu_rows_the_paper_budgets():
    cpu = sweep("cpu", _args())
    assert len(cpu) == len(TASKS) * 3 * 2
    for row in cpu:
        assert row.spec.params == {"problem": row.task, "model": {"name": row.method}}  # nothing but the defaults
        assert row.spec.device == "cpu"
        assert spec_from_dict(yaml.safe_load(yaml.safe_dump(row.spec.to_dict()))) == spec_from_dict(row.spec.to_dict())
    gpu = sweep("gpu", _args(tasks=["allen_cahn"], methods=["pig"], seeds=1))
    (row,) = gpu
    assert row.spec.params["adam_steps"] == training_budget("allen_cahn", "gpu")["adam_steps"]
    assert row.spec.params["causal_eps"] == 1.0 and row.spec.params["model"]["n_gaussians"] == 800
    assert len(sweep("gpu", _args())) == (len(TASKS) + 1) * 3 * 3  # + helmholtz2d_hf, three seeds


def test_dry_run_prints_specs_that_load(capsys, tmp_path):
    assert run("pig", ["--dry-run", "--tasks", "klein_gordon", "--seeds", "1", "--runs", str(tmp_path)]) == 0
    docs = capsys.readouterr().out.split("---\n")
    assert len(docs) == 3 and not any(tmp_path.iterdir())  # nothing ran
    assert {spec_from_dict(yaml.safe_load(d)).params["model"]["name"] for d in docs} == {"pig", "pinn", "pinn_fourier"}


def test_a_dry_run_spec_trains_alone_and_its_checkpoint_evaluates(capsys, tmp_path):
    argv = ["bench", "pig", "--preset", "smoke", "--dry-run", "--tasks", "poisson_sharp", "--methods", "pig",
            "--runs", str(tmp_path / "runs")]
    assert main(argv) == 0
    (tmp_path / "spec.yaml").write_text(capsys.readouterr().out)
    assert main(["train", str(tmp_path / "spec.yaml")]) == 0
    trained = json.loads(capsys.readouterr().out.split("scores: ", 1)[1].splitlines()[0])
    checkpoint = tmp_path / "runs" / "poisson_sharp-pig-s0" / "final.pt"
    assert main(["evaluate", str(checkpoint)]) == 0
    scores = json.loads(capsys.readouterr().out.rsplit("report:", 1)[0])
    assert scores["problem"] == "poisson_sharp" and scores["params"] == trained["params"] == 2097
    assert scores["rel_l2"] == pytest.approx(trained["rel_l2"]) and 0 < scores["rel_l2"] < 2
    assert (checkpoint.parent / "eval" / "fields.nc").is_file()
