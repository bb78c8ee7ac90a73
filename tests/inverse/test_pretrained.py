"""The shipped image priors (``sciml.inverse.pretrained``): they load safely, reproduce on the CPU what
their GPU training run recorded, and work as a prox, a prior and inside PnP without any training."""
import pytest
import torch

from sciml.errors import RegistryError
from sciml.inverse import GaussianBlur, make_denoiser, pnp_admm, pretrained, pretrained_provenance, prior_value
from sciml.inverse.image_priors import heldout_denoising
from sciml.inverse.metrics import mean_psnr
from sciml.inverse.pretrained import SHIPPED, pretrained_path
from sciml.inverse.recipe import evaluate_denoiser
from sciml.inverse.restoration import test_crops


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_net_loads_with_weights_only_and_records_its_provenance(name):
    torch.load(pretrained_path(name), map_location="cpu", weights_only=True)  # plain types only: no pickle
    prov = pretrained_provenance(name)
    for key in ("command", "device", "data", "train_s", "seed", "heldout_denoise_psnr_db", "net_cfg"):
        assert key in prov, key
    assert "H200" in prov["device"] and prov["train_s"] > 0
    assert pretrained_path(name).stat().st_size < 2 * 2**20  # a few MB at most


def test_cpu_reproduces_the_denoising_scores_recorded_on_the_gpu():
    """The held-out denoising PSNRs recorded by the GPU run come back on the CPU from the shipped weights."""
    noisy = heldout_denoising(None, res=64, seed=0)
    for name in SHIPPED:
        got = heldout_denoising(pretrained(name), res=64, seed=0)
        for level, want in pretrained_provenance(name)["heldout_denoise_psnr_db"].items():
            assert abs(got[float(level)] - want) < 0.01, (name, level)
        assert got[0.05] > noisy[0.05] + 4  # a real denoiser, not the identity


@pytest.mark.slow
def test_the_denoiser_evaluator_scores_a_shipped_net_from_its_provenance(tmp_path):
    """The denoiser recipe's evaluator reads a shipped net: its patch size and seed come from the recorded provenance."""
    scores = evaluate_denoiser(pretrained_path("dncnn"), None, tmp_path).attrs
    want = pretrained_provenance("dncnn")["heldout_denoise_psnr_db"]
    assert abs(scores["psnr_db_noise0.05"] - want["0.05"]) < 0.01


def test_pretrained_lpn_is_a_prior_and_a_pnp_denoiser_out_of_the_box():
    lpn = pretrained("lpn")
    assert not lpn.training and lpn.psi.is_convex()
    x = torch.tensor(test_crops(48))[:1, None]
    gen = torch.Generator().manual_seed(0)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    r_clean, r_noisy = prior_value(lpn, x, iters=100), prior_value(lpn, noisy, iters=100)
    assert float(r_noisy) > float(r_clean)  # the learned regulariser penalises noise
    op = GaussianBlur((48, 48), 1.0)
    y = op.measure(x, 0.02, seed=0)
    rec = pnp_admm(op, y, make_denoiser("lpn", model=lpn), rho=0.1, iters=10, x0=op.adjoint(y)).x
    assert mean_psnr(rec, x) > mean_psnr(y, x) + 1.0


def test_unknown_prior_name_is_a_registry_error():
    with pytest.raises(RegistryError, match="shipped"):
        pretrained("unet")
