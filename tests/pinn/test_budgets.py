"""The pinn recipe's defaults: each problem's training budget, whole validation epochs, the seeding of the
models' own random draws, and the evaluator's fields against its own relative L2."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec, evaluate_checkpoint, run_experiment
from sciml.models import build_model
from sciml.pinn import get_problem, problem_names, train_physics, training_budget
from sciml.pinn.budgets import PRESETS, pig_size, resolve_training, validation_interval
from sciml.pinn.task import build_pinn_model


def test_validation_interval_is_the_largest_divisor_up_to_a_fifth():
    for n in range(400):
        k = validation_interval(n)
        brute = max(d for d in range(1, max(n // 5, 1) + 1) if n % d == 0) if n else 1
        assert k == brute, n
    assert validation_interval(2000) == 400 and validation_interval(13) == 1


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", problem_names())
def test_every_budget_trains_whole_epochs_and_weights_causally_only_in_time(name, preset):
    b = training_budget(name, preset)
    assert b["adam_steps"] % b["eval_every"] == 0 and b["eval_every"] >= 1
    assert b["causal_eps"] is None or get_problem(name).time_dependent
    assert pig_size(name, preset)["n_gaussians"] > 0


def test_problem_budgets_override_the_shared_one():
    shared = training_budget("poisson_sharp")  # no overrides of its own
    ac = training_budget("allen_cahn")
    assert ac["adam_steps"] > shared["adam_steps"] and ac["causal_eps"] == 1.0 and shared["causal_eps"] is None
    assert training_budget("allen_cahn", "gpu")["causal_eps"] == 1.0  # loss options hold in every preset
    assert training_budget("helmholtz2d", "gpu")["adam_steps"] > training_budget("helmholtz2d")["adam_steps"]
    with pytest.raises(ConfigError, match="presets are"):
        training_budget("helmholtz2d", "laptop")


def test_a_spec_overrides_defaults_and_must_train_whole_epochs():
    prob = get_problem("allen_cahn")
    assert resolve_training(prob, {}) == training_budget(prob)
    given = resolve_training(prob, {"adam_steps": 30, "causal_eps": 0, "lr": None})
    assert given["adam_steps"] == 30 and given["eval_every"] == 6 and given["causal_eps"] is None
    assert given["lr"] == training_budget(prob)["lr"]
    with pytest.raises(ConfigError, match="does not divide"):
        resolve_training(prob, {"adam_steps": 30, "eval_every": 7})
    with pytest.raises(ConfigError, match="time-dependent"):
        resolve_training("helmholtz2d", {"causal_eps": 1.0})


def test_the_spec_seed_seeds_the_models_own_draws():
    prob = get_problem("helmholtz2d")
    for seed in (0, 3):  # the same weights as seeding torch and passing the seed to the model by hand
        torch.manual_seed(seed)
        by_hand = build_model("pig", lower=prob.lower, upper=prob.upper, **prob.pig_defaults, seed=seed)
        ours = build_pinn_model({"name": "pig"}, prob, seed)
        for a, b in zip(by_hand.state_dict().values(), ours.state_dict().values()):
            assert torch.equal(a, b)
    a, b = (build_pinn_model({"name": "pinn_fourier"}, prob, s).B for s in (0, 1))
    assert not torch.equal(a, b)
    assert build_pinn_model({"name": "pig", "seed": 5}, prob, 0).sciml_config["config"]["seed"] == 5


def test_evaluate_scores_and_writes_fields_that_give_the_same_error(tmp_path):
    spec = ExperimentSpec(recipe="pinn", out_dir=str(tmp_path), seed=1, device="cpu",
                          params={"problem": "helmholtz2d", "model": {"name": "pig", "n_gaussians": 8},
                                  "adam_steps": 10, "n_colloc": 32})
    first = run_experiment(spec)["scores"]
    res = evaluate_checkpoint(tmp_path / "final.pt", out_dir=tmp_path / "eval")
    assert res.attrs["rel_l2"] == pytest.approx(first["rel_l2"]) and res.attrs["wall_s"] > 0
    assert res.attrs["params"] == first["params"] == 4 * 8 * 5 + 4 * 16 + 16 + 17
    with xr.open_dataset(tmp_path / "eval" / "fields.nc") as f:
        pred, truth = f.prediction.values, f.truth.values
        assert f.prediction.dims == ("x", "y") and f.centres_start.shape == f.centres_trained.shape == (32, 2)
        moved = np.abs(f.centres_trained.values - f.centres_start.values).max()
    assert np.linalg.norm(pred - truth) / np.linalg.norm(truth) == pytest.approx(res.attrs["rel_l2"], rel=1e-5)
    assert 0 < moved < 1  # the Gaussians moved, from where the config's seed put them


def test_train_physics_left_alone_trains_the_problems_budget():
    prob = get_problem("allen_cahn")
    runs = []
    for given in ({"adam_steps": 6, "n_colloc": 32},  # the rest from the problem: causal weighting, lr, decay
                  {**training_budget(prob), "adam_steps": 6, "n_colloc": 32, "eval_every": 1}):
        model = build_pinn_model({"name": "pig", "n_gaussians": 8}, prob, seed=0)
        runs.append(train_physics(model, prob, **given))
    assert runs[0]["settings"] == runs[1]["settings"]
    assert runs[0]["settings"]["causal_eps"] == 1.0 and runs[0]["settings"]["eval_every"] == 1
    assert "causal_w_min" in runs[0]["history"][0] and len(runs[0]["history"]) == 6
    assert runs[0]["rel_l2"] == runs[1]["rel_l2"]
    off = train_physics(build_pinn_model({"name": "pinn", "width": 8, "depth": 2}, prob, 0), prob, adam_steps=2,
                        n_colloc=16, causal_eps=0)
    assert off["settings"]["causal_eps"] is None and "causal_w_min" not in off["history"][0]
    with pytest.raises(ConfigError, match="does not divide"):
        train_physics(model, prob, adam_steps=5, eval_every=2)


@pytest.mark.parametrize("given", [{"eval_every": 0}, {"eval_every": -5}, {"adam_steps": -10}, {"n_colloc": 0},
                                   {"lbfgs_steps": -1}])
def test_counts_that_cannot_run_are_config_errors(given):
    """eval_every 0 divided by zero; a negative count trained nothing without a word."""
    with pytest.raises(ConfigError, match=next(iter(given))):
        resolve_training("helmholtz2d", given)
