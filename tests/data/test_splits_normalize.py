import numpy as np
import pytest
import torch

from sciml.data import Normalizers, split_dataset, split_indices
from sciml.errors import ConfigError


def test_split_is_partition_and_seeded():
    a = split_indices(103, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=3)
    b = split_indices(103, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=3)
    c = split_indices(103, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=4)
    allidx = np.concatenate(list(a.values()))
    assert sorted(allidx.tolist()) == list(range(103))
    assert [len(v) for v in a.values()] == [82, 10, 11]
    assert all((a[k] == b[k]).all() for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_split_rejects_bad_fractions():
    with pytest.raises(ConfigError):
        split_indices(10, {"train": 0.9, "test": 0.2})


def test_split_dataset(smooth_ds):
    parts = split_dataset(smooth_ds, seed=0)
    assert sum(p.sizes["sample"] for p in parts.values()) == smooth_ds.sizes["sample"]


def test_normalizers_fit_roundtrip_state(smooth_ds):
    norms = Normalizers.fit(smooth_ds, ["a", "u"])
    assert norms["a"].mean == pytest.approx(float(smooth_ds["a"].mean()), rel=1e-6)
    assert norms["u"].std == pytest.approx(float(smooth_ds["u"].std()), rel=1e-5)
    x = torch.as_tensor(smooth_ds["u"].values)
    z = norms.encode("u", x)
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std()) - 1) < 1e-3
    again = Normalizers.from_state(norms.state())
    torch.testing.assert_close(again.decode("u", z), x)
