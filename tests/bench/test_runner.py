"""The one benchmark runner: a declared sweep of specs runs through run_experiment, resumes, dry-runs."""
import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sciml.bench.runner as runner
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


# --- when the JSON and the page are written: a sweep of fast fake rows and a report that counts its calls ---

FAKE_SCRIPT = '''
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_runner as t
import sciml.bench.runner as runner
runner.run_experiment = t.fake_experiment(kill_on_seed={kill})
runner.run_benchmark(t.FAST, ["--out", {out!r}, "--runs", {runs!r}])
'''


def fast_sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    return [Row("toy", "fake", ExperimentSpec(recipe="pinn", name=f"fast_s{seed}", seed=seed, device="cpu",
                                              out_dir=str(args.runs / f"seed{seed}"), params={}))
            for seed in range(3)]


RENDERS: list[int] = []  # the number of rows each call of the report saw


def counting_report(res, args) -> str:
    RENDERS.append(sum(r["metric"] == "rel_l2" for r in res.rows))
    return res.markdown_table("toy", ["rel_l2"])


FAST = Benchmark("fast", "three fast fake rows", fast_sweep, counting_report,
                 settings=lambda args: {"setting": 7})


def fake_experiment(kill_on_seed: int | None = None, json_path=None, seen: list | None = None):
    """A stand-in for run_experiment: a score of (seed + 1) / 10 at once; it records the scores the JSON on disk
    holds when it starts, and kills its process (SIGKILL) or stops it (SIGTERM) at seed ``kill_on_seed``."""
    def run(spec):
        if seen is not None:
            seen.append(len(json_scores(json_path)[0]) if json_path.exists() else 0)
        if spec.seed == kill_on_seed:
            os.kill(os.getpid(), signal.SIGKILL if seen is None else signal.SIGTERM)
        return {"scores": {"rel_l2": (spec.seed + 1) / 10}}
    return run


def json_scores(path):
    data = json.loads(path.read_text())
    return [r["value"] for r in data["rows"] if r["metric"] == "rel_l2"], data["meta"]


@pytest.fixture
def fast(tmp_path, monkeypatch):
    RENDERS.clear()
    seen: list[int] = []
    monkeypatch.setattr(runner, "run_experiment",
                        fake_experiment(json_path=tmp_path / "docs" / "fast.json", seen=seen))
    return ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")], seen


def test_fast_rows_write_the_json_after_each_row_and_the_page_once(tmp_path, fast, capsys):
    argv, seen = fast
    assert run_benchmark(FAST, argv) == 0
    assert seen == [0, 1, 2]  # each row found the rows before it in the JSON
    assert RENDERS == [3]  # one rendering, at the end
    assert json_scores(tmp_path / "docs" / "fast.json") == ([0.1, 0.2, 0.3], {"preset": "cpu", "setting": 7})
    assert "| fake | 0.2 ± 0.08165 |" in (tmp_path / "docs" / "fast.md").read_text()
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path / 'docs' / 'fast'}.{{json,md}}"
    assert run_benchmark(FAST, argv) == 0  # all reused: nothing ran, one rendering at the end
    assert seen == [0, 1, 2] and RENDERS == [3, 3]


def test_the_page_is_rendered_at_most_every_render_interval(fast, monkeypatch):
    argv, _ = fast
    monkeypatch.setattr(runner, "RENDER_EVERY_S", 0.0)
    assert run_benchmark(FAST, argv) == 0
    assert RENDERS == [1, 2, 3, 3]  # after every row that ran, then at the end
    RENDERS.clear()
    assert run_benchmark(FAST, argv) == 0
    assert RENDERS == [3]  # reused rows are not rendered one by one


def test_a_run_stopped_by_sigterm_renders_the_finished_rows(tmp_path, monkeypatch):
    RENDERS.clear()
    monkeypatch.setattr(runner, "run_experiment", fake_experiment(kill_on_seed=2, json_path=tmp_path / "x.json",
                                                                  seen=[]))
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exc:
        run_benchmark(FAST, ["--out", str(tmp_path / "docs"), "--runs", str(tmp_path / "runs")])
    assert exc.value.code == 128 + signal.SIGTERM and signal.getsignal(signal.SIGTERM) is before
    assert RENDERS == [2]
    assert json_scores(tmp_path / "docs" / "fast.json")[0] == [0.1, 0.2]
    assert "| fake | 0.15 ± 0.05 |" in (tmp_path / "docs" / "fast.md").read_text()


def test_a_run_killed_between_renders_keeps_its_rows_and_a_rerun_renders_them(tmp_path, fast, capsys):
    argv, _ = fast
    out, runs = tmp_path / "docs", tmp_path / "runs"
    script = FAKE_SCRIPT.format(tests=str(Path(__file__).parent), kill=2, out=str(out), runs=str(runs))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert json_scores(out / "fast.json")[0] == [0.1, 0.2]  # the rows that finished, no page yet
    assert not (out / "fast.md").exists()
    assert sorted(p.parent.name for p in runs.glob("*/scores.json")) == ["seed0", "seed1"]
    assert run_benchmark(FAST, argv) == 0  # the same command reuses them, runs the last one, renders the page
    log = capsys.readouterr().out
    assert log.count("reused") == 2 and log.count(": ran") == 1 and RENDERS == [3]
    assert json_scores(out / "fast.json")[0] == [0.1, 0.2, 0.3]
    assert "| fake | 0.2 ± 0.08165 |" in (out / "fast.md").read_text()


def test_out_help_shows_its_default(capsys):
    with pytest.raises(SystemExit):
        build_parser(TOY).parse_args(["--help"])
    assert "(default: docs/benchmarks)" in " ".join(capsys.readouterr().out.split())
