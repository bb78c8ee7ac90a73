"""The ``field`` recipe: its defaults are the MgNO paper's protocol, every model it trains rebuilds from its
checkpoint and scores with ``sciml evaluate``, and a model that is not discretisation-invariant is refused on
data of another grid."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.data import make_dataset, save_dataset
from sciml.data.normalize import Normalizers
from sciml.evaluate import field_metrics
from sciml.experiment import run_experiment, spec_from_dict
from sciml.models import load_model
from sciml.operators.recipe import DataConfig, OperatorTrainConfig, build_operator, loss_config
from sciml.operators.resolution import check_grid, training_grid
from sciml.train.checkpoint import load_checkpoint
from sciml.train.metrics import rel_h1

TOY_MODELS = {"mgno": {"name": "mgno", "width": 4, "layers": 1},
              "fno": {"name": "fno", "modes": 4, "width": 8, "layers": 1},
              "fno_neuralop": {"name": "fno_neuralop", "n_modes": 8, "hidden_channels": 8, "n_layers": 1},
              "unet": {"name": "unet", "width": 4, "depth": 2}}


def toy_spec(tmp_path, model, **extra):
    return spec_from_dict({"recipe": "field", "name": "toy", "out_dir": str(tmp_path / "run"), "device": "cpu",
                           "data": {"make": "darcy", "params": {"n": 20, "res": 16, "seed": 0}}, "model": model,
                           "train": {"epochs": 1, "batch_size": 8, "progress": False}, **extra})


def test_the_defaults_are_the_mgno_papers_protocol():
    cfg = OperatorTrainConfig()
    assert (cfg.optimizer, cfg.weight_decay, cfg.scheduler, cfg.grad_clip) == ("adam", 1e-4, "onecycle", 0.0)
    assert cfg.scheduler_kwargs == {"pct_start": 0.2, "div_factor": 2.0, "final_div_factor": 100.0}
    assert DataConfig().normalize == "pointwise"
    spec = spec_from_dict({"recipe": "field", "train": {"epochs": 3}})
    assert isinstance(spec.train, OperatorTrainConfig) and spec.train.optimizer == "adam" and spec.train.epochs == 3
    assert spec_from_dict(spec.to_dict()) == spec
    # spectral H1 on a 2-D grid; relative L2 where it is not defined; periodic reaches the losses that take it
    assert loss_config(None, periodic=False) == {"name": "spectral_h1"}
    assert loss_config(None, periodic=True, spatial_ndim=1) == {"name": "rel_l2"}
    assert loss_config({"name": "l2_h1"}, periodic=True) == {"name": "l2_h1", "periodic": True}


def test_decoded_output_returns_the_targets_in_physical_units():
    ds = make_dataset("darcy", n=12, res=16, seed=0)
    norms = Normalizers.fit(ds, ["a", "u"], pointwise=True)
    net, loader_norms = build_operator(TOY_MODELS["fno"], DataConfig(), norms, 2, decode=True)
    assert list(loader_norms) == ["a"]  # the loader leaves the targets physical
    x = norms.encode("a", torch.as_tensor(ds["a"].values[:2], dtype=torch.float32)[:, None])
    with torch.no_grad():
        inner = net.net(x)
        assert torch.allclose(net(x), norms.decode("u", inner.double()).float(), atol=1e-6)
    bare, both = build_operator(TOY_MODELS["fno"], DataConfig(), norms, 2, decode=False)
    assert sorted(both) == ["a", "u"] and not hasattr(bare, "set_statistics")


@pytest.mark.parametrize("name", sorted(TOY_MODELS))
def test_sciml_evaluate_scores_every_model_the_recipe_trains(name, tmp_path, capsys):
    if name == "fno_neuralop":
        pytest.importorskip("neuralop")
    run_experiment(toy_spec(tmp_path, TOY_MODELS[name]), evaluate=False)
    ckpt = tmp_path / "run" / "best.pt"
    saved = load_checkpoint(ckpt)
    assert saved["model"]["name"] == "decoded_output" and saved["model"]["config"]["net"]["name"] == name
    assert saved["extra"]["grid"] == [16, 16] and saved["extra"]["loss"] == {"name": "spectral_h1"}
    assert list(saved["normalizers"]) == ["a"]
    capsys.readouterr()
    assert main(["evaluate", str(ckpt), "--out", str(tmp_path / "eval")]) == 0
    scores = json.loads(capsys.readouterr().out.split("report:")[0])
    assert 0 < scores["rel_l2"] < 2 and np.isfinite(scores["rel_h1"])
    assert scores["params"] == sum(p.numel() * (2 if p.is_complex() else 1) for p in load_model(ckpt).parameters())
    assert scores["epochs"] == 1 and scores["s_per_epoch"] > 0 and scores["infer_ms"] > 0
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "spectral_h1" not in scores and "params" in report and f"Evaluation of {name} on" in report


def test_a_unet_on_another_grid_is_one_line_error_and_an_fno_is_scored(tmp_path, capsys):
    fine = tmp_path / "fine.nc"
    save_dataset(make_dataset("darcy", n=4, res=32, seed=1), fine)
    run_experiment(toy_spec(tmp_path / "unet", TOY_MODELS["unet"]), evaluate=False)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "unet" / "run" / "best.pt"), str(fine)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for words in ("'unet'", "16x16 grid", "32x32 grid", "not discretisation-invariant",
                  "evaluate it on data on a 16x16"):
        assert words in err
    run_experiment(toy_spec(tmp_path / "fno", TOY_MODELS["fno"]), evaluate=False)
    assert main(["evaluate", str(tmp_path / "fno" / "run" / "best.pt"), str(fine)]) == 0
    # the U-Net on its own grid is scored
    coarse = tmp_path / "coarse.nc"
    save_dataset(make_dataset("darcy", n=4, res=16, seed=1), coarse)
    assert main(["evaluate", str(tmp_path / "unet" / "run" / "best.pt"), str(coarse)]) == 0


def test_the_training_grid_is_read_from_older_checkpoints_normalisers():
    ckpt = {"model": {"name": "unet"}, "extra": {"inputs": ["a"]},
            "normalizers": {"a": {"mean": torch.zeros(8, 8), "std": torch.ones(8, 8)}}}
    assert training_grid(ckpt) == (8, 8)
    check_grid(ckpt, (8, 8), "same.nc")
    with pytest.raises(Exception, match="trained on a 8x8 grid"):
        check_grid(ckpt, (16, 16), "fine.nc")
    check_grid({**ckpt, "model": {"name": "decoded_output", "config": {"net": {"name": "mgno"}}}}, (16, 16), "f.nc")
    assert training_grid({"extra": {"inputs": ["a"]}, "normalizers": {"a": {"mean": 0.0, "std": 1.0}}}) is None


def test_periodic_h1_wraps_around_the_edges_in_field_metrics():
    import xarray as xr

    x = np.arange(8) / 8
    truth = np.sin(2 * np.pi * x)[None, None, :].repeat(8, axis=1)   # (sample, y, x), smooth on the torus
    pred = truth + x[None, None, :]                                  # an error that jumps across the wrap

    def mk(v):
        return xr.Dataset({"u": (("sample", "y", "x"), v)})

    wrap, flat = (field_metrics(mk(pred), mk(truth), ["u"], metrics=("rel_h1",), periodic=p)["rel_h1"].item()
                  for p in (True, False))
    t, p = torch.as_tensor(truth)[:, None], torch.as_tensor(pred)[:, None]
    assert wrap == pytest.approx(rel_h1(p, t, periodic=True).item()) and flat == pytest.approx(rel_h1(p, t).item())
    assert wrap > flat  # the periodic difference sees the jump from x = 7/8 back to 0


def test_runs_naming_one_data_cache_share_one_generation(tmp_path):
    cache = tmp_path / "shared" / "darcy.nc"
    specs = [spec_from_dict({**toy_spec(tmp_path / name, TOY_MODELS["fno"]).to_dict(),
                             "data": {"make": "darcy", "params": {"n": 20, "res": 16, "seed": 0}, "cache": str(cache)}})
             for name in ("b", "c")]
    run_experiment(specs[0], evaluate=False)
    made = cache.stat().st_mtime_ns
    run_experiment(specs[1], evaluate=False)
    assert cache.stat().st_mtime_ns == made  # reused, not regenerated
    for name in ("b", "c"):
        assert load_checkpoint(tmp_path / name / "run" / "best.pt")["extra"]["data_path"] == str(cache.resolve())
        assert not (tmp_path / name / "run" / "data.nc").exists()
