"""`sciml bench sinenet`: a declared sweep of trajectory recipe runs; its specs run alone, its page lays out their scores."""
import json

import pytest
import torch
import yaml

from sciml.bench.runner import BENCHMARKS, run_benchmark
from sciml.bench.sinenet import ABLATIONS, METHODS, method_model
from sciml.cli import main
from sciml.evaluate.trajectory import next_frame_model, split_counts
from sciml.experiment import spec_from_dict
from sciml.models import count_parameters
from sciml.utils.cost import gmacs

ISSUE_METHODS = ["unet", "sinenet-2", "sinenet-4", "sinenet-8", "unet-compute-matched", "sinenet-8-zeropad", "fno"]


def dry_run_specs(capsys, *argv):
    assert main(["bench", "sinenet", "--dry-run", *argv]) == 0
    return [spec_from_dict(d) for d in yaml.safe_load_all(capsys.readouterr().out) if d]


def test_the_cpu_sweep_is_the_seven_methods_at_the_recipe_defaults(capsys, tmp_path):
    specs = dry_run_specs(capsys, "--runs", str(tmp_path))
    assert len(specs) == (7 + 6) * 3  # ns: seven methods, smoke: no zero-padded SineNet; seeds 0, 1, 2
    assert all(s.recipe == "trajectory" and spec_from_dict(s.to_dict()) == s for s in specs)
    for s in specs:  # the main rows measure the recipe's defaults: they set sizes and models only
        assert set(s.params) == {"variables", "history", "split", "rollout_steps"}
        assert set(s.train) == {"epochs", "batch_size", "progress"}
    ns = next(s for s in specs if s.name == "ns-sinenet-8-s2")
    assert ns.seed == 2 and ns.params["split"] == {"train": 96, "test": 8} and ns.train["epochs"] == 8
    assert ns.data["params"] == {"n": 104, "res": 32, "frames": 16, "seed": 123}
    assert ns.model == {"name": "sinenet", "channels": 8, "padding_mode": "circular", "waves": 8}


def test_each_ablation_changes_one_setting_of_its_main_row(capsys, tmp_path):
    specs = {s.name: s for s in dry_run_specs(capsys, "--systems", "ns", "--seeds", "0", "--ablations",
                                              *ABLATIONS, "--runs", str(tmp_path))}
    main_row = specs["ns-sinenet-8-s0"].to_dict()

    def diff(name):
        d = specs[name].to_dict()
        flat = lambda x, p="": ({k2: v2 for k, v in x.items() for k2, v2 in flat(v, f"{p}{k}.").items()}  # noqa: E731
                                if isinstance(x, dict) else {p[:-1]: x})
        a, b = flat(main_row), flat(d)
        return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} - {"name", "out_dir"}

    assert diff("ns-sinenet-8-state-target-s0") == {"params.target"}
    assert diff("ns-sinenet-8-lr-5e-4-s0") == {"train.lr"}
    assert diff("ns-sinenet-8-frame-dt-x2-s0") == {"data.params.frame_dt"}
    assert specs["ns-sinenet-8-frame-dt-x2-s0"].data["params"]["frame_dt"] == 2.0
    assert diff("ns-sinenet-8-steps-x2-s0") == {"train.epochs"} and specs["ns-unet-steps-x2-s0"].train["epochs"] == 16
    assert diff("ns-sinenet-8-val-rollout-selection-s0") == {"params.select", "params.split.train", "params.split.val"}
    assert specs["ns-unet-val-rollout-selection-s0"].params["split"] == {"train": 92, "val": 4, "test": 8}


@pytest.mark.parametrize("preset", ["cpu", "gpu", "smoke"])
def test_every_ablation_of_every_preset_has_a_split_its_data_can_give(preset, capsys, tmp_path):
    specs = dry_run_specs(capsys, "--preset", preset, "--seeds", "0", "--ablations", *ABLATIONS,
                          "--runs", str(tmp_path))
    for s in specs:
        counts = split_counts(s.data["params"]["n"], s.params["split"])
        assert counts["train"] >= 1 and counts.get("val", 1) >= 1, (s.name, counts)


def test_epochs_resize_every_row_and_the_ablations_follow(capsys, tmp_path):
    specs = {s.name: s for s in dry_run_specs(capsys, "--preset", "gpu", "--epochs", "3", "--methods", "unet",
                                              "--seeds", "0", "--ablations", "steps-x2", "--runs", str(tmp_path))}
    assert specs["ns-unet-s0"].train["epochs"] == specs["smoke-unet-s0"].train["epochs"] == 3
    assert specs["ns-unet-steps-x2-s0"].train["epochs"] == 6 and specs["ns-unet-s0"].device == "auto"
    assert specs["ns-unet-s0"].data["params"]["device"] == "cuda"  # the gpu preset generates on the GPU


def test_methods_are_parameter_matched_and_the_wide_unet_compute_matched():
    cfgs = {m: method_model(m, "ns", 4, 32) for m in METHODS}
    assert list(cfgs) == ISSUE_METHODS
    assert method_model("sinenet-8-zeropad", "smoke", 4, 32) is None  # zero padding is every model's in a box
    models = {m: next_frame_model(c, "state", 1, 4) for m, c in cfgs.items()}
    p1 = count_parameters(models["unet"])
    assert all(abs(count_parameters(models[k]) / p1 - 1) < 0.02 for k in ("sinenet-2", "sinenet-4", "sinenet-8"))
    x = torch.randn(1, 4, 32, 32)
    g8, gcm = gmacs(models["sinenet-8"], x), gmacs(models["unet-compute-matched"], x)
    assert abs(gcm / g8 - 1) < 0.25 and gcm > 2 * gmacs(models["unet"], x)
    assert cfgs["sinenet-8-zeropad"]["padding_mode"] == "zeros" and cfgs["sinenet-8"]["padding_mode"] == "circular"
    assert method_model("fno", "smoke", 4, 32)["padding"] == 8 and cfgs["fno"]["padding"] == 0


def test_a_dry_run_spec_trains_alone_with_sciml_train(capsys, tmp_path):
    spec = dry_run_specs(capsys, "--preset", "smoke", "--systems", "smoke", "--methods", "unet", "--seeds", "1",
                         "--runs", str(tmp_path / "runs"))[0]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec.to_dict()))
    assert main(["train", str(tmp_path / "spec.yaml")]) == 0
    scores = json.loads((tmp_path / "runs" / "smoke-unet-s1" / "history.json").read_text())
    assert len(scores) == 1 and (tmp_path / "runs" / "smoke-unet-s1" / "eval.nc").is_file()


def test_k_trend_line_reports_monotonicity_per_seed():
    from sciml.bench.sinenet_report import k_trend

    rows = [{"task": "ns", "method": m, "metric": "rollout_rel_l2", "seed": s, "value": v}
            for s, vals in ((0, (4, 3, 2, 1)), (1, (4, 3, 5, 1)))
            for m, v in zip(("unet", "sinenet-2", "sinenet-4", "sinenet-8"), vals)]
    line = k_trend(rows, "ns")
    assert "seed 0: K=1 4.0000" in line and line.count("(falls monotonically)") == 1 and "(not monotone)" in line


def test_the_page_from_rows_alone_has_the_tables_and_data_notes(tmp_path):
    """Rows without run folders (e.g. a page rendered while the first runs go): tables, K trend, notes, no figures."""
    import argparse

    from sciml.bench.results import BenchResult
    from sciml.bench.sinenet_report import report

    res = BenchResult("sinenet", command="sciml bench sinenet")
    for seed, (u, s8) in enumerate(((0.0132, 0.0125), (0.0140, 0.0130))):
        for method, value in (("unet", u), ("sinenet-8", s8)):
            res.add("ns", method, "rollout_rel_l2", value, seed=seed)
            res.add("ns", method, "persistence_rollout_rel_l2", 0.4, seed=seed)
            for metric, v in (("persistence_one_step_rel_l2", 0.09), ("n_train", 96), ("n_test", 8),
                              ("train_windows", 1248), ("epochs", 8), ("optimizer_steps", 2496)):
                res.add("ns", method, metric, v, seed=seed)
        res.add("ns", "unet-lr-5e-4", "rollout_rel_l2", 0.02, seed=seed, ablation="lr-5e-4")
    args = argparse.Namespace(preset="cpu", runs=tmp_path / "runs", out=tmp_path)
    page = report(res, args)
    assert "| unet | — | 0.0136 ± 0.0004 |" in page and "| sinenet-8 | — | 0.01275 ± 0.00025 |" in page
    assert "Persistence (copy the last input frame), for scale: one-step 0.0900, rollout 0.4000" in page
    assert "training on 96 trajectories (1248 windows), testing on 8 others; 8 epochs, 2496 optimiser steps" in page
    assert "### ns: one setting changed" in page and "`lr-5e-4`: peak learning rate 5e-4" in page
    assert "| unet-lr-5e-4 |" not in page.split("### ns")[0]  # ablations stay out of the main table
    assert ".png" not in page and not list(tmp_path.glob("*.png"))


@pytest.mark.slow
def test_a_reduced_smoke_run_writes_the_page_its_figures_and_resumes(tmp_path):
    argv = ["--preset", "smoke", "--systems", "ns", "--methods", "unet", "sinenet-8", "--seeds", "0",
            "--ablations", "state-target", "--ablation-methods", "unet",
            "--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("sinenet"), argv) == 0
    d = json.loads((tmp_path / "docs" / "sinenet_smoke.json").read_text())
    got = {(r["method"], r["metric"]): r["value"] for r in d["rows"]}
    assert {m for m, _ in got} == {"unet", "sinenet-8", "unet-state-target"}
    for m in ("unet", "sinenet-8"):  # increments trained from persistence: better than persistence
        assert 0 < got[(m, "rollout_rel_l2")] < got[(m, "persistence_rollout_rel_l2")]
    assert got[("unet", "params")] == got[("unet-state-target", "params")]
    page = (tmp_path / "docs" / "sinenet_smoke.md").read_text()
    for text in ("## ns", "| unet |", "| sinenet-8 |", "K trend of rollout_rel_l2", "Persistence (copy the last",
                 "### ns: one setting changed", "| unet-state-target |", "sinenet_smoke.png",
                 "sinenet_smoke_fields.png"):
        assert text in page, text
    assert (tmp_path / "docs" / "sinenet_smoke.png").is_file() and (tmp_path / "docs" / "sinenet_smoke_fields.png").is_file()
    assert not (tmp_path / "docs" / "sinenet.png").exists()  # the cpu page's figures are not overwritten
    before = (tmp_path / "runs" / "ns-unet-s0" / "last.pt").stat().st_mtime_ns
    assert run_benchmark(BENCHMARKS.get("sinenet"), argv) == 0  # every row reused
    assert (tmp_path / "runs" / "ns-unet-s0" / "last.pt").stat().st_mtime_ns == before


def test_budget_crossover_example_keeps_the_96_trajectory_runs_once_per_seed():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "sinenet_budget_crossover.py"
    spec = importlib.util.spec_from_file_location("crossover", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)

    def row(method, seed, value, metric="rollout_rel_l2"):
        return dict(task="ns", method=method, metric=metric, value=value, seed=seed)

    checks = [dict(command="sciml bench sinenet --n-train 96 --epochs 2", rows=[row("unet", 0, 0.3)]),
              dict(command="sciml bench sinenet --n-train 24 --epochs 8", rows=[row("unet", 0, 9.0)]),
              dict(command="sciml bench sinenet --epochs 12", rows=[row("unet", 0, 9.0)]),       # older 24-pool run
              dict(command="sciml bench sinenet --epochs 16", n_train=96, steps=4992, rows=[row("sinenet-8", 1, 0.1)]),
              dict(command="sciml bench sinenet --n-train 96 --epochs 8", rows=[row("unet", 0, 0.2)])]
    assert [ex.check_steps(c) for c in checks] == [624, None, None, 4992, 2496]
    table = [row("unet", 0, 0.2), row("unet", 2, 0.25), row("fno", 0, 9.0)]       # seed 0 also in the checks
    got = ex.rollout_by_steps([(ex.check_steps(c), c["rows"]) for c in checks] + [(2496, table)])
    assert {m: dict(v) for m, v in got.items()} == {"unet": {624: [0.3], 2496: [0.2, 0.25]},
                                                   "sinenet-8": {4992: [0.1]}}
    # the table's steps: from its rows' scores, or from the data notes of a page that kept them in its meta
    scored = table + [row("unet", 0, 2496.0, "optimizer_steps"), row("unet", 0, 96.0, "n_train")]
    assert ex.table_steps({"rows": scored}) == 2496
    assert ex.table_steps({"rows": scored[:-1] + [row("unet", 0, 24.0, "n_train")]}) is None
    assert ex.table_steps({"rows": [], "meta": {"notes": {"ns": {"steps": 2496, "n_train": 96}}}}) == 2496
