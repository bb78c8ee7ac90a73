import torch

from sciml.bench.sinenet import METHODS, build_method, method_configs
from sciml.utils.cost import gmacs
from sciml.evaluate.rollout import NextFrameFromIncrement
from sciml.models import build_model, count_parameters

ISSUE_METHODS = ["unet", "sinenet-2", "sinenet-4", "sinenet-8", "unet-compute-matched", "sinenet-8-zeropad", "fno"]


def test_method_names_and_matching():
    cfgs = method_configs(fields=1, periodic=True, channels=4, res=32, history=2)
    assert list(cfgs) == ISSUE_METHODS == list(METHODS)  # METHODS orders the page's tables
    assert "sinenet-8-zeropad" not in method_configs(fields=3, periodic=False, channels=4, res=32, history=2)
    x = torch.randn(1, 2, 32, 32)
    models = {k: build_method(c, 1, "state") for k, c in cfgs.items()}
    p1 = count_parameters(models["unet"])
    assert all(abs(count_parameters(models[k]) / p1 - 1) < 0.02 for k in ("sinenet-2", "sinenet-4", "sinenet-8"))
    g8, gcm = gmacs(models["sinenet-8"], x), gmacs(models["unet-compute-matched"], x)
    assert abs(gcm / g8 - 1) < 0.25 and gcm > 2 * gmacs(models["unet"], x)
    assert cfgs["sinenet-8-zeropad"]["padding_mode"] == "zeros" and cfgs["sinenet-8"]["padding_mode"] == "circular"


def test_increment_wrapper_starts_at_persistence():
    m = NextFrameFromIncrement(build_model("sinenet", fields=2, history=2, waves=2, channels=4), 2)
    x = torch.randn(3, 4, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(m(x), x[:, 2:])


def test_k_trend_line_reports_monotonicity_per_seed():
    from sciml.bench.sinenet_report import k_trend

    rows = [{"task": "ns", "method": m, "metric": "rollout_rel_l2", "seed": s, "value": v}
            for s, vals in ((0, (4, 3, 2, 1)), (1, (4, 3, 5, 1)))
            for m, v in zip(("unet", "sinenet-2", "sinenet-4", "sinenet-8"), vals)]
    line = k_trend(rows, "ns")
    assert "seed 0: K=1 4.0000" in line and line.count("(falls monotonically)") == 1 and "(not monotone)" in line


def test_targeted_rerun_options(tmp_path):
    """--methods/--seeds/--first-seed/--target/--lr/--frame-dt reach the run: only the chosen rows, the page states them."""
    import json

    from sciml.bench.sinenet import main

    main(["--preset", "quick", "--systems", "ns", "--methods", "unet", "--seeds", "1", "--first-seed", "1", "--target", "state",
          "--lr", "5e-4", "--frame-dt", "1.5", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "sinenet.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"unet"} and {r["seed"] for r in rows} == {1}
    page = (tmp_path / "sinenet.md").read_text()
    assert "lr 0.0005" in page and "the next state" in page and "'frame_dt': 1.5" in page


def test_size_overrides_reach_the_run(tmp_path):
    """--channels/--epochs/--n-train override the preset (and its per-system dict) for the systems run."""
    import json

    from sciml.bench.sinenet import PRESETS, main, system_preset

    assert PRESETS["default"]["channels"] == 8 and system_preset(PRESETS["default"], "ns")["epochs"] == 8  # defaults kept
    main(["--preset", "quick", "--systems", "ns", "--methods", "unet", "--seeds", "1", "--channels", "6",
          "--epochs", "2", "--n-train", "2", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "sinenet.json").read_text())["rows"]
    params = next(r["value"] for r in rows if r["metric"] == "params")
    want = count_parameters(build_method(method_configs(1, True, 6, 16, 4)["unet"], 1, "state"))
    assert params == want and want != count_parameters(build_method(method_configs(1, True, 4, 16, 4)["unet"], 1, "state"))
    page = (tmp_path / "sinenet.md").read_text()
    assert "'channels': 6" in page and "'epochs': 2" in page and "'n_train': 2" in page


def test_select_val_rollout_option(tmp_path):
    """--select val-rollout: selected epoch and validation error rows, the page says how the model was chosen."""
    import json

    from sciml.bench.sinenet import main

    main(["--preset", "quick", "--systems", "ns", "--methods", "unet", "--seeds", "1", "--select", "val-rollout",
          "--n-val", "1", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "sinenet.json").read_text())["rows"]
    got = {r["metric"]: r["value"] for r in rows}
    assert got["selected_epoch"] == 1 and 0 < got["val_rollout_rel_l2"] < 10
    assert "validation trajectories carved from the training ones" in (tmp_path / "sinenet.md").read_text()


def test_trajectory_pool_shares_the_test_set(tmp_path):
    """--n-pool: training = the first n_train, test = the last n_test of one generated pool, so runs with
    different --n-train are tested on the same trajectories; each NS trajectory is independent of the pool size."""
    import numpy as np
    import pytest

    from sciml.bench.sinenet import main, trajectory_split
    from sciml.data import make_dataset

    tr, te, n = trajectory_split(24, 8)
    assert n == 32 and list(tr) == list(range(24)) and list(te) == list(range(24, 32))
    tr, te, n = trajectory_split(24, 8, n_pool=104)
    assert n == 104 and list(tr) == list(range(24)) and list(te) == list(range(96, 104))
    assert list(trajectory_split(96, 8, n_pool=104)[1]) == list(te)
    with pytest.raises(ValueError):
        trajectory_split(24, 8, n_pool=30)
    small, big = (make_dataset("ns_vorticity", n=k, res=16, frames=2, seed=123) for k in (2, 4))
    np.testing.assert_allclose(small.w.values, big.w.values[:2], atol=1e-3)
    assert np.abs(big.w.values[2] - big.w.values[0]).max() > 0.1
    main(["--preset", "quick", "--systems", "ns", "--methods", "unet", "--seeds", "1", "--n-pool", "7",
          "--out", str(tmp_path)])
    page = (tmp_path / "sinenet.md").read_text()
    assert "7 trajectories generated" in page and "the first 3" in page and "optimiser steps per model" in page
    import json

    rows = {r["metric"]: r["value"] for r in json.loads((tmp_path / "sinenet.json").read_text())["rows"]}
    assert 0 < rows["train_one_step_rel_l2"] < 1 and rows["train_one_step_rel_l2"] != rows["one_step_rel_l2"]


def test_budget_sizes_one_epoch_count_from_the_costliest_method(monkeypatch):
    """--budget-s times the method with the most waves and caps the result at the preset's epochs."""
    import sciml.bench.sinenet as sn

    cfgs = {m: c for m, c in method_configs(1, True, 4, 16, 2).items() if m in ("unet", "sinenet-8", "fno")}
    train = [(torch.randn(2, 16, 16), torch.randn(1, 16, 16)) for _ in range(6)]
    seen = {}

    def fake(model, batch, loss_fn, n, budget_s, max_epochs):
        seen.update(waves=len(model.net.waves), x=batch[0].shape, n=n, budget=budget_s)
        return max_epochs

    monkeypatch.setattr(sn, "epochs_for_budget", fake)
    p = {"budget_s": 7.0, "epochs": 5, "batch": 4}
    assert sn.epochs_within_budget(cfgs, p, train, 1, "cpu") == 5
    assert seen == {"waves": 8, "x": (4, 2, 16, 16), "n": 6, "budget": 7.0}
    monkeypatch.undo()  # the real timing: a microsecond budget gives the minimum, one epoch
    assert sn.epochs_within_budget(cfgs, {**p, "budget_s": 1e-6}, train, 1, "cpu") == 1


def test_res_override_reaches_the_data(tmp_path):
    import json

    from sciml.bench.sinenet import main

    main(["--preset", "quick", "--systems", "ns", "--methods", "unet", "--seeds", "1", "--res", "24",
          "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "sinenet.json").read_text())["rows"]
    gm = next(r["value"] for r in rows if r["metric"] == "gmacs")
    unet = build_method(method_configs(1, True, 4, 24, 4)["unet"], 1, "state")
    assert abs(gm - gmacs(unet, torch.randn(1, 4, 24, 24))) < 1e-9
    assert "'res': 24" in (tmp_path / "sinenet.md").read_text()


def test_merge_joins_runs_split_by_method_and_keeps_their_curves(tmp_path):
    """Two --merge runs into one folder give one page: every method's rows, seeds and rollout curve."""
    import json

    from sciml.bench.sinenet import main
    from sciml.bench.sinenet_report import rollout_curves

    common = ["--preset", "quick", "--systems", "ns", "--out", str(tmp_path), "--merge"]
    main(common + ["--methods", "unet", "--seeds", "1"])
    main(common + ["--methods", "fno", "--seeds", "2"])
    d = json.loads((tmp_path / "sinenet.json").read_text())
    seeds = {(r["method"], r["seed"]) for r in d["rows"] if r["metric"] == "rollout_rel_l2"}
    assert seeds == {("unet", 0), ("fno", 0), ("fno", 1)}
    curves = rollout_curves(d["rows"])["ns"]
    assert len(curves["unet"]) == 1 and len(curves["fno"]) == 2 and len(curves["fno"][0]) == 2  # 2 rollout steps
    row = next(r for r in d["rows"] if r["method"] == "fno" and r["metric"] == "rollout_rel_l2")
    assert abs(row["value"] - sum(row["per_step"]) / 2) < 1e-12
    assert d["meta"]["notes"]["ns"]["n_train"] == 3
    page = (tmp_path / "sinenet.md").read_text()
    assert "Rows merged from earlier runs" in page
    assert page.index("| unet |") < page.index("| fno |")  # the issue's order, not the merge order
    main(common + ["--methods", "sinenet-2", "--seeds", "1"])  # no U-Net / SineNet-8: the fields figure stays
    page = (tmp_path / "sinenet.md").read_text()
    assert page.index("| unet |") < page.index("| sinenet-2 |") < page.index("| fno |")
    assert "![true vs predicted, last rollout step](sinenet_fields.png)" in page
    # every row is credited to the run that produced it, not to the chained command of a later merge
    rows = json.loads((tmp_path / "sinenet.json").read_text())["rows"]
    assert {r["method"]: r["command"].split("--methods ")[1] for r in rows} == {
        "unet": "unet --seeds 1", "fno": "fno --seeds 2", "sinenet-2": "sinenet-2 --seeds 1"}
    # each run's wall time is kept under its own command; the page sums them
    walls = json.loads((tmp_path / "sinenet.json").read_text())["meta"]["wall_s"]
    assert [c.split("--methods ")[1] for c in walls] == ["unet --seeds 1", "fno --seeds 2", "sinenet-2 --seeds 1"]
    assert all(w > 0 for w in walls.values())
    assert f"{sum(walls.values()):.0f} s summed over the 3 commands" in page


def test_wall_time_text_sums_the_merged_commands():
    from sciml.bench.sinenet_report import wall_time_text

    assert wall_time_text({"a": 10.0}, 10.0) == "10 s"
    assert wall_time_text({"a": 10.0, "b": 25.4}, 25.4).startswith("25 s for the last command, 35 s summed over the 2")


def test_budget_crossover_example_keeps_the_96_trajectory_runs_once_per_seed():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "sinenet_budget_crossover.py"
    spec = importlib.util.spec_from_file_location("crossover", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)

    def row(method, seed, value):
        return dict(task="ns", method=method, metric="rollout_rel_l2", value=value, seed=seed)

    checks = [dict(command="sciml bench sinenet --n-train 96 --epochs 2", rows=[row("unet", 0, 0.3)]),
              dict(command="sciml bench sinenet --n-train 24 --epochs 8", rows=[row("unet", 0, 9.0)]),
              dict(command="sciml bench sinenet --epochs 12", rows=[row("unet", 0, 9.0)]),       # older 24-pool run
              dict(command="sciml bench sinenet --epochs 16", n_train=96, steps=4992, rows=[row("sinenet-8", 1, 0.1)]),
              dict(command="sciml bench sinenet --n-train 96 --epochs 8", rows=[row("unet", 0, 0.2)])]
    assert [ex.check_steps(c) for c in checks] == [624, None, None, 4992, 2496]
    table = [row("unet", 0, 0.2), row("unet", 2, 0.25), row("fno", 0, 9.0)]       # seed 0 also in the checks
    got = ex.rollout_by_steps([(ex.check_steps(c), c["rows"]) for c in checks] + [(2496, table)])
    assert {m: dict(v) for m, v in got.items()} == {"unet": {624: [0.3], 2496: [0.2, 0.25]},
                                                   "sinenet-8": {4992: [0.1]}}
