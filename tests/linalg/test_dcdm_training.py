"""DCDM training data and the stage-3 growth of a trained net (ADR 0095)."""
import numpy as np
import pytest
import torch

from sciml.linalg.dcdm_training import RitzDataset, dcdm_loss, make_dcdm_ritz, mixed_obstacles, train_dcdm
from sciml.models import build_model, load_model
from sciml.pde.poisson import poisson_matrix
from sciml.train.checkpoint import save_checkpoint


def test_mixed_obstacles_always_give_a_nonsingular_matrix():
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(40):
        solid = mixed_obstacles((12, 12, 12), rng)
        poisson_matrix(solid)  # raises if a fluid pocket touches no open face
        kinds.add(bool(solid.any()))
    assert kinds == {True, False}


def test_ritz_data_are_unit_norm_and_zero_in_solids():
    ds = make_dcdm_ritz(n=12, res=8, geometries=3, lanczos_steps=40, obstacles="mixed", seed=1)
    b, solid = ds["b"].values.reshape(12, -1), ds["solid"].values.reshape(12, -1).astype(bool)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
    assert np.all(b[solid] == 0)
    with pytest.raises(ValueError, match="obstacles"):
        make_dcdm_ritz(n=2, res=8, geometries=1, obstacles="pillars")


def test_loss_is_scale_invariant_and_grown_training_starts_from_the_old_net(tmp_path):
    torch.manual_seed(0)
    base = build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1)
    data = RitzDataset(make_dcdm_ritz(n=8, res=8, geometries=2, lanczos_steps=30, obstacles="mixed"))
    batch = tuple(torch.stack(t) for t in zip(*[data[i] for i in range(4)]))

    class Scaled(torch.nn.Module):  # the same net, output times -7: DCDM's loss must not see it
        use_mask = True

        def forward(self, x):
            return -7.0 * base(x)

    with torch.no_grad():
        torch.testing.assert_close(dcdm_loss(Scaled(), batch), dcdm_loss(base, batch), rtol=1e-5, atol=0)
    save_checkpoint(tmp_path / "base.pt", base)
    best = train_dcdm(out_dir=str(tmp_path / "run"), n=8, res=8, geometries=2, epochs=1, batch_size=4,
                      lanczos_steps=30, init=str(tmp_path / "base.pt"), wide=[2, 2], device="cpu")
    grown = load_model(str(best))
    assert grown.sciml_config["config"]["wide"] == [2, 2] and len(grown.wide) == 1
