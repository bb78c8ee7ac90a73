import json

import torch

from sciml.experiment import ExperimentSpec, run_experiment
from sciml.models import load_model


def test_trajectory_task_trains_rolls_out_and_reloads(tmp_path):
    params = dict(data={"make": "ns_vorticity", "params": {"n": 4, "res": 16, "seed": 0, "frames": 5, "burn_in": 0.5}},
                  variables=["w"], history=2, model={"name": "sinenet", "waves": 2, "channels": 4, "residual_output": True},
                  train={"epochs": 1, "batch_size": 4, "progress": False}, rollout_steps=3,
                  split={"train": 0.5, "val": 0.25, "test": 0.25})
    out = run_experiment(ExperimentSpec(recipe="trajectory", params=params, out_dir=str(tmp_path)))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["rollout_rel_l2_per_step"]) == 3 and 0 < metrics["one_step_rel_l2"] < 2
    model = load_model(out["checkpoint"])
    assert model(torch.randn(1, 2, 16, 16)).shape == (1, 1, 16, 16)
