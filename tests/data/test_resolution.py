"""Models trained on one grid, evaluated on another: pointwise statistics are resampled to the data's grid."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sciml.data import make_dataset, save_dataset
from sciml.data.normalize import Normalizer, resample_to_grid
from sciml.errors import DimensionError
from sciml.experiment import evaluate_checkpoint, run_experiment, spec_from_dict, summary_scores


def test_resampling_is_exact_for_a_linear_field_and_keeps_the_end_points():
    x8, x15 = np.linspace(0, 1, 8), np.linspace(0, 1, 15)
    plane = lambda x: torch.as_tensor(2.0 + 3.0 * x[:, None] - 1.5 * x[None, :])  # noqa: E731
    assert torch.allclose(resample_to_grid(plane(x8), (15, 15)), plane(x15), atol=1e-12)
    wall = torch.zeros(8, 8, dtype=torch.float64)
    wall[:, 0] = 7.0  # a Dirichlet wall stays pinned at the domain's edge
    assert torch.equal(resample_to_grid(wall, (16, 16))[:, 0], torch.full((16,), 7.0, dtype=torch.float64))


def test_a_pointwise_normaliser_encodes_data_of_another_grid():
    rng = np.random.default_rng(0)
    norm = Normalizer.fit(rng.standard_normal((20, 8, 8)) + np.linspace(0, 1, 8)[None, None, :], pointwise=True)
    fine = torch.as_tensor(rng.standard_normal((3, 1, 16, 16)))
    assert torch.allclose(norm.decode(norm.encode(fine)), fine, atol=1e-12)
    with pytest.raises(DimensionError, match="number of dimensions"):
        resample_to_grid(norm.mean, (4, 4, 4))


@pytest.mark.parametrize("model", [{"name": "fno", "modes": 4, "width": 8}, {"name": "mgno"}])
def test_sciml_evaluate_scores_an_operator_on_a_finer_grid(model, tmp_path):
    spec = spec_from_dict({"recipe": "field", "name": "coarse", "out_dir": str(tmp_path / "run"), "device": "cpu",
                           "data": {"make": "darcy", "params": {"n": 24, "res": 16, "seed": 0},
                                    "normalize": "pointwise"},
                           "model": model, "train": {"epochs": 2, "batch_size": 8, "progress": False}})
    coarse = run_experiment(spec)
    fine = tmp_path / "fine.nc"
    save_dataset(make_dataset("darcy", n=6, res=32, seed=1), fine)
    scores = evaluate_checkpoint(coarse["checkpoint"], fine, tmp_path / "eval_fine")
    rel_l2 = summary_scores(scores)["rel_l2"]
    assert np.isfinite(rel_l2) and rel_l2 < 1.0 and scores.sizes["sample"] == 6
