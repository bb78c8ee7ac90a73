"""Bad files, configs, checkpoints and arguments, over every command: each is refused with exit status 2 and
ONE line ``sciml: error: ...`` that says what to do, and nothing in the working folder is written or lost
(every existing file keeps its bytes, no file or folder appears)."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch
import yaml

from sciml.cli import main
from sciml.data import save_dataset
from sciml.models import build_model
from sciml.train.checkpoint import save_checkpoint
from tests.conftest import smoothing_dataset

ROOT = Path(__file__).resolve().parents[2]
TINY_FNO = {"modes": 2, "width": 4, "layers": 1, "padding": 0, "head_width": 4}
FIELD_META = {"evaluator": "field", "inputs": ["a"], "targets": ["u"]}


# ------------------------------------------------------------------ the workspace every case starts from
def workspace(ws: Path) -> None:
    """good.nc (a, u), model.pt (a field checkpoint) and notes.txt: the things a user has lying around."""
    save_dataset(smoothing_dataset(n=8, res=8), ws / "good.nc")
    net = build_model("fno", in_channels=1, out_channels=1, **TINY_FNO)
    save_checkpoint(ws / "model.pt", net, extra=FIELD_META)
    (ws / "notes.txt").write_text("my notes\n")


def snapshot(ws: Path) -> dict[str, str]:
    """Every path under ``ws``: 'dir' or the sha256 of its bytes."""
    return {str(p.relative_to(ws)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ws.rglob("*"))}


def config(ws: Path, cfg: dict | str, folder: str = ".") -> str:
    """Write an experiment YAML (a dict, or raw text) into ``ws/folder``; returns its path."""
    path = ws / folder / "exp.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    return str(path)


def field_cfg(**sections) -> dict:
    """A valid small field experiment, with ``sections`` merged into it (``train={"lr": "abc"}``)."""
    cfg = {"name": "bad", "out_dir": "run", "data": {"path": "good.nc", "inputs": ["a"], "targets": ["u"]},
           "model": {"name": "fno", **TINY_FNO}, "train": {"epochs": 1, "batch_size": 4, "progress": False}}
    for key, value in sections.items():
        cfg[key] = {**cfg[key], **value} if isinstance(value, dict) and isinstance(cfg.get(key), dict) else value
    return cfg


def train(ws: Path, *extra: str, folder: str = ".", **sections) -> list[str]:
    return ["train", config(ws, field_cfg(**sections), folder), *extra]


def checkpoint_file(ws: Path, payload) -> str:
    torch.save(payload, ws / "odd.pt")
    return str(ws / "odd.pt")


def garbage(ws: Path, name: str) -> str:
    (ws / name).write_bytes(b"\x00\x01 this is not what the suffix says \xff" * 20)
    return str(ws / name)


def mkdir(ws: Path, name: str, with_file: bool = False) -> str:
    (ws / name).mkdir()
    if with_file:
        (ws / name / "precious.txt").write_text("do not delete\n")
    return str(ws / name)


def foreign_last(ws: Path) -> None:
    """run/last.pt holds a U-Net, the config trains an FNO."""
    save_checkpoint(ws / "run" / "last.pt", build_model("unet", width=4, depth=1), extra=FIELD_META)


def damaged(ws: Path) -> str:
    ckpt = torch.load(ws / "model.pt", weights_only=True)
    ckpt["state_dict"] = {k: v[..., :1] for k, v in ckpt["state_dict"].items()}
    return checkpoint_file(ws, ckpt)


def payload(ws: Path) -> str:
    from tests.train.test_safe_loading import write_payload

    return str(write_payload(ws / "evil.pt", ws / "pwned"))


@dataclass
class Case:
    id: str
    argv: Callable[[Path], list[str]]
    says: str  # regex the one line must match


MAKE = ["data", "make", "darcy", "--n", "2", "--res", "8"]
CASES = [
    # ---- sciml data make: outputs that exist, bad targets, bad parameters
    Case("make over an existing file", lambda ws: [*MAKE, "--out", str(ws / "good.nc")],
         r"'.*good\.nc' already exists; pass --overwrite"),
    Case("make over a user folder (no --overwrite)", lambda ws: [*MAKE, "--out", mkdir(ws, "mine.zarr", True)],
         r"already exists; pass --overwrite"),
    Case("make over a user folder with --overwrite",
         lambda ws: [*MAKE, "--out", mkdir(ws, "mine.zarr", True), "--overwrite"],
         r"is a directory that sciml did not write .* never deletes it, even with --overwrite"),
    Case("make a file over a folder", lambda ws: [*MAKE, "--out", mkdir(ws, "dir.nc"), "--overwrite"],
         r"exists and is a directory; sciml will not replace it with a file"),
    Case("make under a file", lambda ws: [*MAKE, "--out", str(ws / "notes.txt" / "x.nc")],
         r"cannot write .*x\.nc.: .*notes\.txt. is a file, not a folder; choose a writable folder"),
    Case("--param without =", lambda ws: [*MAKE, "--out", str(ws / "x.nc"), "--param", "tau"],
         r"--param expects KEY=VALUE, got 'tau'"),
    Case("--param value is bad YAML", lambda ws: [*MAKE, "--out", str(ws / "x.nc"), "--param", "tau=[1,"],
         r"--param tau is not valid YAML"),
    Case("--n is not a number", lambda ws: ["data", "make", "darcy", "--out", str(ws / "x.nc"), "--n", "many"],
         r"argument --n: invalid int value: 'many' \(see `sciml data make --help`\)"),
    Case("make without --out", lambda ws: ["data", "make", "darcy"], r"required: --out"),
    # ---- sciml data info: files that are missing or not what their suffix says
    Case("info of a missing file", lambda ws: ["data", "info", str(ws / "nope.nc")],
         r"dataset file '.*nope\.nc' does not exist; check the path"),
    Case("info of a corrupt NetCDF", lambda ws: ["data", "info", garbage(ws, "bad.nc")],
         r"'.*bad\.nc' cannot be read as NetCDF4 .*; pass a dataset written by"),
    Case("info of a corrupt HDF5", lambda ws: ["data", "info", garbage(ws, "bad.h5")], r"cannot be read as HDF5"),
    Case("info of a folder named .nc", lambda ws: ["data", "info", mkdir(ws, "dir.nc")], r"cannot be read as NetCDF4"),
    Case("info of an empty .zarr folder", lambda ws: ["data", "info", mkdir(ws, "e.zarr")], r"cannot be read as Zarr"),
    Case("data list takes no argument", lambda ws: ["data", "list", "extra"], r"unrecognized arguments: extra"),
    # ---- sciml train: config files
    Case("config is not YAML", lambda ws: ["train", config(ws, "train: {epochs: 1\nmodel: [")],
         r"config file '.*exp\.yaml' is not valid YAML \(line \d+, column \d+\)"),
    Case("unknown key", lambda ws: train(ws, train={"learning_rate": 0.1}),
         r"unknown key 'learning_rate' in 'train'.*Allowed keys"),
    Case("lr is a word", lambda ws: train(ws, train={"lr": "abc"}), r"train\.lr: expected a float, got 'abc'"),
    Case("epochs is a fraction", lambda ws: train(ws, train={"epochs": 2.5}),
         r"train\.epochs: expected an integer, got 2\.5"),
    Case("a section is not a mapping", lambda ws: train(ws, train=5), r"train: expected a mapping( or null)?, got 5"),
    Case("inputs is not a list", lambda ws: train(ws, data={"inputs": "a"}), r"data\.inputs: expected a list, got 'a'"),
    Case("batch_size is zero", lambda ws: train(ws, train={"batch_size": 0}),
         r"train: batch_size must be positive, got 0"),
    Case("data.path is resolved against the config's folder, not the current one",
         lambda ws: train(ws, folder="cfgs"), r"dataset file '.*cfgs/good\.nc' does not exist"),
    Case("data.path missing", lambda ws: train(ws, data={"path": "missing.nc"}), r"'.*missing\.nc' does not exist"),
    Case("data has neither path nor make", lambda ws: train(ws, data={"path": None}),
         r"data needs either 'path' .* or 'make'"),
    Case("input variable not in the file", lambda ws: train(ws, data={"inputs": ["zz"]}), r"zz"),
    Case("normalize is not an option", lambda ws: train(ws, data={"normalize": "per-pixel"}),
         r"data\.normalize must be true, false or 'pointwise'"),
    Case("unknown optimizer", lambda ws: train(ws, train={"optimizer": "adamm"}),
         r"train: optimizer must be one of .*, got 'adamm'; did you mean 'adam'"),
    Case("optimizer_kwargs torch rejects", lambda ws: train(ws, train={"optimizer_kwargs": {"betas_typo": 1}}),
         r"optimizer 'adam' with scheduler 'onecycle' cannot be built .*optimizer_kwargs"),
    Case("onecycle cannot drive lbfgs", lambda ws: train(ws, train={"optimizer": "lbfgs", "scheduler": "onecycle"}),
         r"optimizer 'lbfgs' with scheduler 'onecycle' cannot be built"),
    Case("split without a train part", lambda ws: train(ws, data={"split": {"trian": 0.8, "test": 0.2}}),
         r"data: split needs a 'train' part and only 'train', 'val', 'test'"),
    Case("unknown loss keyword", lambda ws: train(ws, loss={"name": "rel_l2", "pp": 3}),
         r"unknown key 'pp' in loss 'rel_l2'. Did you mean 'p'"),
    Case("a device that is no device", lambda ws: train(ws, device="gpu"),
         r"device 'gpu' is not a device name; use 'auto', 'cpu'"),
    Case("monitor a value that is never logged", lambda ws: train(ws, train={"monitor": "val_foo"}),
         r"train\.monitor 'val_foo' is not a logged value; pick one of \['train_loss', 'val_loss'"),
    Case("checkpoint_every is zero", lambda ws: train(ws, train={"checkpoint_every": 0}),
         r"train: checkpoint_every must be at least 1, got 0"),
    Case("a model value torch refuses", lambda ws: train(ws, model={"modes": -3}),
         r"model 'fno' cannot be built with .*'modes': -3.*; check its values"),
    Case("unknown model", lambda ws: train(ws, model={"name": "fnoo"}), r"unknown model 'fnoo'.*Did you mean 'fno'"),
    Case("unknown model keyword", lambda ws: train(ws, model={"mode": 3}), r"unknown key 'mode' in model 'fno'"),
    Case("model without a name", lambda ws: ["train", config(ws, {**field_cfg(), "model": {"width": 4}})],
         r"model section needs a 'name'"),
    Case("unknown recipe parameter", lambda ws: ["train", config(ws, {"recipe": "dcdm", "params": {"bogus": 1}})],
         r"unknown key 'bogus' in .*params"),
    Case("recipe parameter of the wrong type",
         lambda ws: ["train", config(ws, {"recipe": "dcdm", "params": {"epochs": "many"}})],
         r"params\.epochs: expected an integer, got 'many'"),
    Case("--resume from another model's checkpoint", lambda ws: (foreign_last(ws), train(ws, "--resume"))[1],
         r"holds a 'unet' model but the model is 'decoded_output'; use the config that wrote it, or another out_dir"),
    Case("--epochs for train is not an option", lambda ws: train(ws, "--epochs", "3"),
         r"unrecognized arguments: --epochs 3"),
    # ---- sciml evaluate: checkpoints and data
    Case("evaluate a file that is not torch", lambda ws: ["evaluate", garbage(ws, "junk.pt"), str(ws / "good.nc")],
         r"is not a readable torch file"),
    Case("evaluate damaged weights", lambda ws: ["evaluate", damaged(ws), str(ws / "good.nc")],
         r"its weights do not fit its own model config"),
    Case("evaluate a pickle payload", lambda ws: ["evaluate", payload(ws), str(ws / "good.nc")],
         r"was refused: it holds pickled Python objects"),
    Case("evaluate on a missing data file", lambda ws: ["evaluate", str(ws / "model.pt"), str(ws / "nope.nc")],
         r"dataset file '.*nope\.nc' does not exist"),
    Case("evaluate --out is a file", lambda ws: ["evaluate", str(ws / "model.pt"), str(ws / "good.nc"),
                                                 "--out", str(ws / "notes.txt")],
         r"cannot write .*: .*notes\.txt. is a file, not a folder"),
    Case("train out_dir is a file", lambda ws: train(ws, out_dir="notes.txt"),
         r"cannot write .*: .*notes\.txt. is a file, not a folder"),
    # ---- sciml bench, sciml demo, the command line itself
    Case("unknown benchmark flag", lambda ws: ["bench", "dcdm", "--bogus"],
         r"unrecognized arguments: --bogus \(see `sciml bench dcdm --help`\)"),
    Case("bench lpn --priors of an empty folder",
         lambda ws: ["bench", "lpn", "--priors", mkdir(ws, "nets"), "--out", str(ws / "o"), "--runs", str(ws / "r"),
                     "--methods", "lpn", "--tasks", "deblur_noise0.02"],
         r"checkpoint '.*nets/lpn\.pt' does not exist"),
    Case("demo with too few samples", lambda ws: ["demo", "--out", str(ws / "d"), "--n", "3"],
         r"demo --n must be an integer of at least 10"),
    Case("demo with zero epochs", lambda ws: ["demo", "--out", str(ws / "d"), "--epochs", "0"],
         r"demo --epochs must be an integer of at least 1"),
    Case("no command", lambda ws: [], r"the following arguments are required: command"),
    Case("unknown command", lambda ws: ["fly"], r"invalid choice: 'fly'"),
]


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_changes(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    workspace(tmp_path)
    argv = case.argv(tmp_path)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sciml: error: "), err
    assert re.search(case.says, lines[0]), lines[0]
    assert snapshot(tmp_path) == before  # nothing written, nothing lost
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------ the Python entry points
def test_library_entry_points_raise_the_named_errors(tmp_path):
    from sciml.config import from_dict
    from sciml.data import open_dataset
    from sciml.errors import (CheckpointError, ConfigError, InputFileError, OutputExistsError, SciMLError)
    from sciml.experiment import load_experiment
    from sciml.models import load_model
    from sciml.train import TrainConfig

    workspace(tmp_path)
    good = (tmp_path / "good.nc").read_bytes()
    cases = [
        (lambda: open_dataset(tmp_path / "nope.nc"), InputFileError, "does not exist"),
        (lambda: open_dataset(garbage(tmp_path, "bad.nc")), InputFileError, "cannot be read as NetCDF4"),
        (lambda: save_dataset(smoothing_dataset(n=2, res=4), tmp_path / "good.nc"), OutputExistsError,
         "already exists"),
        (lambda: from_dict(TrainConfig, {"lr": "abc"}), ConfigError, "lr: expected a float, got 'abc'"),
        (lambda: from_dict(TrainConfig, {"val_metrics": ["rel_l2", 3]}), ConfigError,
         r"val_metrics\[1\]: expected a string, got 3"),
        (lambda: load_experiment(config(tmp_path, "train: {lr: abc}")), ConfigError, r"train\.lr: expected a float"),
        (lambda: load_model(garbage(tmp_path, "junk.pt")), CheckpointError, "is not a readable torch file"),
    ]
    for call, error, says in cases:
        with pytest.raises(error, match=says) as info:
            call()
        assert isinstance(info.value, SciMLError)
    assert (tmp_path / "good.nc").read_bytes() == good


def test_scientific_notation_is_a_number_as_the_docstring_shows(tmp_path):
    """YAML 1.1 reads 1e-3 as a string; the experiment docstring's own example must load."""
    import sciml.experiment as experiment
    from sciml.experiment import load_experiment

    example = experiment.__doc__.split("::", 1)[1]
    cfg = load_experiment(config(tmp_path, "\n".join(line[4:] for line in example.strip("\n").splitlines())))
    assert cfg.train.lr == 1e-3 and isinstance(cfg.train.lr, float)
    text = "train: {lr: 2E-4, weight_decay: .5e-2, min_lr: 1e3, epochs: 3}\n"
    t = load_experiment(config(tmp_path, text)).train
    assert (t.lr, t.weight_decay, t.min_lr, t.epochs) == (2e-4, 5e-3, 1000.0, 3)


def test_paths_in_a_config_resolve_against_its_folder(tmp_path, monkeypatch):
    from sciml.experiment import load_experiment

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = load_experiment(config(tmp_path, field_cfg(), folder="cfgs"))
    assert cfg.data.path == str(tmp_path / "cfgs" / "good.nc") and cfg.out_dir == str(tmp_path / "cfgs" / "run")
    absolute = load_experiment(config(tmp_path, field_cfg(data={"path": str(tmp_path / "good.nc")}), folder="cfgs"))
    assert absolute.data.path == str(tmp_path / "good.nc")


def test_debug_shows_the_traceback_and_a_bug_is_not_a_user_error(tmp_path, monkeypatch, capsys):
    from sciml.errors import InputFileError

    with pytest.raises(InputFileError):
        main(["--debug", "data", "info", str(tmp_path / "nope.nc")])
    import sciml.data

    monkeypatch.setattr(sciml.data, "dataset_names", lambda: 1 / 0)  # a bug, not bad input
    with pytest.raises(ZeroDivisionError):
        main(["data", "list"])


def test_the_installed_command_exits_2_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "sciml", "data", "info", str(tmp_path / "nope.nc")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("sciml: error: dataset file")
    assert "Traceback" not in out.stderr
