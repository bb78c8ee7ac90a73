"""The LPN bench's evaluation path: tuning on validation crops, scoring on test crops, figures."""
import numpy as np
import torch

from sciml.bench import lpn as lpn_bench
from sciml.bench.results import BenchResult
from sciml.models import build_model

TINY = dict(lpn_bench.PRESETS["default"], img=24, iters=6, iter_grid=(3, 6), ct_angles=8)


def tiny_models():
    torch.manual_seed(0)
    return {"lpn": build_model("lpn", hidden=4, layers=2, beta=10.0, alpha=0.01, padding_mode="circular").eval(),
            "dncnn": build_model("dncnn", hidden=4, depth=2).eval()}


def test_run_task_tunes_scores_and_beats_the_blurred_input():
    res, figs = BenchResult("lpn", "test", "cpu"), {}
    lpn_bench.run_task("deblur_noise0.02", TINY, tiny_models(), ["tv", "lpn"], res, 0, figs)
    psnr = {r["method"]: r for r in res.rows if r["metric"] == "psnr_db"}
    assert set(psnr) == {"tv", "lpn"}
    assert psnr["tv"]["tuned"] in lpn_bench.grids("deblur_noise0.02")["tv"] and psnr["tv"]["iters"] in (3, 6)
    # the measurement itself (same operator, noise seed and test crops), scored with the same PSNR
    truth = torch.tensor(lpn_bench.test_crops(TINY["img"]))[:, None]
    op, noise, _ = lpn_bench.make_task("deblur_noise0.02", TINY["img"], TINY["ct_angles"])
    y = op.measure(truth, noise, seed=0)
    assert np.array_equal(figs["deblur_noise0.02"]["truth"], truth[0, 0].numpy())
    assert np.array_equal(figs["deblur_noise0.02"]["input"], y[0, 0].numpy())
    assert psnr["tv"]["value"] > lpn_bench.mean_psnr(y, truth) + 0.5  # TV-regularised deblurring helps
    assert figs["deblur_noise0.02"]["tv"].shape == (TINY["img"], TINY["img"])


def test_mean_psnr_matches_a_hand_computation():
    ref = torch.zeros(2, 1, 4, 4)
    x = ref.clone()
    x[0, 0, 0, 0] = 0.4                       # MSE 0.01 -> 20 dB
    x[1] = 0.1                                # MSE 0.01 -> 20 dB
    x[1, 0, 0, 0] = -5.0                      # clipped to 0 before scoring: MSE (15 * 0.01) / 16
    second = 10 * np.log10(16 / (15 * 0.01))
    assert abs(lpn_bench.mean_psnr(x, ref) - (20 + second) / 2) < 1e-4
