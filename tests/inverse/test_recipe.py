"""The inverse-problem recipes: denoiser, restoration and laplace_toy run from specs, their checkpoints
rebuild and score with ``sciml evaluate``, and a restoration spec trains its own prior when it must."""
import math

import numpy as np
import pytest
import torch
import xarray as xr

from sciml.cli import main
from sciml.data.io import save_dataset
from sciml.errors import ConfigError
from sciml.experiment import evaluate_checkpoint, run_experiment, spec_from_dict
from sciml.inverse.recipe import denoiser_settings, evaluate_restoration
from sciml.models import load_model

TINY_NET = {"name": "lpn", "hidden": 4, "layers": 2}
TINY_TRAINING = {"n_patches": 32, "res": 16, "batch_size": 4, "l1_steps": 6, "pm_steps": 4}
TINY_CROPS = {"size": 24, "iter_grid": [2, 4], "ct_angles": 8}


def denoiser_spec(tmp_path, name="lpn", **extra):
    return spec_from_dict({"recipe": "denoiser", "name": "d", "out_dir": str(tmp_path / "den"), "device": "cpu",
                           "model": {**TINY_NET, "name": name} if name == "lpn" else {"name": name, "hidden": 4,
                                                                                      "depth": 2},
                           "params": {**TINY_TRAINING, **extra}})


def test_denoiser_checkpoint_rebuilds_and_scores_with_sciml_evaluate(tmp_path, capsys):
    out = run_experiment(denoiser_spec(tmp_path, "dncnn"))
    ckpt = tmp_path / "den" / "dncnn.pt"
    assert out["checkpoint"] == str(ckpt)
    torch.load(ckpt, map_location="cpu", weights_only=True)        # plain types only
    assert load_model(str(ckpt)).__class__.__name__ == "DnCNN"
    scores = out["scores"]
    assert scores["mse_steps"] == 10 and scores["train_s"] > 0       # mse_steps defaults to l1 + pm steps
    # the noisy input's PSNR at noise s is about 10 log10(1 / s^2) (the patches are clipped, so a little over)
    assert abs(scores["input_psnr_db_noise0.05"] - 20 * math.log10(1 / 0.05)) < 0.5
    assert main(["evaluate", str(ckpt), "--out", str(tmp_path / "ev")]) == 0
    again = evaluate_checkpoint(ckpt, out_dir=tmp_path / "ev2").attrs
    assert again["psnr_db_noise0.02"] == pytest.approx(scores["psnr_db_noise0.02"])


def test_lpn_denoiser_scores_its_prior_against_the_noise(tmp_path):
    scores = run_experiment(denoiser_spec(tmp_path))["scores"]
    assert (scores["l1_steps"], scores["pm_steps"]) == (6, 4)
    rs = [scores[f"prior_r_noise{s:g}"] for s in (0.0, 0.025, 0.05, 0.1, 0.2)]
    assert scores["prior_rises"] == float(all(b > a for a, b in zip(rs, rs[1:])))


def test_denoiser_settings_complete_the_defaults_and_refuse_the_spec_keys():
    s = denoiser_settings({"model": {"name": "dncnn"}, "res": 16})
    assert s["res"] == 16 and s["n_patches"] == 2000 and s["l1_steps"] == 2000 and s["model"] == {"name": "dncnn"}
    assert denoiser_settings({})["model"] == {"name": "lpn"}
    with pytest.raises(ConfigError, match="seed"):
        denoiser_settings({"seed": 1})
    with pytest.raises(ConfigError, match="n_pathces"):
        denoiser_settings({"n_pathces": 1})


def restoration_spec(tmp_path, method, **params):
    return spec_from_dict({"recipe": "restoration", "name": "r", "out_dir": str(tmp_path / f"r-{method}"),
                           "device": "cpu", "params": {"task": "deblur_noise0.02", "method": method, **TINY_CROPS,
                                                       **params}})


def test_a_learned_restoration_trains_its_prior_first_and_then_reuses_it(tmp_path):
    prior = tmp_path / "den" / "lpn.pt"
    training = {"model": TINY_NET, **TINY_TRAINING}
    spec = restoration_spec(tmp_path, "lpn", prior=str(prior), prior_training=training)
    assert spec_from_dict(spec.to_dict()) == spec
    first = run_experiment(spec)["scores"]
    assert prior.is_file() and first["iters"] in (2, 4) and math.isfinite(first["psnr_db"])
    artefact = tmp_path / "r-lpn" / "restoration.json"                  # names its recipe: sciml evaluate scores it
    assert evaluate_checkpoint(artefact, out_dir=tmp_path / "ev").attrs["psnr_db"] == first["psnr_db"]
    # the same weights as the denoiser recipe's own run of this seed (the restoration seeds it the same way)
    run_experiment(denoiser_spec(tmp_path / "alone"))
    a, b = load_model(str(prior)).state_dict(), load_model(str(tmp_path / "alone" / "den" / "lpn.pt")).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert run_experiment(spec)["scores"]["psnr_db"] == first["psnr_db"]        # reused, same seed, same score
    other = restoration_spec(tmp_path, "lpn", prior=str(prior), prior_training={**training, "l1_steps": 7})
    with pytest.raises(ConfigError, match="trained otherwise"):
        run_experiment(other)


def test_restoration_refuses_a_prior_where_none_is_used_and_asks_for_one_where_it_is(tmp_path):
    with pytest.raises(ConfigError, match="uses no learned prior"):
        run_experiment(restoration_spec(tmp_path, "tv", prior=str(tmp_path / "x.pt")))
    with pytest.raises(ConfigError, match="give prior"):
        run_experiment(restoration_spec(tmp_path, "dncnn"))


def test_restoration_evaluator_scores_a_stored_restoration_against_a_hand_computation(tmp_path):
    truth = np.zeros((2, 8, 8))
    restored = truth.copy()
    restored[0, 0, 0] = 0.8                      # MSE 0.64 / 64 = 0.01 -> 20 dB
    restored[1] = 0.1                            # MSE 0.01 -> 20 dB ...
    restored[1, 0, 0] = -3.0                     # ... but -3 is clipped to 0 first: MSE 63 * 0.01 / 64
    dims = ("sample", "y", "x")
    ds = xr.Dataset({"restored": (dims, restored), "truth": (dims, truth), "measured": (dims, truth),
                     "seconds": ("sample", [0.1, 0.3])}, coords={"sample": ["a", "b"]},
                    attrs={"task": "deblur_noise0.02", "method": "tv", "strength": 0.01, "iters": 10})
    path = save_dataset(ds, tmp_path / "restoration.nc")
    got = evaluate_restoration(path, None, tmp_path)
    second = 10 * math.log10(64 / (63 * 0.01))
    assert got["psnr_db"].values == pytest.approx([20.0, second])
    assert got.attrs["psnr_db"] == pytest.approx((20 + second) / 2) and got.attrs["wall_s"] == pytest.approx(0.2)
    restored[1, 3, 3] = np.nan                   # a broken pixel makes that image's scores NaN, never hidden
    path = save_dataset(ds.assign(restored=(dims, restored)), tmp_path / "broken.nc")
    got = evaluate_restoration(path, None, tmp_path)
    assert math.isnan(got["psnr_db"].values[1]) and math.isnan(got["ssim"].values[1]) and math.isnan(got.attrs["psnr_db"])


def test_laplace_toy_checkpoint_rebuilds_and_scores_with_sciml_evaluate(tmp_path):
    spec = spec_from_dict({"recipe": "laplace_toy", "name": "t", "out_dir": str(tmp_path / "toy"),
                           "params": {"loss": "l2", "steps": 40, "batch_size": 500}})
    scores = run_experiment(spec)["scores"]
    assert set(scores) >= {"max_err_soft", "max_err_mmse", "max_err_median", "lambda", "r_max_err"}
    assert scores["max_err_mmse"] < scores["max_err_soft"]       # l2 heads for the posterior mean, not the MAP
    again = evaluate_checkpoint(tmp_path / "toy" / "toy_lpn.pt").attrs
    assert again["lambda"] == pytest.approx(scores["lambda"])
    with pytest.raises(ConfigError, match="loss must be"):
        run_experiment(spec_from_dict({"recipe": "laplace_toy", "out_dir": str(tmp_path / "t2"),
                                       "params": {"loss": "huber"}}))


def test_the_specs_on_the_lpn_page_load():
    """The YAML specs shown in docs/lpn.md are valid specs of these recipes."""
    import re
    from pathlib import Path

    import yaml

    page = (Path(__file__).resolve().parents[2] / "docs" / "lpn.md").read_text()
    specs = [spec_from_dict(yaml.safe_load(b)) for b in re.findall(r"^```yaml\n(.*?)^```", page, flags=re.S | re.M)]
    assert [s.recipe for s in specs] == ["denoiser", "restoration"]
    assert specs[1].params["prior"] == str(Path(specs[0].out_dir) / "lpn.pt")


@pytest.mark.parametrize("setting", [{"n_patches": 0}, {"batch_size": 0}, {"l1_steps": -1}, {"res": 2},
                                     {"sigma_train": -0.1}, {"pm_fraction": 2.0}])
def test_denoiser_counts_that_cannot_train_are_config_errors(setting):
    """No patches and batch size 0 failed inside torch; the others trained nothing or nonsense silently."""
    with pytest.raises(ConfigError, match=next(iter(setting))):
        denoiser_settings(setting)


def test_a_nan_prior_value_makes_prior_rises_nan_not_a_verdict(tmp_path, monkeypatch):
    """prior_value returns NaN where f(y) = x has no solution; NaN > a is False, which read as 'does not rise'."""
    import sciml.inverse.recipe as recipe

    run_experiment(denoiser_spec(tmp_path), evaluate=False)
    monkeypatch.setattr(recipe, "prior_vs_noise", lambda model, res, seed: {0.0: 1.0, 0.1: float("nan"), 0.2: 3.0})
    scores = evaluate_checkpoint(tmp_path / "den" / "lpn.pt", out_dir=tmp_path / "ev").attrs
    assert math.isnan(scores["prior_rises"]) and math.isnan(scores["prior_r_noise0.1"])
