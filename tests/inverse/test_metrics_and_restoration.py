"""PSNR/SSIM of restorations against hand computations, and the restoration path: tuning on validation
crops, scoring on test crops, a result that beats the measurement it started from."""
import math

import numpy as np
import pytest
import torch

from sciml.errors import ConfigError
from sciml.inverse.metrics import mean_psnr, psnr, ssim
from sciml.inverse.restoration import make_task, restore_test_images, strength_grid, test_crops, val_crops


def test_psnr_matches_a_hand_computation_and_clips_only_finite_pixels():
    ref = np.zeros((4, 4))
    x = ref.copy()
    x[0, 0] = 0.4                                      # MSE 0.16 / 16 = 0.01 -> 20 dB
    assert psnr(x, ref) == pytest.approx(20.0)
    x[1, 1] = -5.0                                     # clipped to 0: still 20 dB
    assert psnr(x, ref) == pytest.approx(20.0)
    assert psnr(ref, ref) == math.inf                  # exact: +inf, no warning turned error
    x[2, 2] = np.nan
    assert math.isnan(psnr(x, ref)) and math.isnan(ssim(x, ref))
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))


def test_mean_psnr_averages_per_image_scores():
    ref = torch.zeros(2, 1, 4, 4)
    x = ref.clone()
    x[0, 0, 0, 0] = 0.4                                # 20 dB
    x[1] = 0.1                                         # 20 dB ...
    x[1, 0, 0, 0] = -5.0                               # ... with one pixel clipped to 0: MSE 15 * 0.01 / 16
    second = 10 * np.log10(16 / (15 * 0.01))
    assert mean_psnr(x, ref) == pytest.approx((20 + second) / 2)


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    ref = test_crops(24)[0].astype(np.float64)
    noisy = ref + 0.1 * np.random.default_rng(0).standard_normal(ref.shape)
    assert ssim(ref, ref) == pytest.approx(1.0) and ssim(noisy, ref) < 0.9


def test_crops_are_held_out_and_validation_crops_come_from_training_images():
    t, v = test_crops(24, disk=True), val_crops(24)
    assert t.shape == (4, 24, 24) and v.shape == (3, 24, 24) and t.dtype == np.float32
    assert t[:, 0, 0].max() == 0 and t[:, 12, 12].min() > 0     # the CT disc zeroes the corners only
    assert not any(np.allclose(a, b) for a in t for b in v)


def test_unknown_task_or_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown restoration task"):
        make_task("inpaint", 24)
    with pytest.raises(ConfigError, match="deblur_noiseS"):
        make_task("deblur_noisex", 24)
    with pytest.raises(ConfigError, match="unknown restoration method"):
        strength_grid("ct_sparse", "unet")
    with pytest.raises(ConfigError, match="learned prior"):
        restore_test_images("ct_sparse", "lpn", None, size=24)


def test_tv_restoration_is_tuned_on_validation_crops_and_beats_the_blurred_input():
    ds = restore_test_images("deblur_noise0.02", "tv", size=24, iter_grid=(3, 6), ct_angles=8)
    assert ds.attrs["strength"] in strength_grid("deblur_noise0.02", "tv") and ds.attrs["iters"] in (3, 6)
    truth = torch.tensor(test_crops(24))[:, None]
    task = make_task("deblur_noise0.02", 24)
    y = task.op.measure(truth, task.noise, seed=0)                    # the same draw the recipe measures
    assert np.array_equal(ds["truth"].values, truth[:, 0].numpy())
    assert np.array_equal(ds["measured"].values, y[:, 0].numpy())
    assert ds.attrs["psnr_db"] > mean_psnr(y, truth) + 0.5            # TV-regularised deblurring helps
    assert ds["restored"].shape == (4, 24, 24) and (ds["seconds"] > 0).all()


def test_tuning_never_chooses_a_strength_whose_validation_psnr_is_nan(monkeypatch):
    """A diverged setting scores NaN; max() over (NaN, ...) tuples would keep it when it comes first."""
    from types import SimpleNamespace

    import sciml.inverse.restoration as R

    x_val = torch.full((2, 1, 8, 8), 0.5)

    def fake_restore(method, task, y, x0, model, strength, iters, callback=None):
        return torch.full_like(x_val, math.nan) if strength == 1.0 else x_val + 0.01

    monkeypatch.setattr(R, "restore", fake_restore)
    task = SimpleNamespace(name="fake", initial=lambda y: y)
    assert R.tune("tv", task, x_val, x_val, None, [1.0, 2.0], [10, 20], 20) == (2.0, 20)


@pytest.mark.parametrize("settings, match", [({"iter_grid": ()}, "iter_grid"), ({"iter_grid": (0,)}, "iter_grid"),
                                             ({"size": 4000}, "does not fit"), ({"size": 0}, "size=0"),
                                             ({"task_name": "ct_sparse", "ct_angles": 0}, "ct_angles")])
def test_sizes_and_counts_that_cannot_run_are_config_errors(settings, match):
    """Each once ended in a ValueError, IndexError, ZeroDivisionError or a NonFiniteError about FBP."""
    args = {"task_name": "deblur_noise0.02", "method": "tv", "size": 16, "iter_grid": (2,), **settings}
    with pytest.raises(ConfigError, match=match):
        restore_test_images(**args)
