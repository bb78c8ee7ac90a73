"""No loader in sciml unpickles code: a .pt file carrying a pickle payload is refused with CheckpointError
before the payload runs, by every loader (library functions, `sciml` commands, benchmarks)."""
from __future__ import annotations

import pathlib
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from sciml.cli import main
from sciml.data import save_dataset
from sciml.errors import CheckpointError
from sciml.models import build_model
from tests.conftest import smoothing_dataset

TINY_FNO = {"modes": 2, "width": 4, "layers": 1, "padding": 0, "head_width": 4}


class Payload:
    """Unpickling this creates ``marker``: stands for any code a malicious checkpoint could run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def write_payload(path: Path, marker: Path, model: str = "fno", config: dict | None = None) -> Path:
    """A file shaped like a sciml checkpoint (so format checks pass) with a payload inside."""
    net = build_model(model, **(config or {"in_channels": 1, "out_channels": 1, **TINY_FNO}))
    torch.save({"format": "sciml-checkpoint", "format_version": 1, "sciml_version": "0",
                "model": net.sciml_config, "state_dict": net.state_dict(), "normalizers": None,
                "trainer": {"epoch": 0, "note": Payload(marker)}, "extra": {"evaluator": "field"}}, path)
    return path


def assert_payload_is_live(ws: Path) -> None:
    """The fixture is a real attack: an unrestricted torch.load of the same file runs it, so a loader that
    did not refuse would have created its marker."""
    path = write_payload(ws / "control.pt", ws / "control-marker")
    torch.load(path, weights_only=False)
    assert (ws / "control-marker").exists()


def _evaluate(path, ws):
    from sciml.experiment import evaluate_checkpoint

    evaluate_checkpoint(path, ws / "d.nc", ws / "ev")


def _resume(path, ws):
    from torch.utils.data import TensorDataset

    from sciml.train import TrainConfig, Trainer

    data = TensorDataset(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8))
    net = build_model("fno", in_channels=1, out_channels=1, **TINY_FNO)
    Trainer(net, TrainConfig(epochs=1, batch_size=2, progress=False), data).fit(resume_from=path)


def _dcdm_solve(path, ws):
    from sciml.linalg import dcdm_solve
    from sciml.pde.poisson import poisson_matrix

    solid = np.zeros((8, 8, 8), dtype=bool)
    dcdm_solve(poisson_matrix(solid), np.ones(512), model=str(path), maxiter=2)


def _dcdm_residuals(path, ws):
    from sciml.data import make_dataset

    make_dataset("dcdm_residuals", model=str(path), problems=1, res=8, per_problem=1, maxiter=2)


def _ship(path, ws):
    from sciml.linalg.ship import ship

    ship(str(path), ws / "shipped.pt")


def _medida_cache(path, ws, monkeypatch):
    from types import SimpleNamespace

    from sciml.discovery.medida import cached_spin_up

    monkeypatch.setenv("SCIML_CACHE", str(ws))
    (ws / "medida_qg8_5").mkdir()
    path.rename(ws / "medida_qg8_5" / "seed0.pt")
    cached_spin_up(SimpleNamespace(nx=8), 5)


def _load_checkpoint(path, ws):
    from sciml.train.checkpoint import load_checkpoint

    load_checkpoint(path)


def _load_model(path, ws):
    from sciml.models import load_model

    load_model(path)


def _load_tensors(path, ws):
    from sciml.train.checkpoint import load_tensors

    load_tensors(path)


LIBRARY_LOADERS = {"load_checkpoint": _load_checkpoint, "load_model": _load_model, "load_tensors": _load_tensors,
                   "Trainer.fit(resume_from)": _resume, "evaluate_checkpoint": _evaluate,
                   "dcdm_solve(model=path)": _dcdm_solve, "dcdm_residuals dataset": _dcdm_residuals,
                   "linalg.ship": _ship, "medida spin-up cache": _medida_cache}


@pytest.fixture
def ws(tmp_path):
    save_dataset(smoothing_dataset(n=8, res=8), tmp_path / "d.nc")
    return tmp_path


@pytest.mark.parametrize("name", list(LIBRARY_LOADERS))
def test_library_loaders_refuse_a_pickle_payload(name, ws, monkeypatch):
    path = write_payload(ws / "evil.pt", ws / "pwned")
    loader = LIBRARY_LOADERS[name]
    args = (path, ws, monkeypatch) if name.startswith("medida") else (path, ws)
    with pytest.raises(CheckpointError, match="refused: it holds pickled Python objects.*could run code"):
        loader(*args)
    assert not (ws / "pwned").exists()
    assert_payload_is_live(ws)


def _cli_evaluate(path, ws):
    return ["evaluate", str(path), str(ws / "d.nc"), "--out", str(ws / "ev")]


def _cli_train_resume(path, ws):
    run = ws / "run"
    run.mkdir()
    path.rename(run / "last.pt")
    cfg = {"out_dir": "run", "data": {"path": "d.nc"}, "model": {"name": "fno", **TINY_FNO},
           "train": {"epochs": 1, "batch_size": 4, "progress": False}}
    (ws / "c.yaml").write_text(yaml.safe_dump(cfg))
    return ["train", str(ws / "c.yaml"), "--resume"]


def _cli_bench_lpn(path, ws):
    (ws / "nets").mkdir()
    path.rename(ws / "nets" / "lpn.pt")  # --priors restores with DIR/lpn.pt
    return ["bench", "lpn", "--priors", str(ws / "nets"), "--out", str(ws / "bench"), "--runs", str(ws / "runs"),
            "--methods", "lpn", "--tasks", "deblur_noise0.02"]


@pytest.mark.parametrize("argv_for", [_cli_evaluate, _cli_train_resume, _cli_bench_lpn],
                         ids=["sciml evaluate", "sciml train --resume", "sciml bench lpn --priors"])
def test_commands_refuse_a_pickle_payload_in_one_line(argv_for, ws, capsys):
    argv = argv_for(write_payload(ws / "evil.pt", ws / "pwned"), ws)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sciml: error: ") and "refused" in err[0]
    assert not (ws / "pwned").exists()
    assert not (ws / "ev").exists() and not (ws / "bench").exists()
    assert_payload_is_live(ws)


def test_saved_checkpoints_load_weights_only_and_the_shipped_asset_too(tmp_path):
    """What sciml writes (weights, normaliser, optimiser, schedule, every RNG state) is tensors and plain
    values only, so the safe loader reads it back; the shipped DCDM, LPN and DnCNN models load the same way."""
    from importlib import resources

    from sciml.cli import main as cli

    save_dataset(smoothing_dataset(n=12, res=8), tmp_path / "d.nc")
    cfg = {"out_dir": "run", "data": {"path": "d.nc", "normalize": "pointwise"},
           "model": {"name": "fno", **TINY_FNO}, "train": {"epochs": 1, "batch_size": 4, "progress": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert cli(["train", str(tmp_path / "c.yaml"), "--no-eval"]) == 0
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(tmp_path / "run" / name, weights_only=True)
        assert {"optimizer", "scheduler", "rng"} <= set(ckpt["trainer"])
    for file, model in (("dcdm_poisson3d.pt", "dcdm"), ("lpn_natural_images.pt", "lpn"),
                        ("dncnn_natural_images.pt", "dncnn")):
        assert torch.load(resources.files("sciml") / "assets" / file, weights_only=True)["model"]["name"] == model


def test_resume_restores_the_numpy_rng_from_the_plain_state(tmp_path):
    """The numpy RNG state travels as a tensor; resuming puts the generator back exactly."""
    from sciml.train.seed import rng_state, set_rng_state

    np.random.seed(5)
    state = rng_state()
    torch.save(state, tmp_path / "rng.pt")
    expected = np.random.rand(3)
    np.random.seed(99)
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    np.testing.assert_array_equal(np.random.rand(3), expected)


def test_saving_a_non_plain_object_is_refused_at_save_time(tmp_path):
    """A checkpoint that could not be loaded safely is never written."""
    from sciml.train.checkpoint import save_checkpoint

    net = build_model("fno", in_channels=1, out_channels=1, **TINY_FNO)
    with pytest.raises(TypeError, match=r"checkpoint\['extra'\]\['when'\] is a"):
        save_checkpoint(tmp_path / "x.pt", net, extra={"when": object()})
    assert not (tmp_path / "x.pt").exists()
