"""Smoke test of ``sciml bench operators`` (the quick preset, one task): the JSON has the issue's shape."""
import json

import pytest

from sciml.bench import operators
from sciml.bench.results import keep_previous_rows


@pytest.mark.slow
def test_quick_preset_writes_the_issue_shape(tmp_path):
    assert operators.main(["--preset", "quick", "--tasks", "darcy_smooth", "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "operators.json").read_text())
    assert d["benchmark"] == "operators"
    assert {r["method"] for r in d["rows"]} == {"mgno", "fno", "fno_neuralop", "unet"}
    # the issue's six metrics, plus the epochs each model trained (recorded since --budget-s sizes them)
    assert {r["metric"] for r in d["rows"]} == {"rel_l2", "h1", "params", "s_per_epoch", "peak_mem_mb", "infer_ms",
                                                "epochs"}
    assert {r["task"] for r in d["rows"]} == {"darcy_smooth"}
    assert (tmp_path / "operators.png").exists() and "MgNO against the baselines" in (tmp_path / "operators.md").read_text()


def test_merge_keeps_other_tasks_rows_with_their_command():
    from sciml.bench.results import BenchResult

    old = BenchResult("operators", command="sciml bench operators --epochs 8")
    for task in ("darcy_smooth", "ns"):
        old.add(task, "mgno", "rel_l2", 0.5)
    new = BenchResult("operators", command="sciml bench operators --tasks darcy_smooth --merge")
    new.add("darcy_smooth", "mgno", "rel_l2", 0.25, command=new.command)
    kept = keep_previous_rows(new, old.to_dict())
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
    assert keep_previous_rows(new, old.to_dict()) == ["darcy_smooth"]
    assert [(r["method"], r["value"], r["command"]) for r in new.rows] == [
        ("mgno", 0.5, "sciml bench operators --epochs 8"),
        ("fno_neuralop", 0.25, "sciml bench operators --methods fno_neuralop --merge")]


def test_mgno_width_override_changes_only_mgno():
    task = operators.TASKS[0]
    base = operators.models_for(task, 64, "cpu")
    narrow = operators.models_for(task, 64, "cpu", mgno_width=16)
    assert base["mgno"]["width"] == 24 and narrow["mgno"]["width"] == 16  # the CPU preset: the paper's 24
    assert narrow["mgno_bilinear"] == dict(narrow["mgno"], prolongation="bilinear")  # the ablation follows mgno
    assert {k: v for k, v in narrow.items() if not k.startswith("mgno")} == {
        k: v for k, v in base.items() if not k.startswith("mgno")}
    assert operators.SIZES["cpu"]["mgno_width"] == 24  # the override does not leak into the preset table


def test_merge_adds_a_new_seed_and_the_mean_is_over_all_seeds():
    """A seed-2 run merged into a seed-0/1 file keeps the earlier seeds (it used to replace the method's rows)."""
    from sciml.bench.operators_report import darcy_target, per_seed_ratios
    from sciml.bench.results import BenchResult

    old = BenchResult("operators", command="sciml bench operators --seeds 2")
    for seed, (m, f) in enumerate([(0.010, 0.030), (0.020, 0.030)]):
        old.add("darcy_smooth", "mgno", "rel_l2", m, seed=seed)
        old.add("darcy_smooth", "fno", "rel_l2", f, seed=seed)
        for method, h1, params in (("mgno", 0.04, 4.7e5), ("fno", 0.08, 1e6)):
            old.add("darcy_smooth", method, "h1", h1, seed=seed)
            old.add("darcy_smooth", method, "params", params, seed=seed)
    new = BenchResult("operators", command="sciml bench operators --first-seed 2 --merge")
    new.add("darcy_smooth", "mgno", "rel_l2", 0.030, seed=2, command=new.command)
    new.add("darcy_smooth", "fno", "rel_l2", 0.090, seed=2, command=new.command)
    assert keep_previous_rows(new, old.to_dict()) == ["darcy_smooth"]
    assert sorted(r["seed"] for r in new.rows if r["method"] == "mgno" and r["metric"] == "rel_l2") == [0, 1, 2]
    mean, std, n = new.summary()[("darcy_smooth", "mgno", "rel_l2")]
    assert n == 3 and abs(mean - 0.02) < 1e-12 and abs(std - (2 / 3) ** 0.5 * 0.01) < 1e-12  # population std
    assert abs(new.summary()[("darcy_smooth", "fno", "rel_l2")][0] - 0.05) < 1e-12
    assert per_seed_ratios(new, "darcy_smooth") == pytest.approx({0: 3.0, 1: 1.5, 2: 3.0})
    # the target is on the ratio of the means (0.05 / 0.02), not the mean of the per-seed ratios (2.5 too here)
    assert "= 2.50" in darcy_target(new) and "3 / 3 seeds" in darcy_target(new) and "**met**" in darcy_target(new)
    # rerunning seed 2 replaces only seed 2's rows
    again = BenchResult("operators", command="sciml bench operators --first-seed 2 --merge")
    again.add("darcy_smooth", "mgno", "rel_l2", 0.5, seed=2, command=again.command)
    keep_previous_rows(again, new.to_dict())
    assert sorted((r["seed"], r["value"]) for r in again.rows if r["method"] == "mgno" and r["metric"] == "rel_l2") == [(0, 0.01), (1, 0.02), (2, 0.5)]


def test_first_seed_runs_the_seeds_from_it(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(operators, "run_task", lambda task, p, seed, *a, **k: seen.append((task.name, seed)))
    operators.main(["--tasks", "darcy_smooth", "--first-seed", "2", "--seeds", "2", "--out", str(tmp_path)])
    assert seen == [("darcy_smooth", 2), ("darcy_smooth", 3)]
