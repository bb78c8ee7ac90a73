"""Smoke test of ``sciml bench operators`` (the quick preset, one task): the JSON has the issue's shape."""
import json

import pytest

from sciml.bench import operators


@pytest.mark.slow
def test_quick_preset_writes_the_issue_shape(tmp_path):
    assert operators.main(["--preset", "quick", "--tasks", "darcy_smooth", "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "operators.json").read_text())
    assert d["benchmark"] == "operators"
    assert {r["method"] for r in d["rows"]} == {"mgno", "fno", "fno_neuralop", "unet"}
    assert {r["metric"] for r in d["rows"]} == {"rel_l2", "h1", "params", "s_per_epoch", "peak_mem_mb", "infer_ms"}
    assert {r["task"] for r in d["rows"]} == {"darcy_smooth"}
    assert (tmp_path / "operators.png").exists() and "MgNO against the baselines" in (tmp_path / "operators.md").read_text()


def test_merge_keeps_other_tasks_rows_with_their_command():
    from sciml.bench.results import BenchResult

    old = BenchResult("operators", command="sciml bench operators --epochs 8")
    for task in ("darcy_smooth", "ns"):
        old.add(task, "mgno", "rel_l2", 0.5)
    new = BenchResult("operators", command="sciml bench operators --tasks darcy_smooth --merge")
    new.add("darcy_smooth", "mgno", "rel_l2", 0.25, command=new.command)
    kept = operators.keep_previous_rows(new, old.to_dict())
    assert kept == ["ns"]
    assert [(r["task"], r["value"], r["command"]) for r in new.rows] == [
        ("ns", 0.5, "sciml bench operators --epochs 8"), ("darcy_smooth", 0.25, new.command.split(" && ")[1])]
    assert new.command == "sciml bench operators --epochs 8 && sciml bench operators --tasks darcy_smooth --merge"


def test_merge_keeps_the_rows_of_methods_not_rerun():
    from sciml.bench.results import BenchResult

    old = BenchResult("operators", command="sciml bench operators --epochs 8")
    for method in ("mgno", "fno_neuralop"):
        old.add("darcy_smooth", method, "rel_l2", 0.5)
    new = BenchResult("operators", command="sciml bench operators --methods fno_neuralop --merge")
    new.add("darcy_smooth", "fno_neuralop", "rel_l2", 0.25, command=new.command)
    assert operators.keep_previous_rows(new, old.to_dict()) == ["darcy_smooth"]
    assert [(r["method"], r["value"], r["command"]) for r in new.rows] == [
        ("mgno", 0.5, "sciml bench operators --epochs 8"),
        ("fno_neuralop", 0.25, "sciml bench operators --methods fno_neuralop --merge")]


def test_mgno_width_override_changes_only_mgno():
    task = operators.TASKS[0]
    base = operators.models_for(task, 64, "cpu")
    narrow = operators.models_for(task, 64, "cpu", mgno_width=16)
    assert base["mgno"]["width"] == 24 and narrow["mgno"]["width"] == 16  # the CPU preset: the paper's 24
    assert {k: v for k, v in narrow.items() if k != "mgno"} == {k: v for k, v in base.items() if k != "mgno"}
    assert operators.SIZES["cpu"]["mgno_width"] == 24  # the override does not leak into the preset table
