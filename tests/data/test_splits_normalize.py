import numpy as np
import pytest
import torch

from sciml.data import DecodedOutput, Normalizer, Normalizers, split_dataset, split_indices
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


def test_pointwise_normalizer_matches_hand_computation_and_roundtrips():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, (40, 6, 5)) * np.linspace(0.5, 2, 5)  # (sample, y, x), std varies by x
    data[:, 0, :] = 0.0  # a Dirichlet wall: 0 in every sample
    norm = Normalizer.fit(data, pointwise=True)
    assert norm.pointwise and norm.mean.shape == (6, 5)
    n = data.shape[0]
    for i, j in [(0, 0), (2, 3), (5, 4)]:  # by hand, one pixel at a time
        col = data[:, i, j]
        mean = sum(col) / n
        std = (sum((c - mean) ** 2 for c in col) / n) ** 0.5
        assert float(norm.mean[i, j]) == pytest.approx(mean, abs=1e-12)
        assert float(norm.std[i, j]) == pytest.approx(max(std, 1e-5), rel=1e-10)
    x = torch.as_tensor(data, dtype=torch.float32)[:, None]  # (B, C=1, H, W): stats broadcast
    z = norm.encode(x)
    torch.testing.assert_close(z[:, 0, 1:].mean(0), torch.zeros(5, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[:, 0, 1:].std(0, correction=0), torch.ones(5, 5), atol=1e-4, rtol=0)
    torch.testing.assert_close(norm.decode(z), x, atol=1e-5, rtol=1e-5)
    # decoded inside a model: whatever the network outputs, the wall stays at its training value 0
    out = DecodedOutput(torch.nn.Identity(), norm)(100 * torch.randn(4, 1, 6, 5))
    assert out[:, 0, 0].abs().max() < 1e-2 and out[:, 0, 1:].abs().max() > 1
    assert Normalizer.fit(data).mean == pytest.approx(data.mean())  # scalar mode unchanged


def test_pointwise_normalizers_fit_dataset_state_roundtrip(smooth_ds):
    norms = Normalizers.fit(smooth_ds, ["a", "u"], pointwise=True)
    np.testing.assert_allclose(norms["a"].mean.numpy(), smooth_ds["a"].astype("float64").mean("sample").values,
                               rtol=1e-12)
    x = torch.as_tensor(smooth_ds["u"].values)
    again = Normalizers.from_state(norms.state())
    torch.testing.assert_close(again.decode("u", norms.encode("u", x)), x)
