import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sciml.cli import main
from sciml.config import check_bounds, from_dict
from sciml.data import save_dataset
from sciml.errors import ConfigError, RegistryError
from sciml.experiment import ExperimentSpec, load_experiment
from sciml.models import build_model
from sciml.recipes import RECIPES
from tests.conftest import smoothing_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_yaml_unknown_key_names_it(tmp_path):
    cfg = {"name": "x", "train": {"epochs": 1, "learning_rate": 0.1}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="unknown key 'learning_rate' in .*train.*Allowed keys"):
        load_experiment(tmp_path / "c.yaml")


def test_unknown_top_level_key_suggests():
    with pytest.raises(ConfigError, match="Did you mean 'model'"):
        from_dict(ExperimentSpec, {"modle": {}})


def test_unknown_model_and_kwarg():
    with pytest.raises(RegistryError, match="unknown model 'fnoo'.*Did you mean 'fno'"):
        build_model("fnoo")
    with pytest.raises(ConfigError, match="unknown key 'mode' in model 'fno'"):
        build_model("fno", mode=3)


def test_check_bounds_names_every_setting_out_of_bounds_and_what_to_give():
    check_bounds({"steps": 0, "off": None}, {"steps": 0, "off": 1})  # on a bound, and off: no error
    with pytest.raises(ConfigError) as err:
        check_bounds({"steps": -1, "batch": 0, "share": 1.5, "noise": float("nan"), "ok": 3},
                     {"steps": 0, "batch": 1, "share": 0.0, "ok": 1}, {"share": 1.0, "noise": 1.0}, where="denoiser")
    assert str(err.value) == ("denoiser: steps=-1 (give a value >= 0), batch=0 (give a value >= 1), "
                              "share=1.5 (give a value in [0.0, 1.0]), noise=nan (give a value <= 1.0)")


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "sciml 0.1.0" in capsys.readouterr().out


def test_train_then_evaluate_cli(tmp_path, capsys):
    save_dataset(smoothing_dataset(n=40, res=16), tmp_path / "d.nc")
    cfg = {"name": "t", "out_dir": str(tmp_path / "run"),
           "data": {"path": str(tmp_path / "d.nc"), "inputs": ["a"], "targets": ["u"]},
           "model": {"name": "fno", "modes": 4, "width": 8, "layers": 2, "padding": 0, "head_width": 8},
           "train": {"epochs": 3, "batch_size": 8, "progress": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c.yaml")]) == 0
    assert (tmp_path / "run" / "report.md").exists() and (tmp_path / "run" / "eval.png").exists()
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tmp_path / "d.nc"),
                 "--out", str(tmp_path / "ev")]) == 0
    assert "mean_rel_l2" in capsys.readouterr().out
    # a checkpoint evaluated against a file that lacks its input variable: one clear error, exit 2
    save_dataset(smoothing_dataset(n=4, res=16).drop_vars("a"), tmp_path / "bad.nc")
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tmp_path / "bad.nc")]) == 2
    assert "missing variable(s) ['a']" in capsys.readouterr().err


def test_pointwise_normalizer_from_yaml_survives_the_checkpoint(tmp_path, capsys):
    import torch

    save_dataset(smoothing_dataset(n=24, res=16), tmp_path / "d.nc")
    cfg = {"name": "t", "out_dir": str(tmp_path / "run"),
           "data": {"path": str(tmp_path / "d.nc"), "inputs": ["a"], "targets": ["u"], "normalize": "pointwise"},
           "model": {"name": "fno", "modes": 4, "width": 8, "layers": 2, "padding": 0, "head_width": 8},
           "train": {"epochs": 1, "batch_size": 8, "progress": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c.yaml")]) == 0
    state = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    norms = next(v for k, v in state.items() if "normal" in k)
    assert tuple(torch.as_tensor(norms["a"]["mean"]).shape) == (16, 16)  # one mean per grid point
    assert tuple(state["state_dict"]["mean"].shape) == (1, 16, 16)  # the target's, decoded inside the model
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tmp_path / "d.nc"),
                 "--out", str(tmp_path / "ev")]) == 0
    cfg["data"]["normalize"] = "per-pixel"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c.yaml")]) == 2
    assert "'pointwise'" in capsys.readouterr().err


def test_cli_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "sciml", "bench"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "available benchmarks" in out.stdout


def _every_command(parser, prog="sciml"):
    import argparse

    yield prog, parser
    for action in parser._actions:  # argparse keeps its subcommands only in this private list
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"`{prog} {name}` has no one-line description in `{prog} --help`"
                yield from _every_command(sub, f"{prog} {name}")


def test_every_option_of_every_command_has_a_help_text():
    import argparse

    from sciml.cli import build_parser

    for prog, parser in _every_command(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"`{prog}`: {action.option_strings or action.dest} has no help text"


def test_recipes_name_prints_every_key_its_spec_may_hold(capsys):
    """`sciml recipes NAME` lists the recipe's own keys (sections from their dataclasses, plain keys under
    params) and the keys every spec has; each listed key is one a spec of that recipe accepts."""
    assert main(["recipes", "trajectory"]) == 0
    out = capsys.readouterr().out
    keys = re.findall(r"^\| `([\w.]+)` \|", out, flags=re.M)
    assert {"params.rollout_steps", "params.history", "train", "seed", "device"} <= set(keys)
    assert "\\|" not in out  # no markdown escapes on a terminal
    run_params = set(inspect.signature(RECIPES.get("trajectory").run).parameters)
    assert {k.split(".", 1)[1] for k in keys if k.startswith("params.")} <= run_params


def test_recipes_of_an_unknown_name_is_one_line(capsys):
    assert main(["recipes", "fieldz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Did you mean 'field'" in err[0]


def test_ctrl_c_is_one_line_with_the_way_to_resume(monkeypatch, capsys, tmp_path):
    def interrupted(spec, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sciml.experiment.run_experiment", interrupted)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"recipe": "field", "out_dir": str(tmp_path / "run")}))
    assert main(["train", str(spec)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0]
