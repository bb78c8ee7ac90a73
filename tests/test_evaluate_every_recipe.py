"""`sciml evaluate` scores the artefact of every registered recipe.

Each recipe runs at toy size without its evaluation (``evaluate=False``: the artefact alone must carry what
its evaluator needs), then ``sciml evaluate ARTEFACT`` scores it: exit code 0, every printed score a finite
number, and the scores equal those of the same spec run with its evaluation (same seed, same run; measurements of the machine, such as times, aside). A recipe
registered without an entry in :data:`TOY_SPECS` fails :func:`test_every_recipe_has_a_toy_spec`.
"""
from __future__ import annotations

import copy
import json
import math

import pytest

from sciml.cli import main
from sciml.experiment import evaluate_checkpoint, run_experiment, spec_from_dict
from sciml.recipes import RECIPES

# The smallest settings of each recipe's own tests (tests/operators, tests/evaluate/test_trajectory.py,
# tests/pinn, tests/linalg, tests/climate, tests/discovery, tests/inverse/test_recipe.py).
TOY_SPECS: dict[str, dict] = {
    "climate_emulator": {"recipe": "climate_emulator", "params": {"model": "lps", "members": 1}},
    "dcdm": {"recipe": "dcdm", "params": {"n": 8, "res": 8, "geometries": 2, "epochs": 1, "batch_size": 4,
                                          "lanczos_steps": 30, "channels": 4}},
    "denoiser": {"recipe": "denoiser", "model": {"name": "dncnn", "hidden": 4, "depth": 2},
                 "params": {"n_patches": 32, "res": 16, "batch_size": 4, "l1_steps": 6, "pm_steps": 4}},
    "field": {"recipe": "field", "data": {"make": "darcy", "params": {"n": 20, "res": 16, "seed": 0}},
              "model": {"name": "fno", "modes": 4, "width": 8, "layers": 1},
              "train": {"epochs": 1, "batch_size": 8, "progress": False}},
    "laplace_toy": {"recipe": "laplace_toy", "params": {"loss": "l2", "steps": 100, "batch_size": 500}},
    "linear_solver": {"recipe": "linear_solver",
                      "params": {"family": "constant", "grid": [16, 16], "method": "cg", "threads": 1}},
    "medida": {"recipe": "medida", "params": {"nx": 32, "spinup": 1500, "n_states": 8, "fc_steps": 12,
                                              "cycle_pre": 10, "observations": "full", "estimate": "direct",
                                              "kcut": None, "window": 1, "error": "drag0"}},
    "pinn": {"recipe": "pinn", "params": {"problem": "helmholtz2d", "adam_steps": 4, "n_colloc": 16, "eval_every": 2,
                                          "model": {"name": "pig", "n_gaussians": 8, "channels": 2, "hidden": [4]}}},
    "restoration": {"recipe": "restoration", "params": {"task": "deblur_noise0.02", "method": "tv", "size": 24,
                                                        "iter_grid": [2, 4], "ct_angles": 8}},
    "trajectory": {"recipe": "trajectory", "params": {
        "data": {"make": "ns_vorticity", "params": {"n": 4, "res": 16, "seed": 0, "frames": 5, "burn_in": 0.5}},
        "variables": ["w"], "history": 2, "model": {"name": "sinenet", "waves": 2, "channels": 4},
        "train": {"epochs": 1, "batch_size": 4, "progress": False}, "rollout_steps": 3,
        "split": {"train": 3, "test": 1}}},
}



def is_machine_measurement(key: str) -> bool:
    """Scores that measure the machine (wall-clock times, when one was taken, peak memory): finite, but not
    repeatable run to run."""
    return (key.endswith(("_s", "_ms", "_mb")) or "_s_" in key or "s_per_" in key
            or key.startswith(("wall", "seconds")))


def toy_spec(name: str, out_dir) -> dict:
    return {**copy.deepcopy(TOY_SPECS[name]), "name": f"toy_{name}", "out_dir": str(out_dir), "seed": 0,
            "device": "cpu"}


def test_every_recipe_has_a_toy_spec():
    assert set(TOY_SPECS) == set(RECIPES.names())


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Spin-ups and downloads the recipes cache go to the test's own folder."""
    monkeypatch.setenv("SCIML_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", sorted(TOY_SPECS))
def test_sciml_evaluate_scores_the_artefact_of_the_recipe(name, tmp_path, capsys):
    run = run_experiment(spec_from_dict(toy_spec(name, tmp_path / "run")), evaluate=False)
    assert run["metrics"] is None and run["scores"] == {}
    capsys.readouterr()
    assert main(["evaluate", run["checkpoint"], "--out", str(tmp_path / "eval")]) == 0
    printed = json.loads(capsys.readouterr().out.split("\nreport:")[0])
    scores = {k: v for k, v in printed.items() if not isinstance(v, str)}  # the str entries are labels
    assert scores, f"{name}: `sciml evaluate` printed no scores"
    bad = {k: v for k, v in scores.items() if not (isinstance(v, (int, float)) and math.isfinite(v))}
    assert not bad, f"{name}: scores that are not finite numbers: {bad}"
    # the same spec and seed, evaluated as part of the run, gives the same scores (times and memory aside)
    together = run_experiment(spec_from_dict(toy_spec(name, tmp_path / "together")), evaluate=True)["scores"]
    assert set(together) == set(scores)
    for k in sorted(scores):
        if not is_machine_measurement(k):
            assert scores[k] == pytest.approx(together[k], rel=1e-6, abs=1e-12), f"{name}: {k}"


def test_the_dcdm_evaluator_scores_the_held_out_tail_against_hand_computations(tmp_path, capsys):
    """Its held-out loss is the Trainer's validation loss of the same weights; its steepest-descent baseline
    is one exact line search along b, computed here on the scipy matrix."""
    import numpy as np
    import xarray as xr

    from sciml.models import load_model
    from sciml.pde.poisson import poisson_matrix
    from sciml.train.checkpoint import load_checkpoint, save_checkpoint

    run = run_experiment(spec_from_dict(toy_spec("dcdm", tmp_path / "run")), evaluate=False)
    extra = load_checkpoint(run["checkpoint"])["extra"]
    assert extra["held_out_path"] == str(tmp_path / "run" / "ritz.nc")
    ev = xr.open_dataset(tmp_path / "run" / "ritz.nc").isel(sample=slice(extra["held_out_from"], None))
    scores = evaluate_checkpoint(run["checkpoint"], out_dir=tmp_path / "ev").attrs
    assert scores["n_samples"] == ev.sizes["sample"] == 1  # 8 samples, the last 10% held out
    assert scores["held_out_loss"] == pytest.approx(extra["history"][-1]["val_loss"], rel=1e-5)
    by_hand = []
    for b, solid in zip(ev["b"].values.astype(float), ev["solid"].values.astype(bool)):
        A, b = poisson_matrix(solid, ("y+",)), b.ravel()
        Ab = A @ b
        by_hand.append(np.sum((b - Ab * (b @ b) / (b @ Ab)) ** 2))
    assert scores["steepest_descent_loss"] == pytest.approx(np.mean(by_hand), rel=1e-6)
    # a given dcdm_ritz file is scored whole
    capsys.readouterr()
    assert main(["evaluate", run["checkpoint"], str(tmp_path / "run" / "ritz.nc"), "--out", str(tmp_path / "all")]) == 0
    assert json.loads(capsys.readouterr().out.split("\nreport:")[0])["n_samples"] == 8
    # a checkpoint that records no held-out data asks for a data file, in one line
    save_checkpoint(tmp_path / "mixed.pt", load_model(run["checkpoint"]),
                    extra={"recipe": "dcdm", "data_path": str(tmp_path / "run" / "ritz.nc")})
    assert main(["evaluate", str(tmp_path / "mixed.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert "records no held-out data" in err and len(err.splitlines()) == 1


def test_a_dcdm_net_trained_on_mixed_in_residuals_scores_its_own_held_out_mixture(tmp_path):
    """The shuffled Ritz + residual mixture's held-out tenth is kept beside the run, so `sciml train` of such
    a spec (e.g. examples/configs/dcdm_train_32_zero.yaml) evaluates instead of failing after training."""
    import torch

    from sciml.models import build_model
    from sciml.train.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "base.pt", build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1))
    spec = toy_spec("dcdm", tmp_path / "run")
    spec["params"] = {**spec["params"], "init": str(tmp_path / "base.pt"),
                      "residuals": {"problems": 2, "res": 8, "per_problem": 3, "maxiter": 6}}
    run = run_experiment(spec_from_dict(spec))
    extra = load_checkpoint(run["checkpoint"])["extra"]
    assert extra["held_out_path"] == str(tmp_path / "run" / "held_out.nc")
    assert run["scores"]["n_samples"] == 14 - int(0.9 * 14)  # 8 Ritz vectors + 6 residuals, the last tenth
    assert run["scores"]["held_out_loss"] == pytest.approx(extra["history"][-1]["val_loss"], rel=1e-5)
