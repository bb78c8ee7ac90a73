"""`sciml bench dcdm`: a declared sweep of linear_solver measurements; its specs run alone, its page keeps the
same-run ratios, and the gpu preset is the same benchmark on the device."""
import json
from pathlib import Path

import pytest
import torch
import yaml

from sciml.bench.dcdm import PRESETS, plan
from sciml.bench.dcdm_report import goal_lines
from sciml.bench.results import BenchResult
from sciml.bench.runner import BENCHMARKS, build_parser, run_benchmark
from sciml.cli import main
from sciml.experiment import run_experiment, spec_from_dict
from sciml.linalg.families import FAMILIES
from sciml.linalg.measure import DEVICE_METHODS, METHODS

TOY = ["--preset", "smoke", "--grids", "12x10x8", "16x16", "--families", "obstacles", "--methods", "cg", "mg_pcg",
       "amg_sa", "--repeats", "1", "--threads", "1"]


def run_dcdm(argv, tmp_path):
    assert run_benchmark(BENCHMARKS.get("dcdm"), [*argv, "--out", str(tmp_path / "docs"),
                                                  "--runs", str(tmp_path / "runs")]) == 0


def dry_specs(argv, capsys):
    assert main(["bench", "dcdm", "--dry-run", *argv]) == 0
    return [spec_from_dict(d) for d in yaml.safe_load_all(capsys.readouterr().out) if d]


def test_the_default_is_two_threads():
    assert build_parser(BENCHMARKS.get("dcdm")).parse_args([]).threads == 2


def test_cpu_dry_run_is_the_published_sweep_of_specs_that_load(capsys, tmp_path):
    specs = dry_specs(["--runs", str(tmp_path)], capsys)
    published = json.loads(Path("docs/benchmarks/dcdm.json").read_text())["rows"]
    cells = {(r["task"], r["method"]) for r in published}
    assert {(s.name.split("-")[0], s.name.split("-")[1]) for s in specs} == cells   # the page's cells, once each
    assert len(specs) == len(cells) == 155
    assert all(s.recipe == "linear_solver" and s.device == "cpu" and s.params["threads"] == 2 for s in specs)
    fast = {s.params["method"]: s.params["repeats"] for s in specs}
    assert fast == {m: 3 if m in ("mg_pcg", "mg_learned", "amg_sa") else 1 for m in METHODS}
    assert all(spec_from_dict(s.to_dict()) == s for s in specs)


def test_a_dry_run_spec_runs_alone_with_sciml_train(capsys, tmp_path):
    (spec,) = dry_specs(["--grids", "16,14,12", "--families", "obstacles", "--methods", "mg_pcg", "--runs",
                         str(tmp_path / "runs")], capsys)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    assert main(["train", str(path)]) == 0
    scores = json.loads(capsys.readouterr().out.split("scores: ")[1].splitlines()[0])
    measured = json.loads((tmp_path / "runs" / "obstacles_16x14x12-mg_pcg" / "measurement.json").read_text())
    assert scores["iterations"] == measured["median"]["iterations"] and 3 <= scores["iterations"] <= 20
    assert scores["repeats"] == 3 and len(measured["runs"]) == 3 and measured["threads"] == 2


def test_the_plan_keeps_slow_rows_and_dcdm_where_they_finish():
    big, small = (128, 128, 128), (64, 64, 64)
    assert plan(big, "lognormal", METHODS, 10**6) == ["amg_sa", "mg_pcg", "mg_learned"]
    assert plan(big, "obstacles", METHODS, 10**6) == [m for m in METHODS if m != "dcdm_cnn"]
    assert plan(small, "obstacles", METHODS, 10**6) == list(METHODS)
    assert "dcdm_cnn" not in plan((256, 256), "obstacles", METHODS, 10**6)
    assert "dcdm_cnn" not in plan(small, "constant", METHODS, 10**6)


def test_a_reduced_run_writes_rows_ratios_and_plot(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the process's count differs from the run's --threads 1
    try:
        run_dcdm(TOY, tmp_path)
    finally:
        torch.set_num_threads(before)
    data = json.loads((tmp_path / "docs" / "dcdm_smoke.json").read_text())
    assert data["meta"] == {"preset": "smoke", "threads": 1, "repeats": 1, "cap_s": 20.0, "rtol": 1e-6}
    assert data["machine"].endswith("(1 threads)")  # the measurements' count, not the process's
    its = {(r["task"], r["method"]): r["value"] for r in data["rows"] if r["metric"] == "iterations"}
    assert its[("obstacles_16x16", "mg_pcg")] < its[("obstacles_16x16", "cg")] / 2
    assert {r["grid"] == [12, 10, 8] for r in data["rows"] if r["task"] == "obstacles_12x10x8"} == {True}
    page = (tmp_path / "docs" / "dcdm_smoke.md").read_text()
    assert "| obstacles_12x10x8 |" in page and "MG / SA" in page and "## 16x16" in page
    assert "Reused" not in page
    assert (tmp_path / "docs" / "dcdm_smoke.png").stat().st_size > 0


def test_rows_reused_from_an_earlier_run_enter_no_ratio(tmp_path):
    run_dcdm(TOY, tmp_path)
    run_dcdm(TOY, tmp_path)   # every row reused: their timings come from another run
    page = (tmp_path / "docs" / "dcdm_smoke.md").read_text()
    assert "Reused from an earlier run" in page and "- obstacles_16x16 mg_pcg" in page
    assert "| obstacles_16x16 | — | — | — | — | — | — | — |" in page


def test_gpu_preset_without_cuda_is_a_one_line_user_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "dcdm", "--preset", "gpu", "--out", str(tmp_path), "--runs", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sciml: error:") and "--device cpu" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv, message", [(["--device", "cpu"], "--device goes with --preset gpu"),
                                           (["--preset", "gpu", "--methods", "ic0_pcg"], "run on the CPU only"),
                                           (["--repeats", "0"], "must be >= 1")])
def test_options_that_do_not_fit_the_preset_are_user_errors(argv, message, capsys, tmp_path):
    assert main(["bench", "dcdm", *argv, "--dry-run"]) == 2
    assert message in capsys.readouterr().err


def test_gpu_preset_dry_run_declares_the_device_rows(capsys, tmp_path):
    specs = dry_specs(["--preset", "gpu", "--runs", str(tmp_path)], capsys)
    assert {s.params["method"] for s in specs} == set(DEVICE_METHODS)
    assert all(s.device == "cuda" and s.params["torch_loop"] and s.params["warmup"] for s in specs)
    assert all(s.params["repeat_below_s"] == 2.0 and s.params["cap_s"] == PRESETS["gpu"]["cap_s"] for s in specs)
    assert specs[0].name == "constant_128x128x128-cg_cuda"           # the goal's grid runs first
    # 6 grids x 5 families x 4 methods, and DCDM on the 4 3-D grids x 2 families
    assert len({s.name for s in specs}) == len(specs) == 6 * len(FAMILIES) * 4 + 4 * 2


def test_gpu_preset_rehearsed_on_the_cpu_writes_its_page(tmp_path):
    run_dcdm(["--preset", "gpu", "--device", "cpu", "--grids", "12x10x8", "--families", "constant", "--methods",
              "cg", "mg_pcg", "--repeats", "2", "--threads", "1"], tmp_path)
    data = json.loads((tmp_path / "docs" / "dcdm_gpu.json").read_text())
    its = {r["method"]: r["value"] for r in data["rows"] if r["metric"] == "iterations"}
    assert set(its) == {"cg", "mg_pcg"} and its["mg_pcg"] < its["cg"]
    repeats = {r["method"]: r["value"] for r in data["rows"] if r["metric"] == "repeats"}
    assert repeats == {"cg": 2, "mg_pcg": 2}   # both well under 2 s: repeated
    page = (tmp_path / "docs" / "dcdm_gpu.md").read_text()
    assert "## Goal: learned solver vs GPU CG at 128^3" in page and "| constant | cg |" in page


def test_goal_table_reads_the_speedups_from_the_rows():
    res = BenchResult("dcdm_gpu", command="test")
    for method, total, solve in (("cg_cuda", 2.0, 1.9), ("mg_learned_cuda", 0.25, 0.1), ("mg_pcg_cuda", 0.5, 0.4)):
        for fam, scale in (("constant", 1.0), ("inclusions", 4.0)):
            for metric, v in (("total_s", total * (scale if method == "cg_cuda" else 1.0)), ("solve_s", solve)):
                res.add(f"{fam}_128x128x128", method, metric, v, family=fam, grid=[128, 128, 128])
    lines = goal_lines(res.rows, "cuda")
    assert "| constant | 2 | 0.25 | 0.5 | 8 | 4 | 19 | yes |" in lines
    assert "| inclusions | 8 | 0.25 | 0.5 | 32 | 16 | 19 | yes |" in lines


@pytest.mark.parametrize("method", ["mg_pcg", "mg_learned", "amg_rs"])
def test_the_recipe_reproduces_the_published_iterations(method, tmp_path):
    """The library measurement needs the iterations of the published page's cell (times depend on the machine)."""
    published = json.loads(Path("docs/benchmarks/dcdm.json").read_text())["rows"]
    want = next(r["value"] for r in published if (r["task"], r["method"], r["metric"]) ==
                ("obstacles_256x256", method, "iterations"))
    spec = spec_from_dict({"recipe": "linear_solver", "name": "t", "out_dir": str(tmp_path), "device": "cpu",
                           "params": {"family": "obstacles", "grid": [256, 256], "method": method, "threads": 1}})
    assert run_experiment(spec)["scores"]["iterations"] == want
