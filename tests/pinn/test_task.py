"""``sciml train`` with ``recipe: pinn``: the shipped YAML, shrunk, runs and writes a loadable model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec, run_experiment, spec_from_dict
from sciml.models import load_model
from sciml.pinn.problems import get_problem
from sciml.pinn.physics_training import relative_l2

CONFIG = Path(__file__).parents[2] / "examples" / "configs" / "pig_helmholtz.yaml"


def test_tiny_pinn_config_runs(tmp_path):
    raw = yaml.safe_load(CONFIG.read_text())
    assert raw["recipe"] == "pinn"
    raw["out_dir"] = str(tmp_path)
    raw["params"].update(adam_steps=30, n_colloc=64, eval_every=10)
    raw["params"]["model"].update(n_gaussians=20)
    out = run_experiment(spec_from_dict(raw))
    model = load_model(out["checkpoint"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["rel_l2"] == pytest.approx(relative_l2(model, get_problem("helmholtz2d")), rel=1e-5)
    assert len(metrics["history"]) == 3 and metrics["params"] == 4 * 20 * (2 + 2 + 1) + (4 * 16 + 16) + (16 + 1)
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]


def test_unknown_param_and_resume_fail(tmp_path):
    with pytest.raises(ConfigError):
        run_experiment(ExperimentSpec(recipe="pinn", out_dir=str(tmp_path), params={"adam_step": 3}))
    with pytest.raises(ConfigError, match="resume"):
        run_experiment(ExperimentSpec(recipe="pinn", out_dir=str(tmp_path), params={"adam_steps": 1}), resume=True)
