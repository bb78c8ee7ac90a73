"""`sciml bench operators`: a declared sweep of field recipe runs; its specs run alone, its page lays out their
scores."""
import json
from pathlib import Path

import pytest
import yaml

from sciml.bench.operators import ABLATIONS, DEFAULT_METHODS, METHODS, PRESETS, TASKS, task_data
from sciml.bench.operators_report import darcy_target, per_seed_ratios, verdict
from sciml.bench.results import BenchResult
from sciml.bench.runner import BENCHMARKS, run_benchmark
from sciml.cli import main
from sciml.experiment import spec_from_dict


def dry_run_docs(capsys, *argv):
    capsys.readouterr()
    assert main(["bench", "operators", "--dry-run", *argv]) == 0
    return [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]


def dry_run_specs(capsys, *argv):
    return [spec_from_dict(d) for d in dry_run_docs(capsys, *argv)]


def test_main_rows_measure_the_recipe_defaults_and_each_ablation_changes_one_thing(capsys, tmp_path):
    docs = dry_run_docs(capsys, "--runs", str(tmp_path), "--methods", *METHODS, *ABLATIONS, "--seeds", "0", "1")
    assert len(docs) == len(TASKS) * (len(METHODS) + len(ABLATIONS)) * 2
    for doc in docs:
        s = spec_from_dict(doc)
        assert s.recipe == "field" and spec_from_dict(s.to_dict()) == s
        if doc["name"].split("-")[1] in METHODS:  # the protocol is the recipe's: not set by the spec
            assert "loss" not in doc and "normalize" not in doc["data"] and "params" not in doc
            assert set(doc["train"]) == {"epochs", "batch_size", "lr", "progress"}
            assert (s.train.optimizer, s.train.scheduler, s.train.grad_clip) == ("adam", "onecycle", 0.0)
    by_name = {d["name"]: d for d in docs}
    mgno = by_name["darcy_smooth-mgno-s1"]
    for ablation, (section, change) in {"mgno_bilinear": ("model", {"prolongation": "bilinear"}),
                                        "mgno_l2_h1": ("loss", {"name": "l2_h1"}),
                                        "mgno_scalar_norm": ("data", {"normalize": True})}.items():
        spec = by_name[f"darcy_smooth-{ablation}-s1"]
        assert spec[section] == {**mgno.get(section, {}), **change}
        assert {k: v for k, v in spec.items() if k not in (section, "name", "out_dir")} == \
            {k: v for k, v in mgno.items() if k not in (section, "name", "out_dir")}
    default = dry_run_docs(capsys, "--runs", str(tmp_path))
    assert {d["name"].split("-")[1] for d in default} == set(DEFAULT_METHODS) and {d["seed"] for d in default} == {0}


def test_the_tasks_data_are_the_published_pages():
    """Darcy 1000 + 100 pairs at 64^2 (rough: its own draws), Helmholtz and NS 400 + 100 at 32^2; the NS pairs are
    11 consecutive steps of each of 50 trajectories, in trajectory order, the last 100 held out."""
    p, tasks = PRESETS["cpu"], {t.name: t for t in TASKS}
    smooth, rough = (task_data(tasks[name], p, 3, Path("runs")) for name in ("darcy_smooth", "darcy_rough"))
    assert smooth["params"] == {"n": 1100, "res": 64, "seed": 3} and rough["params"]["seed"] == 10_003
    ns = task_data(tasks["ns"], p, 0, Path("runs"))
    assert ns["params"] == {"n": 500, "res": 32, "seed": 0, "trajectories": 50, "pairs_per_trajectory": 11}
    assert ns["periodic"] and not ns["split_shuffle"] and round(ns["split"]["test"] * 500) == 100
    assert smooth["cache"] == str(Path("runs") / "data" / "darcy_smooth-s3.nc") != rough["cache"]  # per task, seed


def test_every_method_of_a_task_and_seed_reads_one_data_file_and_epochs_override_the_preset(capsys, tmp_path):
    docs = dry_run_docs(capsys, "--runs", str(tmp_path), "--tasks", "ns", "--seeds", "0", "1", "--epochs", "3")
    caches = {(d["name"].split("-")[2], d["data"]["cache"]) for d in docs}
    assert caches == {("s0", str(tmp_path / "data" / "ns-s0.nc")), ("s1", str(tmp_path / "data" / "ns-s1.nc"))}
    assert {d["train"]["epochs"] for d in docs} == {3}


def test_a_dry_run_spec_trains_alone_with_sciml_train(capsys, tmp_path):
    spec = next(s for s in dry_run_specs(capsys, "--preset", "smoke", "--runs", str(tmp_path / "runs"),
                                         "--tasks", "darcy_smooth", "--methods", "mgno"))
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    assert main(["train", str(path)]) == 0
    scores = json.loads(capsys.readouterr().out.split("scores: ")[1].splitlines()[0])
    assert 0 < scores["rel_l2"] < 1 and scores["params"] > 0 and scores["epochs"] == 1


@pytest.mark.slow
def test_a_reduced_smoke_run_writes_the_page(tmp_path):
    argv = ["--preset", "smoke", "--tasks", "darcy_smooth", "--methods", "mgno", "fno", "unet",
            "--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("operators"), argv) == 0
    d = json.loads((tmp_path / "docs" / "operators_smoke.json").read_text())
    assert {r["method"] for r in d["rows"]} == {"mgno", "fno", "unet"}
    metrics = {r["metric"] for r in d["rows"]}
    assert {"rel_l2", "rel_h1", "params", "gmacs", "s_per_epoch", "epochs", "peak_mem_mb", "infer_ms"} <= metrics
    page = (tmp_path / "docs" / "operators_smoke.md").read_text()
    assert "## darcy_smooth" in page and "MgNO against the baselines" in page and "| darcy_smooth | unet |" in page
    assert (tmp_path / "docs" / "operators_smoke.png").is_file()


def test_the_darcy_target_is_on_the_ratio_of_the_means_over_every_seed():
    res = BenchResult("operators", command="sciml bench operators --seeds 0 1 2")
    for seed, (m, f) in enumerate([(0.010, 0.030), (0.020, 0.030), (0.030, 0.090)]):
        for method, err, h1, params in (("mgno", m, 0.04, 4.7e5), ("fno", f, 0.08, 1e6)):
            res.add("darcy_smooth", method, "rel_l2", err, seed=seed)
            res.add("darcy_smooth", method, "rel_h1", h1, seed=seed)
            res.add("darcy_smooth", method, "params", params, seed=seed)
    mean, std, n = res.summary()[("darcy_smooth", "mgno", "rel_l2")]
    assert n == 3 and mean == pytest.approx(0.02) and std == pytest.approx((2 / 3) ** 0.5 * 0.01)  # population std
    assert per_seed_ratios(res, "darcy_smooth") == pytest.approx({0: 3.0, 1: 1.5, 2: 3.0})
    # the target is on the ratio of the means (0.05 / 0.02), not the mean of the per-seed ratios (2.5 too here)
    text = darcy_target(res)
    assert "= 2.50" in text and "3 / 3 seeds" in text and "**met**" in text
    res.add("darcy_smooth", "unet", "rel_l2", 0.01, seed=0)
    res.add("darcy_smooth", "unet", "rel_h1", 0.05, seed=0)
    res.add("darcy_smooth", "unet", "params", 2.35e5, seed=0)
    assert "| darcy_smooth | unet | 0.50 | 1.25 | 0.50 | yes (L2) |" in verdict(res)
