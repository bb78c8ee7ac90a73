import json

import pytest
import torch

from sciml.data import FieldDataset, Normalizers
from sciml.errors import CheckpointError, TrainingDivergedError
from sciml.models import build_model
from sciml.train import Trainer, TrainConfig
from tests.conftest import smoothing_dataset

CFG = dict(batch_size=8, lr=3e-3, progress=False, scheduler="cosine", seed=1)


def _sets(n=48, res=16):
    ds = smoothing_dataset(n=n, res=res)
    norms = Normalizers.fit(ds.isel(sample=slice(0, 40)), ["a", "u"])
    tr = FieldDataset(ds, ["a"], ["u"], indices=range(40), normalizers=norms)
    va = FieldDataset(ds, ["a"], ["u"], indices=range(40, n), normalizers=norms)
    return tr, va, norms


def _fno():
    torch.manual_seed(0)
    return build_model("fno", modes=6, width=12, layers=2, padding=0, head_width=16)


def test_trainer_learns_linear_operator(tmp_path):
    tr, va, norms = _sets()
    trainer = Trainer(_fno(), TrainConfig(epochs=15, **CFG), tr, va, normalizers=norms, out_dir=tmp_path)
    hist = trainer.fit()
    assert hist[-1]["val_rel_l2"] < 0.25 < hist[0]["val_rel_l2"] * 0.9 + 0.25
    assert hist[-1]["val_rel_l2"] < 0.5 * hist[0]["val_rel_l2"]
    assert (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    assert len(json.loads((tmp_path / "history.json").read_text())) == 15


def test_resume_equals_uninterrupted(tmp_path):
    tr, va, _ = _sets()
    full = Trainer(_fno(), TrainConfig(epochs=4, **CFG), tr, va, out_dir=tmp_path / "a")
    full.fit()
    # the same run, interrupted after 2 epochs ...
    Trainer(_fno(), TrainConfig(epochs=4, **CFG), tr, va, out_dir=tmp_path / "b").fit(stop_after=2)
    # ... and resumed in a fresh Trainer (fresh model, other RNG state)
    torch.manual_seed(123)
    rest = Trainer(_fno(), TrainConfig(epochs=4, **CFG), tr, va, out_dir=tmp_path / "b")
    rest.fit(resume_from="auto")
    for p, q in zip(full.model.parameters(), rest.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert [h["train_loss"] for h in rest.history] == [h["train_loss"] for h in full.history]


def test_nan_guard_stops_with_clear_message():
    tr, _, _ = _sets()
    model = _fno()

    def bad_loss(m, batch):
        x, y = batch
        return (m(x) - y).pow(2).mean() * float("nan")

    trainer = Trainer(model, TrainConfig(epochs=1, **CFG), tr, compute_loss=bad_loss)
    with pytest.raises(TrainingDivergedError, match="loss became nan at epoch 1.*Lower TrainConfig.lr"):
        trainer.fit()


def test_checkpoint_from_other_model_is_refused(tmp_path):
    tr, _, _ = _sets()
    Trainer(_fno(), TrainConfig(epochs=1, **CFG), tr, out_dir=tmp_path).fit()
    unet = build_model("unet", width=8, depth=2)
    with pytest.raises(CheckpointError, match="holds a 'fno' model but the model is 'unet'"):
        Trainer(unet, TrainConfig(epochs=2, **CFG), tr).fit(resume_from=tmp_path / "last.pt")


def test_data_free_lbfgs_fits_a_function():
    """Physics-style training: no dataset, compute_loss draws its own points; L-BFGS optimiser."""
    torch.manual_seed(0)
    model = build_model("fno", in_channels=1, out_channels=1, modes=2, width=4, layers=1, padding=0, head_width=4)
    target = torch.linspace(0, 1, 8).reshape(1, 1, 1, 8).expand(1, 1, 8, 8)

    def loss(m, _batch):
        return (m(torch.ones(1, 1, 8, 8)) - target).pow(2).mean()

    cfg = TrainConfig(epochs=3, steps_per_epoch=5, optimizer="lbfgs", lr=1.0, scheduler="none", progress=False)
    hist = Trainer(model, cfg, None, compute_loss=loss).fit()
    assert hist[-1]["train_loss"] < 1e-3 < hist[0]["train_loss"] * 10 + 1e-3


def test_bad_config_errors():
    from sciml.errors import ConfigError

    with pytest.raises(ConfigError, match="optimizer must be one of"):
        TrainConfig(optimizer="adamx")
    with pytest.raises(ValueError, match="steps_per_epoch"):
        Trainer(_fno(), TrainConfig(progress=False), None, compute_loss=lambda m, b: 0)


def test_restore_best_without_out_dir_loads_the_best_scored_epoch():
    """A rigged validation score (3, 1, 2, 1): epoch 2 is best (the later tie does not replace it), and
    restore_best loads exactly the weights the model had when epoch 2 was scored, with no out_dir."""
    tr, _, _ = _sets()
    scores, seen = iter([3.0, 1.0, 2.0, 1.0]), []

    def score(model):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"rigged": next(scores)}

    trainer = Trainer(_fno(), TrainConfig(epochs=4, monitor="val_rigged", **CFG), tr, validate_fn=score)
    with pytest.raises(RuntimeError, match="call fit"):
        trainer.restore_best()
    trainer.fit()
    last = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert trainer.restore_best() == 2 and trainer.best == 1.0
    now = trainer.model.state_dict()
    assert all(torch.equal(now[k], seen[1][k]) for k in now)
    assert not all(torch.equal(now[k], last[k]) for k in now)


def test_restore_best_after_resume_reads_best_pt(tmp_path):
    tr, va, _ = _sets()
    first = Trainer(_fno(), TrainConfig(epochs=3, **CFG), tr, va, out_dir=tmp_path)
    first.fit(stop_after=3)
    best = first.restore_best()
    want = {k: v.clone() for k, v in first.model.state_dict().items()}
    again = Trainer(_fno(), TrainConfig(epochs=3, **CFG), tr, va, out_dir=tmp_path)
    again.fit(resume_from="auto")  # nothing left to train: only the counters and best.pt come back
    assert again.restore_best() == best
    assert all(torch.equal(again.model.state_dict()[k], want[k]) for k in want)
