"""The shipped image priors (``sciml.inverse.pretrained``): they load safely, reproduce on the CPU what
their GPU training run recorded, and work as a prox, a prior and inside PnP without any training."""
import json
from pathlib import Path

import pytest
import torch

from sciml.bench import lpn as lpn_bench
from sciml.errors import ConfigError, RegistryError
from sciml.inverse import GaussianBlur, make_denoiser, pnp_admm, pretrained, pretrained_provenance, prior_value
from sciml.inverse import denoiser_pair
from sciml.inverse.pretrained import SHIPPED, pretrained_path

GPU_PAGE = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "lpn_gpu.json"


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
    nets = {name: pretrained(name) for name in SHIPPED}
    got = lpn_bench.denoising_psnr(nets, res_px=64, seed=0)
    for name in SHIPPED:
        for level, want in pretrained_provenance(name)["heldout_denoise_psnr_db"].items():
            assert abs(got[(name, float(level))] - want) < 0.01, (name, level)
        assert got[(name, 0.05)] > got[("noisy input", 0.05)] + 4  # a real denoiser, not the identity


def test_pretrained_lpn_is_a_prior_and_a_pnp_denoiser_out_of_the_box():
    lpn = pretrained("lpn")
    assert not lpn.training and lpn.psi.is_convex()
    x = torch.tensor(lpn_bench.test_crops(48))[:1, None]
    gen = torch.Generator().manual_seed(0)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    r_clean, r_noisy = prior_value(lpn, x, iters=100), prior_value(lpn, noisy, iters=100)
    assert float(r_noisy) > float(r_clean)  # the learned regulariser penalises noise
    op = GaussianBlur((48, 48), 1.0)
    y = op.measure(x, 0.02, seed=0)
    rec = pnp_admm(op, y, make_denoiser("lpn", model=lpn), rho=0.1, iters=10, x0=op.adjoint(y)).x
    assert lpn_bench.mean_psnr(rec, x) > lpn_bench.mean_psnr(y, x) + 1.0


def test_unknown_prior_name_is_a_registry_error():
    with pytest.raises(RegistryError, match="shipped"):
        pretrained("unet")


def test_shipped_nets_refuse_a_preset_they_were_not_trained_with():
    cfg = dict(lpn_bench.PRESETS["default"])
    with pytest.raises(ConfigError, match="--preset"):
        denoiser_pair.load_nets({k: pretrained_path(k) for k in SHIPPED}, cfg)
    cfg = dict(lpn_bench.PRESETS["gpu"])
    nets, prov = denoiser_pair.load_nets({k: pretrained_path(k) for k in SHIPPED}, cfg)
    assert (cfg["l1_steps"], cfg["pm_steps"], cfg["dncnn_steps"]) == (
        prov["lpn"]["l1_steps"], prov["lpn"]["pm_steps"], prov["dncnn"]["dncnn_steps"])
    assert (cfg["l1_steps"], cfg["pm_steps"], cfg["dncnn_steps"]) == tuple(
        lpn_bench.PRESETS["gpu"][k] for k in ("l1_steps", "pm_steps", "dncnn_steps"))  # the preset trains them


def test_save_then_load_nets_round_trips_weights_and_provenance(tmp_path):
    cfg = dict(lpn_bench.PRESETS["gpu"], lpn_hidden=4, dncnn_hidden=4)
    lpn, dncnn = denoiser_pair.build_nets(cfg)
    prov = {k: {"net_cfg": {key: cfg.get(key) for key in denoiser_pair.NET_KEYS}, "train_s": 1.0, "command": "x"}
            for k in ("lpn", "dncnn")}
    denoiser_pair.save_nets(str(tmp_path), {"lpn": lpn, "dncnn": dncnn}, prov)
    nets, got = denoiser_pair.load_nets({k: tmp_path / f"{k}.pt" for k in ("lpn", "dncnn")}, dict(cfg))
    for name, net in (("lpn", lpn), ("dncnn", dncnn)):
        for (k, a), b in zip(net.state_dict().items(), nets[name].state_dict().values()):
            assert torch.equal(a, b), k
        assert got[name]["train_s"] == 1.0


@pytest.mark.slow
def test_cpu_reproduces_the_published_gpu_table_from_the_shipped_weights(tmp_path):
    """`sciml bench lpn --preset gpu --pretrained` on the CPU gives the published lpn_gpu.json rows."""
    assert lpn_bench.main(["--preset", "gpu", "--pretrained", "--out", str(tmp_path)]) == 0
    want = {(r["task"], r["method"], r["metric"]): r["value"] for r in json.loads(GPU_PAGE.read_text())["rows"]
            if r["metric"] in ("psnr_db", "ssim")}
    got = {(r["task"], r["method"], r["metric"]): r["value"]
           for r in json.loads((tmp_path / "lpn_gpu.json").read_text())["rows"] if r["metric"] in ("psnr_db", "ssim")}
    assert set(got) == set(want)
    for key, value in want.items():
        assert abs(got[key] - value) < (0.02 if key[2] == "psnr_db" else 1e-3), key
