"""`sciml bench lpn`: a declared sweep of inverse-recipe runs; its specs load and run alone, the learned
restoration rows use the denoiser rows' checkpoints, and its page lays out their scores."""
import json
from pathlib import Path

import pytest
import yaml

from sciml.bench.lpn import ALL_TASKS, PRESETS, bm3d_installed
from sciml.bench.runner import BENCHMARKS, run_benchmark
from sciml.cli import main
from sciml.experiment import run_experiment, spec_from_dict
from sciml.inverse.pretrained import pretrained_path

GPU_PAGE = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "lpn_gpu.json"


def dry_run_specs(capsys, *argv):
    assert main(["bench", "lpn", "--dry-run", *argv]) == 0
    return [spec_from_dict(d) for d in yaml.safe_load_all(capsys.readouterr().out) if d]


def test_the_cpu_sweep_measures_the_recipe_defaults(tmp_path, capsys):
    specs = dry_run_specs(capsys, "--runs", str(tmp_path / "runs"))
    n_methods = 4 if bm3d_installed() else 3
    assert len(specs) == 2 + 3 * n_methods + 3                      # 2 nets, 3 tasks x methods, 3 toy losses
    assert all(spec_from_dict(s.to_dict()) == s for s in specs)
    by_name = {s.name: s for s in specs}
    lpn = by_name["denoise-lpn-s0"]
    assert lpn.recipe == "denoiser" and lpn.model == {"name": "lpn"} and lpn.params == {}   # the defaults
    assert by_name["denoise-dncnn-s0"].model == {"name": "dncnn"}
    assert by_name["deblur_noise0.02-tv-s0"].params == {"task": "deblur_noise0.02", "method": "tv"}
    assert by_name["laplace_toy-prox_matching-s0"].params == {"loss": "prox_matching"}
    ct = by_name["ct_sparse-lpn-s0"].params                          # the denoise row's checkpoint, and how it is made
    assert ct["prior"] == str(tmp_path / "runs" / "denoise-lpn-s0" / "lpn.pt")
    assert ct["prior_training"] == {"model": lpn.model, **lpn.params}


def test_pretrained_rows_restore_with_the_shipped_nets_and_train_nothing(capsys):
    specs = dry_run_specs(capsys, "--preset", "gpu", "--pretrained", "--methods", "lpn", "dncnn")
    assert {s.recipe for s in specs} == {"restoration", "laplace_toy"}
    assert {s.params["prior"] for s in specs if s.recipe == "restoration"} == {
        str(pretrained_path("lpn")), str(pretrained_path("dncnn"))}
    gpu = dry_run_specs(capsys, "--preset", "gpu", "--tasks", "denoise")
    assert {s.model["hidden"] for s in gpu} == {64} and all(s.device == "auto" for s in gpu)


def test_a_learned_restoration_spec_of_the_smoke_sweep_runs_alone(tmp_path, capsys):
    """The ct_sparse LPN row runs before (and without) its denoise row: it trains the prior it names."""
    specs = dry_run_specs(capsys, "--preset", "smoke", "--tasks", "ct_sparse", "--methods", "lpn",
                          "--runs", str(tmp_path / "runs"))
    assert [s.name for s in specs] == ["ct_sparse-lpn-s0"]
    scores = run_experiment(specs[0])["scores"]
    assert (tmp_path / "runs" / "denoise-lpn-s0" / "lpn.pt").is_file()
    assert scores["iters"] in PRESETS["smoke"]["restoration"]["iter_grid"] and scores["wall_s"] > 0


@pytest.mark.slow
def test_a_reduced_smoke_run_writes_the_page(tmp_path):
    argv = ["--preset", "smoke", "--tasks", "denoise", "deblur_noise0.02", "laplace_toy", "--methods", "lpn", "tv",
            "--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("lpn"), argv) == 0
    rows = json.loads((tmp_path / "docs" / "lpn_smoke.json").read_text())["rows"]
    assert {r["task"] for r in rows} == {"denoise", "deblur_noise0.02", "laplace_toy"} <= set(ALL_TASKS)
    assert {r["method"] for r in rows if r["task"] == "denoise"} == {"lpn"}
    page = (tmp_path / "docs" / "lpn_smoke.md").read_text()
    for section in ("## Held-out denoising", "## deblur_noise0.02", "LPN minus tv", "Tuned strength / iterations",
                    "## 1-D Laplacian toy", "## Learned prior vs noise level", "lpn_smoke.png"):
        assert section in page, section
    assert (tmp_path / "docs" / "lpn_smoke.png").is_file()


@pytest.mark.slow
def test_cpu_reproduces_the_published_gpu_table_from_the_shipped_weights(tmp_path):
    """`sciml bench lpn --preset gpu --pretrained` on the CPU gives the published lpn_gpu.json PnP rows."""
    argv = ["--preset", "gpu", "--pretrained", "--methods", "lpn", "tv", "dncnn", "--tasks", "deblur_noise0.02",
            "deblur_noise0.04", "ct_sparse", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(BENCHMARKS.get("lpn"), argv) == 0
    pick = lambda rows: {(r["task"], r["method"], r["metric"]): r["value"] for r in rows  # noqa: E731
                         if r["metric"] in ("psnr_db", "ssim") and r["method"] != "bm3d"}
    want = pick(json.loads(GPU_PAGE.read_text())["rows"])
    got = pick(json.loads((tmp_path / "lpn_gpu.json").read_text())["rows"])
    assert set(got) == set(want)
    for key, value in want.items():
        assert abs(got[key] - value) < (0.02 if key[2] == "psnr_db" else 1e-3), key
