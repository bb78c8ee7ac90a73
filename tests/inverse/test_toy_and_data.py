"""The 1-D Laplacian toy (slow) and the image_patches dataset."""
import numpy as np
import pytest

from sciml.inverse.toy import evaluate_toy, posterior_stats, soft_threshold, train_toy


def test_posterior_stats_limits():
    """For |y| large the Laplace posterior mean and median shrink y by about sigma^2 = 1; both are odd."""
    y = np.array([-8.0, -1.0, 0.0, 1.0, 8.0])
    mean, med = posterior_stats(y)
    assert np.allclose(mean, -mean[::-1], atol=1e-6) and abs(mean[2]) < 1e-6
    assert abs(mean[-1] - 7.0) < 1e-3 and abs(med[-1] - 7.0) < 1e-2
    assert abs(med[3]) < abs(mean[3]) + 0.2  # the median thresholds harder than the mean near 0


def test_image_patches_dataset():
    from sciml.data.registry import make_dataset

    ds = make_dataset("image_patches", n=20, res=16, seed=1)
    assert ds["image"].dims == ("sample", "y", "x") and ds["image"].shape == (20, 16, 16)
    v = ds["image"].values
    assert v.min() >= 0 and v.max() <= 1 and v.std() > 0.05
    test = make_dataset("image_patches", n=5, res=16, split="test")
    assert test.attrs["split"] == "test"
    with pytest.raises(ValueError):
        make_dataset("image_patches", n=5, res=16, split="val")


@pytest.mark.slow
def test_laplace_toy_losses_learn_their_estimators():
    """l2 -> posterior mean, l1 -> posterior median, proximal matching -> soft-threshold lambda ~ 1."""
    y = np.linspace(-3, 3, 61)
    mean, med = posterior_stats(y)
    soft = soft_threshold(y)
    f = {k: evaluate_toy(train_toy(k, steps=700), y) for k in ("l2", "l1", "prox_matching")}
    err = lambda a, b: np.abs(a - b).max()
    assert err(f["l2"], mean) < 0.1 and err(f["l2"], mean) < err(f["l2"], med)
    assert err(f["l1"], med) < 0.15 and err(f["l1"], med) < err(f["l1"], mean)
    assert err(f["prox_matching"], soft) < min(err(f["l2"], soft), err(f["l1"], soft))
    big = np.abs(y) >= 2
    lam = np.mean(np.abs(y[big]) - np.abs(f["prox_matching"][big]))
    assert 0.7 < lam < 1.3, lam
