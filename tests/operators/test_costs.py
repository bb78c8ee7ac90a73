"""The costs the field evaluator reports, against hand computations."""
import json

import pytest
import torch.nn as nn

from sciml.operators.costs import model_costs
from sciml.train.history import training_time
from sciml.train.losses import build_loss


def test_training_time_is_the_median_epoch_of_the_history(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"epoch": 1, "time_s": 9.0}, {"epoch": 2, "time_s": 2.0}, {"epoch": 3, "time_s": 3.0}]))
    assert training_time(path) == {"s_per_epoch": 3.0, "epochs": 3.0}  # one slow epoch does not move it
    assert training_time(tmp_path / "missing.json") == {}


def test_costs_of_one_convolution():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    costs = model_costs(conv, (2, 8, 8), batch_size=4, loss_fn=build_loss("rel_l2"), device="cpu")
    assert costs["params"] == 3 * 2 * 9 + 3
    assert costs["gmacs"] == pytest.approx(8 * 8 * 3 * 2 * 9 / 1e9)  # one MAC per weight per output point
    assert costs["peak_mem_mb"] > 0 and costs["infer_ms"] > 0
    assert conv.weight.grad is None  # the training step ran on a copy
