"""The one benchmark runner: a declared sweep of specs runs through run_experiment, resumes, dry-runs."""
import argparse
import json

import pytest
import yaml

from sciml.bench.runner import BENCHMARKS, Benchmark, Row, available, build_parser, dry_run, run, run_benchmark
from sciml.cli import main
from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec, load_experiment, spec_from_dict

TINY = {"problem": "helmholtz2d", "model": {"name": "pig", "n_gaussians": 8, "channels": 2, "hidden": [4]},
        "adam_steps": 4, "n_colloc": 16, "eval_every": 2}


def toy_sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    return [Row("helmholtz2d", "pig", ExperimentSpec(recipe="pinn", name=f"toy_s{seed}", seed=seed, device="cpu",
                                                     out_dir=str(args.runs / f"seed{seed}"), params=dict(TINY)))
            for seed in (0, 1)]


def toy_report(res, args) -> str:
    return res.markdown_table("helmholtz2d", ["rel_l2"])


TOY = Benchmark("toy", "a toy sweep", toy_sweep, toy_report)


def test_a_sweep_runs_writes_its_page_and_resumes(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(TOY, argv) == 0
    first = json.loads((tmp_path / "docs" / "toy.json").read_text())
    errs = [r["value"] for r in first["rows"] if r["metric"] == "rel_l2"]
    assert len(errs) == 2 and all(0 < e < 10 for e in errs) and errs[0] != errs[1]  # two seeds, two fits
    assert "| pig |" in (tmp_path / "docs" / "toy.md").read_text()
    assert capsys.readouterr().out.count("ran") == 2
    assert run_benchmark(TOY, argv) == 0  # finished specs are reused, with the same scores
    assert capsys.readouterr().out.count("reused") == 2
    again = json.loads((tmp_path / "docs" / "toy.json").read_text())
    assert [r["value"] for r in again["rows"] if r["metric"] == "rel_l2"] == errs
    assert run_benchmark(TOY, argv + ["--fresh"]) == 0  # --fresh reruns; same seed, same score
    assert capsys.readouterr().out.count("ran") == 2
    fresh = json.loads((tmp_path / "docs" / "toy.json").read_text())
    assert [r["value"] for r in fresh["rows"] if r["metric"] == "rel_l2"] == pytest.approx(errs, rel=1e-6)


def test_a_changed_spec_is_not_reused(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]
    assert run_benchmark(TOY, argv) == 0
    TINY["adam_steps"] = 6
    try:
        assert run_benchmark(TOY, argv) == 0
    finally:
        TINY["adam_steps"] = 4
    assert capsys.readouterr().out.count("ran") == 4


def test_a_run_folder_moved_under_other_runs_is_reused(tmp_path, capsys):
    assert run_benchmark(TOY, ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")]) == 0
    (tmp_path / "runs").rename(tmp_path / "moved")
    assert run_benchmark(TOY, ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "moved")]) == 0
    assert capsys.readouterr().out.count("reused") == 2


def test_dry_run_prints_specs_that_load_and_run_alone(tmp_path, capsys):
    assert run_benchmark(TOY, ["--dry-run", "--runs", str(tmp_path / "runs")]) == 0
    docs = capsys.readouterr().out.split("---\n")
    assert len(docs) == 2 and not (tmp_path / "runs").exists()
    (tmp_path / "s.yaml").write_text(docs[1])
    spec = load_experiment(tmp_path / "s.yaml")
    assert spec.recipe == "pinn" and spec.seed == 1 and spec.params["adam_steps"] == 4
    assert main(["train", str(tmp_path / "s.yaml")]) == 0  # the spec runs alone through sciml train
    assert (tmp_path / "runs" / "seed1" / "final.pt").exists()


def test_spec_yaml_round_trip():
    spec = toy_sweep("cpu", argparse.Namespace(runs=__import__("pathlib").Path("r")))[0].spec
    assert spec_from_dict(yaml.safe_load(dry_run([Row("t", "m", spec)]))) == spec_from_dict(spec.to_dict())


# the options each benchmark declares beyond the runner's own
DECLARED_OPTIONS = {
    "climatebench": {"--data", "--members", "--methods", "--seeds"},
    "dcdm": {"--grids", "--families", "--methods", "--threads", "--repeats", "--cap-s", "--device"},
    "lpn": {"--tasks", "--methods", "--seeds", "--pretrained", "--priors"},
    "medida": {"--errors", "--parts", "--methods", "--seeds"},
    "operators": {"--tasks", "--methods", "--seeds"},
    "pig": {"--tasks", "--methods", "--seeds", "--device"},
    "sinenet": {"--systems", "--methods", "--seeds", "--epochs", "--ablations", "--ablation-methods"},
}


def test_every_benchmark_has_help(capsys):
    assert set(available()) == set(DECLARED_OPTIONS)
    for name in available():
        with pytest.raises(SystemExit) as exc:
            run(name, ["--help"])
        assert exc.value.code == 0, name
        assert "--" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(DECLARED_OPTIONS))
def test_every_option_of_every_benchmark_has_a_help_text(name):
    parser = build_parser(BENCHMARKS.get(name))
    for action in parser._actions:
        assert action.help, (name, action.option_strings)
    assert DECLARED_OPTIONS[name] <= {o for a in parser._actions for o in a.option_strings}


def test_options_have_help_texts():
    for action in build_parser(TOY)._actions:
        assert action.help, action.dest


def test_an_unknown_benchmark_is_one_line(capsys):
    with pytest.raises(ConfigError, match="unknown benchmark 'nope'"):
        run("nope", [])
    assert main(["bench", "nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_recorded_command_leaves_out_where_files_go(monkeypatch):
    from sciml.bench.results import command_line

    monkeypatch.setattr("sys.argv", ["/x/bin/sciml", "bench", "dcdm", "--preset", "gpu", "--out", "/tmp/o",
                                     "--runs=/tmp/r", "--grids", "8x8"])
    assert command_line() == "sciml bench dcdm --preset gpu --grids 8x8"
