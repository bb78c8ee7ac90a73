"""The MEDIDA steps (sciml.discovery.medida), the medida_correction model and the medida recipe."""
import json

import numpy as np
import pytest
import torch

from sciml.discovery.estimator import ModelErrorDiscovery
from sciml.discovery.medida import (CHECKPOINTS, ERRORS, EstimateSettings, TruthWindow, cached_spin_up,
                                    cycle_errors, discover, estimate_diagnostics, estimate_states, forecast_errors,
                                    imperfect_model, observe_truth, rel, true_coefficients, truth_and_future,
                                    truth_window)
from sciml.errors import ConfigError
from sciml.experiment import run_experiment, spec_from_dict
from sciml.models import build_model, load_model
from sciml.pde.qg import QGModel
from sciml.train.checkpoint import save_checkpoint

TOY = {"nx": 32, "spinup": 1500, "n_states": 8, "fc_steps": 12, "cycle_pre": 10}


@pytest.fixture(autouse=True)
def spin_up_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def truth():
    return QGModel(nx=32)


def test_spin_up_is_cached_per_grid_steps_and_seed(truth, tmp_path):
    q0, hist = cached_spin_up(truth, 300, seed=1)
    assert (tmp_path / "cache" / "medida_qg32_300" / "seed1.pt").is_file()
    again, hist2 = cached_spin_up(truth, 300, seed=1)
    assert torch.equal(q0, again) and all(torch.equal(a, b) for a, b in zip(hist, hist2))
    assert not torch.equal(q0, cached_spin_up(truth, 300, seed=2)[0])


def test_the_window_before_the_states_continues_into_them(truth):
    win = truth_window(truth, 500, 6, n_pre=5)
    assert win.pre.shape == (5, 2, 32, 32) and win.states.shape == (6, 2, 32, 32)
    assert win.restart_mismatch < 1e-12                     # a restart from a saved state: round-off only
    nxt, _ = truth.run(win.pre[-1], 1, history=[truth.tendency_hat(truth.fft(win.pre[-2])),
                                                 truth.tendency_hat(truth.fft(win.pre[-3]))])
    assert rel(nxt[0], win.states[0]) < 1e-6                 # AB3 from the states' own tendencies
    states, future = truth_and_future(truth, 500, 6, 3)
    assert torch.equal(states, win.states) and future.shape == (3, 2, 32, 32)


@pytest.mark.parametrize("error", list(ERRORS))
def test_the_true_coefficients_make_the_imperfect_model_the_truth(truth, error):
    """Hand truth: the imperfect model plus the true coefficients has the true model's tendency."""
    q = truth.random_state(1, amplitude=1e-5, seed=3)[0]
    imperfect = imperfect_model(truth, error)
    fixed = build_model("medida_correction", nx=32, qg=ERRORS[error]).load_coefficients(
        true_coefficients(truth, error)).corrected_model()
    gap = (imperfect.tendency(q) - truth.tendency(q)).abs().max()
    assert gap > 0
    assert (fixed.tendency(q) - truth.tendency(q)).abs().max() < 1e-9 * gap


@pytest.mark.parametrize("error", list(ERRORS))
def test_full_observations_discover_each_error_exactly(truth, error):
    win = truth_window(truth, 1500, 8)
    values, mask = observe_truth(truth, win, "full")
    est, _ = estimate_states(truth, imperfect_model(truth, error), win, values, mask, EstimateSettings("direct"))
    coef = discover(imperfect_model(truth, error), est, threshold=0.05, kcut=None, scale="common")
    true = true_coefficients(truth, error)
    assert np.array_equal(coef != 0, true != 0)
    assert np.abs(coef - true).max() < 1e-8 * np.abs(true).max()


def test_observations_sparse_psi_and_noisy_pv(truth):
    win = truth_window(truth, 300, 5)
    vals, mask = observe_truth(truth, win, "sparse", density=0.25, observed="psi", sensors="fixed", seed=0)
    assert torch.allclose(vals[mask], truth.psi(win.states)[mask])
    assert torch.isnan(vals[~mask]).all() and mask.float().mean() == pytest.approx(0.25, abs=1e-3)
    assert (mask == mask[:1]).all()                                     # fixed sensors: one mask
    _, moving = observe_truth(truth, win, "sparse", density=0.25, sensors="moving")
    assert not (moving == moving[:1]).all()
    noisy, _ = observe_truth(truth, win, "noisy", noise=1e-3)
    err = (noisy - win.states).pow(2).mean((0, 2, 3)).sqrt() / win.states.pow(2).mean((0, 2, 3)).sqrt()
    assert torch.allclose(err, torch.full((2,), 1e-3, dtype=err.dtype), rtol=0.05)
    with pytest.raises(ConfigError, match="full, noisy or sparse"):
        observe_truth(truth, win, "partial")


def test_diagnostics_are_zero_on_the_truth_and_measure_a_known_error(truth):
    win = truth_window(truth, 600, 8)
    model = imperfect_model(truth, "drag0")
    d = estimate_diagnostics(truth, model, win.states, win.states)
    assert all(v == 0 for v in d.values())
    off = win.states * 1.01                                  # a 1 % error everywhere
    d = estimate_diagnostics(truth, model, off, win.states)
    assert d["interp_rel_err"] == pytest.approx(0.01) and d["psi_rel_err"] == pytest.approx(0.01)
    assert d["increment_err_over_signal"] > d["increment_err_over_signal_lowpassed"] > 0


def test_cycle_errors_at_the_checkpoints_and_the_last_cycle(truth):
    win = TruthWindow(torch.ones(7, 2, 32, 32, dtype=torch.float64), torch.ones(6, 2, 32, 32, dtype=torch.float64))
    analyses = win.all * 1.5
    errs = cycle_errors(truth, analyses, win)
    steps = [c for c in CHECKPOINTS if c < 13] + [12]
    assert sorted(errs) == sorted([f"analysis_rel_err_c{t}" for t in steps] + [f"analysis_psi_rel_err_c{t}" for t in steps])
    assert errs["analysis_rel_err_c12"] == pytest.approx(0.5)


def test_the_correction_model_is_the_estimators_correction_and_survives_its_checkpoint(truth, tmp_path):
    win = truth_window(truth, 600, 8)
    imperfect = imperfect_model(truth, "drag2x")
    med = ModelErrorDiscovery(imperfect, threshold=0.05).fit(win.states)
    net = build_model("medida_correction", nx=32, qg=ERRORS["drag2x"]).load_coefficients(med.coef_)
    assert torch.equal(net(win.states), med.correction()(win.states))
    assert net.equation() == med.equation()
    back = load_model(str(save_checkpoint(tmp_path / "m.pt", net)))
    assert torch.equal(back.coef, net.coef) and back.model.rek == imperfect.rek
    fc = forecast_errors(back.corrected_model(), win.states[:5], win.states[5:])
    assert max(fc) < 1e-10 < min(forecast_errors(imperfect, win.states[:5], win.states[5:]))


def medida_spec(tmp_path, **params):
    return spec_from_dict({"recipe": "medida", "name": "toy", "out_dir": str(tmp_path / "run"), "device": "cpu",
                           "params": {**TOY, **params}})


def test_the_recipe_discovers_and_sciml_evaluate_scores_its_checkpoint(tmp_path, capsys):
    from sciml.cli import main

    res = run_experiment(medida_spec(tmp_path, observations="full", estimate="direct", kcut=None, window=1,
                                     error="drag0"))
    s = res["scores"]
    assert s["correct_terms"] == 1 and s["coef_rel_err"] < 1e-8 and s["interp_rel_err"] == 0
    assert s["forecast_rel_err"] < 1e-8 < s["forecast_rel_err_uncorrected"]
    assert main(["evaluate", res["checkpoint"], "--out", str(tmp_path / "ev")]) == 0
    printed = json.loads(capsys.readouterr().out.split("report:")[0])
    assert printed["coef_rel_err"] == s["coef_rel_err"] and printed["error"] == "drag0"
    assert "-5.787e-07 lap_psi2" in json.loads((tmp_path / "ev" / "eval.json").read_text())["equation"]


def test_the_recipe_defaults_cycle_moving_sensors_and_report_the_analysis_error(tmp_path):
    s = run_experiment(medida_spec(tmp_path, window=2))["scores"]
    last = TOY["cycle_pre"] + TOY["n_states"] - 1
    assert s[f"analysis_rel_err_c{last}"] < 0.5 * s["analysis_rel_err_c0"]     # cycling converges
    assert np.isfinite(s["coef_rel_err"]) and s["correct_terms"] in (0, 1)


@pytest.mark.parametrize("params, message", [
    ({"observations": "sparse", "estimate": "direct"}, "works on full or noisy"),
    ({"observations": "full", "estimate": "cycled"}, "works on sparse"),
    ({"estimate": "interpolate", "regression": "observation_space", "window": 1}, "regresses a cycled"),
    ({"window": 9}, "window must be between 1 and n_states - 3"),
    ({"error": "drag3x"}, "unknown MEDIDA error model"),
    ({"estimate": "cycled", "interpolator": "spectral"}, "fills its innovations with rff or cubic"),
    # these once ended in an IndexError, a ValueError, a ZeroDivisionError, an MKL error or a silent run
    ({"fc_steps": 0}, r"fc_steps=0"),
    ({"observations": "sparse", "estimate": "cycled", "density": 1.5}, r"density=1.5"),
    ({"nx": 0}, r"nx=0"),
    ({"spinup": -5}, r"spinup=-5"),
    ({"observations": "noisy", "estimate": "enkf", "members": 0}, r"members=0"),
])
def test_settings_that_do_not_fit_are_one_line_config_errors(tmp_path, params, message):
    with pytest.raises(ConfigError, match=message):
        run_experiment(medida_spec(tmp_path, **params))
