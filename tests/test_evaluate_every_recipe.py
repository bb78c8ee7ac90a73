"""`sciml evaluate` scores the artefact of every registered recipe.

Each recipe runs at toy size without its evaluation (``evaluate=False``: the artefact alone must carry what
its evaluator needs), then ``sciml evaluate ARTEFACT`` scores it: exit code 0, every printed score a finite
number, and the scores equal those of the same spec run with its evaluation (same seed, same run). A recipe
registered without an entry in :data:`TOY_SPECS` fails :func:`test_every_recipe_has_a_toy_spec`.
"""
from __future__ import annotations

import copy
import json
import math

import pytest

from sciml.cli import main
from sciml.experiment import run_experiment, spec_from_dict
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



def is_timing(key: str) -> bool:
    """Scores that are wall-clock measurements (or say when one was taken): finite, but not repeatable."""
    return key.endswith(("_s", "_ms")) or "_s_" in key or "s_per_" in key or key.startswith(("wall", "seconds"))


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
    # the same spec and seed, evaluated as part of the run, gives the same scores (timings aside)
    together = run_experiment(spec_from_dict(toy_spec(name, tmp_path / "together")), evaluate=True)["scores"]
    assert set(together) == set(scores)
    for k in sorted(scores):
        if not is_timing(k):
            assert scores[k] == pytest.approx(together[k], rel=1e-6, abs=1e-12), f"{name}: {k}"
