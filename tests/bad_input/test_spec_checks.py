"""Specs and options a recipe can refuse from the spec alone: each through the command line is one line
``sciml: error: ...`` with exit status 2, refused before any data is generated or written (the working folder
keeps every byte); plus the smaller messages (optional dependencies, recipe summaries, help texts)."""
from __future__ import annotations

import re
import sys

import pytest
import torch
import yaml

from sciml.cli import main
from sciml.data import save_dataset
from sciml.errors import ConfigError, MissingDependencyError, SchemaError
from sciml.experiment import run_experiment, spec_from_dict
from tests.bad_input.test_files_configs_cli import run_cli, snapshot, workspace
from tests.conftest import trajectory_dataset

DARCY = {"make": "darcy", "params": {"n": 8, "res": 8, "seed": 0}, "inputs": ["a"], "targets": ["u"]}
NS = {"make": "ns_vorticity", "params": {"n": 4, "res": 8, "seed": 0, "frames": 7, "burn_in": 0.5}}


def field_spec(**sections) -> dict:
    """A small field spec on generated Darcy data (written to run/data.nc once the spec is accepted)."""
    return {"name": "bad", "out_dir": "run", "data": DARCY, "model": {"name": "mgno", "width": 4, "layers": 1},
            "train": {"epochs": 1, "batch_size": 4, "progress": False}, **sections}


def trajectory_spec(**params) -> dict:
    """A small trajectory spec on generated Navier-Stokes data: 8 frames per trajectory, 4 in, 4 scored."""
    return {"recipe": "trajectory", "name": "bad", "out_dir": "run",
            "params": {"data": NS, "variables": ["w"], "history": 4, "rollout_steps": 4,
                       "model": {"name": "sinenet", "waves": 1, "channels": 4},
                       "train": {"epochs": 1, "batch_size": 4, "progress": False},
                       "split": {"train": 3, "test": 1}, **params}}


def cli_refuses(tmp_path, monkeypatch, capsys, spec: dict | str, says: str, *argv: str) -> None:
    """``sciml train`` of ``spec`` (or the command ``argv`` when ``spec`` is a string naming a command):
    exit 2, one line matching ``says``, nothing in the working folder written or lost."""
    monkeypatch.chdir(tmp_path)
    workspace(tmp_path)
    if isinstance(spec, dict):
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump(spec))
        argv = ("train", "exp.yaml", *argv)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code, err = run_cli(list(argv), capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sciml: error: "), err
    assert re.search(says, lines[0]), lines[0]
    assert snapshot(tmp_path) == before  # no run/ folder, no data.nc
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ refused before any data is generated
REFUSED = [
    ("misspelled model key", field_spec(model={"name": "mgno", "widht": 8}),
     r"unknown key 'widht' in model 'mgno'. Did you mean 'width'"),
    ("unknown model", field_spec(model={"name": "mgnox"}), r"unknown model 'mgnox'.*Did you mean 'mgno'"),
    ("unknown loss", field_spec(loss={"name": "fooloss"}), r"fooloss"),
    ("unknown loss option", field_spec(loss={"name": "rel_l2", "pp": 2}), r"unknown key 'pp' in loss 'rel_l2'"),
    ("mgno activation", field_spec(model={"name": "mgno", "activation": "swish"}),
     r"model 'mgno' cannot be built .*activation must be one of \['gelu', 'relu', 'silu', 'tanh'\], got 'swish'"),
    ("fno modes 0", field_spec(model={"name": "fno", "modes": 0}),
     r"model 'fno' cannot be built .*modes=0: modes, width, layers and head_width must be at least 1"),
    ("field split with no test sample", field_spec(data={**DARCY, "split": {"train": 0.95, "test": 0.01}}),
     r"data\.split .* leaves no test sample of 8"),
    ("misspelled sinenet key", trajectory_spec(model={"name": "sinenet", "wave": 2}),
     r"unknown key 'wave' in model 'sinenet'. Did you mean 'waves'"),
    ("misspelled key without variables", trajectory_spec(model={"name": "sinenet", "wave": 2}, variables=None),
     r"unknown key 'wave' in model 'sinenet'"),
    ("sinenet value", trajectory_spec(model={"name": "sinenet", "waves": 1, "padding_mode": "wrap"}),
     r"model 'sinenet' cannot be built"),
    ("split larger than the data", trajectory_spec(split={"train": 4, "test": 2}),
     r"split .* asks for 6 trajectories but the data has 4"),
    ("val_rollout without val trajectories", trajectory_spec(select="val_rollout"), r"leaves no val trajectory of 4"),
    ("rollout longer than the trajectories", trajectory_spec(rollout_steps=20),
     r"rollout_steps=20 with history=4 needs 24 frames per trajectory but the data has 8, which allow at most "
     r"rollout_steps: 4"),
    ("history filling the trajectories", trajectory_spec(history=8, rollout_steps=1), r"which allow no rollout step"),
    ("misspelled PINN problem", {"recipe": "pinn", "out_dir": "run", "params": {"problem": "helmholz2d"}},
     r"unknown PINN problem 'helmholz2d'\. Known: \[.*\]\. Did you mean 'helmholtz2d'"),
]


@pytest.mark.parametrize("spec, says", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_bad_spec_is_refused_before_data_is_written(spec, says, tmp_path, monkeypatch, capsys):
    cli_refuses(tmp_path, monkeypatch, capsys, spec, says)


def test_the_rollout_length_is_checked_against_a_data_file_too(tmp_path, monkeypatch, capsys):
    """Frames of a file are known only once it is open; nothing is written before the check either."""
    monkeypatch.chdir(tmp_path)
    save_dataset(trajectory_dataset(n=4, t=8, res=8), tmp_path / "traj.nc")
    spec = trajectory_spec(rollout_steps=5, data={"path": "traj.nc"}, variables=None)
    with pytest.raises(ConfigError, match=r"the data has 8, which allow at most rollout_steps: 4"):
        run_experiment(spec_from_dict(spec, base_dir=tmp_path))
    assert not (tmp_path / "run").exists()


def test_planned_frames_are_the_generated_ones():
    """The pre-data rollout check counts ``frames + 1`` time steps (the initial state and ``frames`` more)."""
    from sciml.data import make_dataset
    from sciml.data.registry import planned_params

    for name in ("ns_vorticity", "smoke_box", "wave_box"):
        planned = planned_params(name, {"n": 1, "res": 8, "frames": 3})
        assert make_dataset(name, n=1, res=8, frames=3).sizes["time"] == planned["frames"] + 1 == 4, name
        assert planned["n"] == 1 and "seed" in planned


def test_evaluating_on_shorter_trajectories_is_refused(tmp_path):
    """A checkpoint that scores 4 rollout steps is not scored on fewer under the same name."""
    from sciml.evaluate.trajectory import evaluate_trajectory

    res = run_experiment(spec_from_dict({**trajectory_spec(), "out_dir": str(tmp_path / "run")}))
    save_dataset(trajectory_dataset(n=2, t=7, res=8)[["w"]], tmp_path / "short.nc")
    with pytest.raises(SchemaError, match=r"rollouts of 4 steps after 4 history frames.* have 7 frames; evaluate on "
                                          r"trajectories of at least 8 frames"):
        evaluate_trajectory(res["checkpoint"], tmp_path / "short.nc", tmp_path / "eval")


def test_checking_a_model_leaves_the_random_state_and_the_weights_alone():
    from sciml.models import build_model, check_model

    torch.manual_seed(3)
    expected = build_model("fno", modes=2, width=4, layers=1, head_width=4).state_dict()
    torch.manual_seed(3)
    check_model("fno", {"modes": 2, "width": 4, "layers": 1, "head_width": 4})
    got = build_model("fno", modes=2, width=4, layers=1, head_width=4).state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_fno_modes_above_the_grid_are_truncated_not_refused():
    from sciml.models import build_model

    net = build_model("fno", modes=16, width=4, layers=1, padding=0, head_width=4)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 1, 8, 8)


# ------------------------------------------------------------------ optional dependencies
def without_skimage(monkeypatch) -> None:
    """Every ``skimage`` module unimportable, as without the ``bench`` extra."""
    for name in [m for m in sys.modules if m == "skimage" or m.startswith("skimage.")] + ["skimage"]:
        monkeypatch.setitem(sys.modules, name, None)


def test_lpn_without_scikit_image_names_the_extra(tmp_path, monkeypatch, capsys):
    without_skimage(monkeypatch)
    spec = {"recipe": "denoiser", "name": "lpn", "out_dir": "run", "model": {"name": "lpn"}}
    cli_refuses(tmp_path, monkeypatch, capsys, spec, r"'scikit-image' is needed .*pip install 'sciml\[bench\]'")


def test_images_and_fbp_without_scikit_image_name_the_extra(monkeypatch):
    from sciml.inverse.images import load_grey, sample_patches
    from sciml.inverse.operators import Radon

    op = Radon((8, 8), n_angles=4)
    without_skimage(monkeypatch)
    for call in (lambda: load_grey("camera"), lambda: sample_patches(1, 8, digits_fraction=1.0),
                 lambda: op.fbp(torch.zeros(1, 8, 4))):
        with pytest.raises(MissingDependencyError, match=r"pip install 'sciml\[bench\]'"):
            call()


# ------------------------------------------------------------------ smaller messages
def test_climate_data_that_is_a_file_is_said_to_be_one(tmp_path, monkeypatch, capsys):
    (tmp_path / "cb.nc").write_text("not a folder\n")
    cli_refuses(tmp_path, monkeypatch, capsys, "cmd", r"ClimateBench folder '.*cb\.nc' is a file, not a folder",
                "climate", "fit", "--model", "lps", "--data", str(tmp_path / "cb.nc"), "--out", "run")


@pytest.mark.parametrize("options, named", [(["--model-param", "foo=1"], "config"), (["--epochs", "3"], "epochs")])
def test_lps_refuses_training_settings(options, named, tmp_path, monkeypatch, capsys):
    (tmp_path / "cb").mkdir()
    cli_refuses(tmp_path, monkeypatch, capsys, "cmd",
                rf"model 'lps' is fitted in closed form .* but {named} was given; drop it",
                "climate", "fit", "--model", "lps", "--data", str(tmp_path / "cb"), "--out", "run", *options)


def test_lps_recipe_refuses_training_settings(tmp_path):
    spec = spec_from_dict({"recipe": "climate_emulator", "out_dir": str(tmp_path / "run"),
                           "params": {"model": "lps", "lr": 0.1}})
    with pytest.raises(ConfigError, match="model 'lps' is fitted in closed form .* but lr was given"):
        run_experiment(spec)
    assert not (tmp_path / "run").exists()


def test_a_moved_run_data_file_names_the_evaluate_argument(tmp_path, monkeypatch, capsys):
    """The checkpoint records data that is gone: the message says how to pass the data instead."""
    from tests.bad_input.test_files_configs_cli import field_cfg

    monkeypatch.chdir(tmp_path)
    workspace(tmp_path)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(field_cfg()))
    assert main(["train", "exp.yaml", "--no-eval"]) == 0
    (tmp_path / "good.nc").rename(tmp_path / "moved.nc")
    capsys.readouterr()
    code, err = run_cli(["evaluate", "run/best.pt"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "pass the data file as the second argument of `sciml evaluate`" in err


def test_recipe_summaries_are_whole_sentences(capsys):
    from sciml.recipes import RECIPES

    for name in RECIPES.names():
        summary = RECIPES.get(name).summary
        assert summary.endswith(".") and "  " not in summary, (name, summary)
    assert main(["recipes"]) == 0
    listed = capsys.readouterr().out
    assert "``dcdm`` net; returns the best checkpoint's path." in listed
    assert "on a registered PDE problem, without data." in listed


def test_demo_help_names_every_model_it_trains(capsys):
    from sciml.demo import MODELS

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    line = next(line for line in top.splitlines() if line.strip().startswith("demo"))
    assert all(label in line for label in ("MgNO", "FNO", "U-Net")) and set(MODELS) == {"mgno", "fno", "unet"}


def test_allowed_params_keys_are_only_those_params_may_hold(tmp_path, monkeypatch, capsys):
    cli_refuses(tmp_path, monkeypatch, capsys, {"recipe": "dcdm", "params": {"bogus": 1}},
                r"unknown key 'bogus' in params\. Allowed keys: \[(?!.*'(seed|out_dir|device|resume)').*\]$")
