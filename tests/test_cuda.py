"""CUDA paths, checked against the CPU: skipped without a GPU (CI has none); `.ci/gpu-check` runs them
on the device. Each test would have caught a real device bug (a CPU tensor meeting a CUDA one)."""
from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_pig_trains_on_cuda():
    from sciml.models import build_model
    from sciml.pinn.problems import get_problem
    from sciml.pinn.physics_training import train_physics

    p = get_problem("helmholtz2d")
    m = build_model("pig", lower=p.lower, upper=p.upper, n_gaussians=40, sigma0=0.2)
    out = train_physics(m, p, adam_steps=40, lbfgs_steps=1, lbfgs_max_iter=5, n_colloc=128, eval_every=20,
                        device="cuda")
    assert next(m.parameters()).is_cuda
    assert out["history"][1]["train_loss"] < 0.5 * out["history"][0]["train_loss"]


def test_dcdm_and_gpu_cg_match_cpu_iterations():
    import numpy as np

    from sciml.linalg import cg, dcdm_solve
    from sciml.linalg.families import shipped_family_system

    A, b, solid = shipped_family_system(32, 0)
    h_cpu, h_gpu, h_cg, h_cg_gpu = [], [], [], []
    x, info = dcdm_solve(A, b, rtol=1e-6, history=h_cpu, solid=solid.ravel())
    xg, info_g = dcdm_solve(A, torch.as_tensor(b, device="cuda"), rtol=1e-6, history=h_gpu, solid=solid.ravel())
    assert info == info_g == 0 and abs(len(h_cpu) - len(h_gpu)) <= max(3, len(h_cpu) // 5)  # bf16 on GPU
    assert np.linalg.norm(b - A @ xg) <= 1e-6 * np.linalg.norm(b) * 1.0001
    cg(A, b, rtol=1e-6, history=h_cg)
    dcdm_solve(A, torch.as_tensor(b, device="cuda"), model="identity", k=1, rtol=1e-6, history=h_cg_gpu,
               solid=solid.ravel(), safeguard=False)
    assert len(h_cg) == len(h_cg_gpu)


@pytest.mark.parametrize("name", ["mgno", "fno"])
def test_operator_forward_backward_on_cuda_odd_grid(name):
    from sciml.models import build_model

    kw = {"grid_size": 45} if name == "mgno" else {}
    net = build_model(name, **kw)
    x = torch.randn(2, 1, 45, 45)
    ref = net(x)
    net_gpu = net.cuda()
    out = net_gpu(x.cuda())
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-2, atol=1e-2)  # TF32 convs on the GPU
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net_gpu.parameters() if p.requires_grad)


def test_lpn_restoration_evaluates_on_cuda_like_on_the_cpu():
    import copy

    from sciml.inverse.image_priors import heldout_denoising, prior_vs_noise
    from sciml.inverse.restoration import restore_test_images
    from sciml.models import build_model

    torch.manual_seed(0)
    tiny = {"lpn": build_model("lpn", hidden=4, layers=2, beta=10.0, alpha=0.01, padding_mode="circular").eval()}
    scores = {}
    for device in ("cpu", "cuda"):
        lpn = copy.deepcopy(tiny["lpn"]).to(device)
        scores[device] = {m: restore_test_images("ct_sparse", m, lpn if m == "lpn" else None, size=24, ct_angles=8,
                                                 iter_grid=(3, 6), device=device).attrs["psnr_db"] for m in ("tv", "lpn")}
        scores[device]["denoise"] = heldout_denoising(lpn, 16, 0, device=device)[0.05]
        scores[device]["prior"] = prior_vs_noise(lpn, 16, 0, levels=(0.1,), device=device)[0.1]
    for key, value in scores["cpu"].items():
        assert abs(scores["cuda"][key] - value) <= 0.05 * max(1.0, abs(value)), (key, scores)