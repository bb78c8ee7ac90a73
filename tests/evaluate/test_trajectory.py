"""The trajectory recipe: its defaults, split, scores (against hand computations) and `sciml evaluate` on its checkpoints."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import xarray as xr

from sciml.cli import main
from sciml.data import Normalizers, TrajectoryDataset, fingerprint, save_dataset
from sciml.errors import ConfigError
from sciml.evaluate.trajectory import (evaluate_trajectory, next_frame_model, one_step_rel_l2, persistence_rel_l2,
                                       physical_trajectories, stack_windows, trajectory_split,
                                       trajectory_train_config)
from sciml.experiment import ExperimentSpec, run_experiment, spec_from_dict
from sciml.models import build_model, load_model
from sciml.train.checkpoint import load_checkpoint, save_checkpoint

TOY = dict(data={"make": "ns_vorticity", "params": {"n": 4, "res": 16, "seed": 0, "frames": 5, "burn_in": 0.5}},
           variables=["w"], history=2, model={"name": "sinenet", "waves": 2, "channels": 4},
           train={"epochs": 1, "batch_size": 4, "progress": False}, rollout_steps=3, split={"train": 3, "test": 1})


def rel_l2(pred, truth):
    """Relative L2 of one frame, by hand."""
    return np.linalg.norm(pred - truth) / np.linalg.norm(truth)


def toy_data(n=4, t=6, res=8, fields=("a", "b"), seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset({f: (("sample", "time", "y", "x"), rng.normal(2.0, 1.0, (n, t, res, res)).astype("float32"))
                       for f in fields})


def test_the_recipe_trains_and_sciml_evaluate_scores_its_checkpoint(tmp_path, capsys):
    out = run_experiment(ExperimentSpec(recipe="trajectory", params=TOY, out_dir=str(tmp_path), device="cpu"))
    assert out["checkpoint"].endswith("last.pt")  # the default scores the last epoch
    s = out["scores"]
    assert 0 < s["one_step_rel_l2"] < 2 and 0 < s["rollout_rel_l2"] < 2 and s["n_train"] == 3 and s["n_test"] == 1
    assert s["train_windows"] == 3 * (6 - 2) and s["optimizer_steps"] == 3 and s["epochs"] == 1
    model = load_model(out["checkpoint"])  # the increment wrapper rebuilds from its checkpoint alone
    assert load_checkpoint(out["checkpoint"])["model"]["name"] == "next_frame_from_increment"
    assert model(torch.randn(1, 2, 16, 16)).shape == (1, 1, 16, 16)
    assert main(["evaluate", out["checkpoint"], "--out", str(tmp_path / "again")]) == 0
    printed = json.loads(capsys.readouterr().out.split("report:")[0])
    for k in ("one_step_rel_l2", "rollout_rel_l2", "train_one_step_rel_l2", "persistence_rollout_rel_l2", "gmacs"):
        assert printed[k] == pytest.approx(s[k], rel=1e-6), k
    ev = xr.open_dataset(tmp_path / "again" / "eval.nc")
    assert ev["rollout_rel_l2_per_step"].shape == (1, 3)
    assert float(ev["rollout_rel_l2_per_step"].mean()) == pytest.approx(s["rollout_rel_l2"], rel=1e-6)


def test_scores_of_a_persistence_checkpoint_equal_persistence_by_hand(tmp_path):
    """The increment wrapper starts at persistence, so its scores are persistence's, computed here with numpy."""
    ds = toy_data()
    save_dataset(ds, tmp_path / "d.nc")
    variables, history, parts = ["a", "b"], 2, {"train": [0, 1, 2], "test": [3]}
    norms = Normalizers.fit(ds.isel(sample=parts["train"]), variables)
    model = build_model("next_frame_from_increment", net={"name": "sinenet", "fields": 2, "history": 2, "waves": 1,
                                                         "channels": 4, "levels": 2}, fields=2)
    extra = {"recipe": "trajectory", "variables": variables, "history_frames": history, "rollout_steps": 3,
             "data_path": str(tmp_path / "d.nc"), "data_fingerprint": fingerprint(ds, variables), "split": parts}
    save_checkpoint(tmp_path / "p.pt", model, norms, extra=extra)
    ev = evaluate_trajectory(tmp_path / "p.pt", None, tmp_path / "eval")
    x = np.stack([ds[v].values for v in variables], axis=2).astype(float)[3]  # (T, F, H, W), test trajectory
    one = np.mean([rel_l2(x[t - 1], x[t]) for t in range(2, 6)])
    roll = np.mean([rel_l2(x[1], x[t]) for t in range(2, 5)])
    assert ev.attrs["one_step_rel_l2"] == pytest.approx(one, rel=1e-5)
    assert ev.attrs["persistence_one_step_rel_l2"] == pytest.approx(one, rel=1e-5)
    assert ev.attrs["rollout_rel_l2"] == pytest.approx(roll, rel=1e-5)
    assert ev.attrs["persistence_rollout_rel_l2"] == pytest.approx(roll, rel=1e-5)
    np.testing.assert_allclose(ev["a_rollout_end"].values[0], x[1, 0], rtol=1e-5)   # persistence: the last input
    np.testing.assert_allclose(ev["a_truth_end"].values[0], x[4, 0])
    # on other data every trajectory is a test one and there are no training windows
    save_dataset(toy_data(n=2, seed=1), tmp_path / "other.nc")
    other = evaluate_trajectory(tmp_path / "p.pt", tmp_path / "other.nc", tmp_path / "eval2")
    assert other.attrs["n_test"] == 2 and "train_one_step_rel_l2" not in other.attrs


def test_one_step_error_counts_every_window_in_physical_units():
    ds = toy_data(n=2, t=4)
    norms = Normalizers.fit(ds, ["a", "b"])
    windows = TrajectoryDataset(ds, ["a", "b"], 1, 1, normalizers=norms)

    class Oracle(nn.Module):  # the true next frame, found by its index in the windows
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))
            self.ys = torch.stack([windows[i][1] for i in range(len(windows))])

        def forward(self, x):
            xs = torch.stack([windows[i][0] for i in range(len(windows))])
            return torch.stack([self.ys[int((xs - xi).abs().flatten(1).sum(1).argmin())] for xi in x])

    xs, ys = stack_windows(windows)
    assert xs.shape[0] == ys.shape[0] == len(windows) == 6
    x4, y4 = stack_windows(windows, [4])
    assert torch.equal(x4[0], windows[4][0]) and torch.equal(y4[0], windows[4][1])
    assert one_step_rel_l2(Oracle(), xs, ys, norms, ["a", "b"]) < 1e-6
    truth = physical_trajectories(ds, ["a", "b"], [0, 1])
    one, _ = persistence_rel_l2(xs, ys, truth, norms, ["a", "b"], 1)
    x = truth.numpy()
    assert one == pytest.approx(np.mean([rel_l2(x[s, t - 1], x[s, t]) for s in range(2) for t in range(1, 4)]), rel=1e-5)


def test_split_in_order_keeps_the_test_set_of_a_pool():
    parts = trajectory_split(104, {"train": 96, "test": 8})
    assert list(parts["train"]) == list(range(96)) and list(parts["test"]) == list(range(96, 104))
    fewer = trajectory_split(104, {"train": 24, "val": 4, "test": 8})
    assert list(fewer["test"]) == list(parts["test"]) and list(fewer["val"]) == [24, 25, 26, 27]
    frac = trajectory_split(10, {"train": 0.8, "test": 0.2})
    assert list(frac["train"]) == list(range(8)) and list(frac["test"]) == [8, 9]
    rnd = trajectory_split(10, {"train": 0.8, "test": 0.2}, seed=0)
    assert sorted(np.concatenate(list(rnd.values()))) == list(range(10)) and list(rnd["test"]) != [8, 9]
    for bad in ({"train": 96, "test": 9}, {"train": 2.5}, {"val": 2}, {"train": 2, "holdout": 1}):
        with pytest.raises(ConfigError):
            trajectory_split(104, bad)


def test_train_defaults_are_the_benchmarks_and_a_spec_overrides_them():
    tc = trajectory_train_config({"epochs": 8, "batch_size": 4}, seed=3, device="cpu")
    assert (tc.lr, tc.weight_decay, tc.optimizer, tc.scheduler, tc.min_lr, tc.warmup_epochs) == \
        (1e-3, 1e-5, "adamw", "cosine", 1e-7, 0.8)
    assert tc.seed == 3 and tc.batch_size == 4
    tc = trajectory_train_config({"epochs": 10, "lr": 5e-4, "warmup_epochs": 0}, seed=0, device="cpu")
    assert tc.lr == 5e-4 and tc.warmup_epochs == 0 and tc.weight_decay == 1e-5
    with pytest.raises(ConfigError):
        trajectory_train_config({"seed": 1}, seed=0, device="cpu")


def test_models_take_their_channels_from_the_data_and_the_increment_wrapper_starts_at_persistence():
    fno = next_frame_model({"name": "fno", "modes": 4, "width": 8, "layers": 1}, "state", fields=3, history=2)
    assert fno(torch.randn(2, 6, 16, 16)).shape == (2, 3, 16, 16)
    wrapped = next_frame_model({"name": "sinenet", "waves": 2, "channels": 4}, "increment", fields=2, history=2)
    x = torch.randn(3, 4, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), x[:, 2:])
    with pytest.raises(ConfigError):
        next_frame_model({"name": "sinenet"}, "delta", fields=1, history=2)


def test_the_increment_wrapper_rebuilds_from_its_checkpoint(tmp_path):
    m = build_model("next_frame_from_increment", net={"name": "sinenet", "fields": 1, "history": 2, "waves": 1,
                                                     "channels": 4}, fields=1)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_checkpoint(tmp_path / "m.pt", m)
    x = torch.randn(2, 2, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(load_model(str(tmp_path / "m.pt"))(x), m.eval()(x))
    with pytest.raises(ConfigError):
        build_model("next_frame_from_increment", net={"waves": 1})


def test_validation_rollout_selection_returns_the_best_epoch(tmp_path):
    params = {**TOY, "split": {"train": 2, "val": 1, "test": 1}, "select": "val_rollout",
              "train": {"epochs": 2, "batch_size": 4, "progress": False}}
    spec = spec_from_dict({"recipe": "trajectory", "out_dir": str(tmp_path), "device": "cpu", "params": params})
    out = run_experiment(spec)
    hist = json.loads((tmp_path / "history.json").read_text())
    best = min(range(2), key=lambda i: hist[i]["val_rollout_rel_l2"])
    assert out["checkpoint"].endswith("best.pt") and out["scores"]["selected_epoch"] == best + 1
    assert out["scores"]["val_rollout_rel_l2"] == pytest.approx(hist[best]["val_rollout_rel_l2"])
    with pytest.raises(ConfigError, match="no val trajectory"):
        run_experiment(spec_from_dict({"recipe": "trajectory", "out_dir": str(tmp_path / "b"), "device": "cpu",
                                       "params": {**params, "split": {"train": 3, "test": 1}}}))


def test_the_runs_own_file_with_other_content_is_refused_not_scored_on_the_recorded_split(tmp_path):
    """The recorded test indices mean nothing once the file at the recorded path holds other trajectories."""
    from sciml.errors import SchemaError

    ds, variables = toy_data(), ["a", "b"]
    save_dataset(ds, tmp_path / "d.nc")
    model = build_model("next_frame_from_increment", net={"name": "sinenet", "fields": 2, "history": 2, "waves": 1,
                                                         "channels": 4, "levels": 2}, fields=2)
    extra = {"recipe": "trajectory", "variables": variables, "history_frames": 2, "rollout_steps": 3,
             "data_path": str(tmp_path / "d.nc"), "data_fingerprint": fingerprint(ds, variables),
             "split": {"train": [0, 1, 2], "test": [3]}}
    save_checkpoint(tmp_path / "p.pt", model, Normalizers.fit(ds.isel(sample=[0, 1, 2]), variables), extra=extra)
    save_dataset(toy_data(seed=5), tmp_path / "d.nc", overwrite=True)  # regenerated in place
    for data in (None, tmp_path / "d.nc"):
        with pytest.raises(SchemaError, match="content has changed"):
            evaluate_trajectory(tmp_path / "p.pt", data, tmp_path / "eval")


@pytest.mark.parametrize("setting", [{"history": 0}, {"rollout_steps": 0}])
def test_frame_counts_that_cannot_run_are_config_errors(tmp_path, setting):
    """history 0 reached a conv on zero channels, rollout_steps 0 stacked an empty rollout: tracebacks."""
    with pytest.raises(ConfigError, match=next(iter(setting))):
        run_experiment(ExperimentSpec(recipe="trajectory", params={**TOY, **setting}, out_dir=str(tmp_path),
                                      device="cpu"))
