import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from sciml.data import FieldDataset, Normalizers, TrajectoryDataset, save_dataset
from sciml.errors import DimensionError, MissingVariableError, NonFiniteError
from tests.conftest import smoothing_dataset, trajectory_dataset


def test_field_dataset_items(smooth_ds):
    ds = FieldDataset(smooth_ds, ["a"], ["u"], indices=[5, 7])
    x, y = ds[1]
    assert len(ds) == 2 and x.shape == (1, 16, 16) and y.shape == (1, 16, 16)
    np.testing.assert_allclose(y[0].numpy(), smooth_ds["u"][7].values)


def test_field_dataset_normalizes(smooth_ds):
    norms = Normalizers.fit(smooth_ds, ["u"])
    x, y = FieldDataset(smooth_ds, ["a"], ["u"], normalizers=norms)[0]
    np.testing.assert_allclose(y[0].numpy(), (smooth_ds["u"][0].values - norms["u"].mean) / norms["u"].std, rtol=1e-5)


def test_field_dataset_errors(smooth_ds):
    with pytest.raises(MissingVariableError):
        FieldDataset(smooth_ds, ["a"], ["p"])
    bad = smooth_ds.copy(deep=True)
    bad["a"][0, 0, 0] = np.inf
    with pytest.raises(NonFiniteError):
        FieldDataset(bad, ["a"], ["u"])
    with pytest.raises(DimensionError):
        FieldDataset(smooth_ds.transpose("y", "sample", "x"), ["a"], ["u"])


def test_lazy_zarr_streams_in_workers(tmp_path):
    path = save_dataset(smoothing_dataset(n=12, res=8), tmp_path / "d.zarr")
    ds = FieldDataset(path, ["a"], ["u"], check=False)
    assert ds.src._ds is not None  # opened lazily (for the checks/shape) but not loaded
    batches = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert sum(b[0].shape[0] for b in batches) == 12


def test_trajectory_windows():
    ds = trajectory_dataset(n=3, t=6)
    td = TrajectoryDataset(ds, ["w", "v"], history=2, horizon=1, stride=1)
    assert len(td) == 3 * 4
    x, y = td[5]  # sample 1, start 1
    assert x.shape == (4, 8, 8) and y.shape == (2, 8, 8)
    assert [float(c[0, 0]) for c in x] == [101, -101, 102, -102]
    assert [float(c[0, 0]) for c in y] == [103, -103]
    with pytest.raises(DimensionError, match="exceeds"):
        TrajectoryDataset(ds, ["w"], history=5, horizon=2)
