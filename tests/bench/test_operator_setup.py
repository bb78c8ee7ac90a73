"""The paper-style training set-up of ``sciml bench operators``: spectral H1 loss and pointwise normaliser."""
import math

import torch

from sciml.bench.operator_setup import Decoded, GaussianNormalizer, SpectralH1Loss


def test_spectral_h1_loss_weights_single_modes_by_wavenumber():
    n = 32
    x = torch.arange(n) / n
    target = torch.ones(1, 1, n, n)  # only k = 0: weight 1
    loss = SpectralH1Loss(cutoff=10)
    assert loss(target, target) == 0
    # error = sin(2 pi k x): |k| = k, weight sqrt(1 + k^2); target norm is 1 * n (ortho FFT of ones)
    for k, expected_w in [(3, math.sqrt(10)), (14, 1.0)]:  # 14 >= cutoff: derivative part dropped
        err = torch.sin(2 * math.pi * k * x)[None, None, None, :].expand(1, 1, n, n)
        rel_l2 = float(err.norm() / target.norm())
        assert math.isclose(float(loss(target + err, target)), expected_w * rel_l2, rel_tol=1e-5)


def test_pointwise_normalizer_roundtrip_and_dirichlet_walls():
    data = torch.rand(50, 1, 8, 8)
    data[..., 0, :] = 0  # a wall where every sample is 0
    norm = GaussianNormalizer(data, pointwise=True)
    assert norm.mean.shape == (1, 1, 8, 8)
    assert torch.allclose(norm.decode(norm.encode(data)), data, atol=1e-5)
    z = norm.encode(data)
    assert torch.allclose(z[:, :, 1:].mean(0), torch.zeros(7, 8), atol=1e-5)
    # whatever the network outputs, the decoded wall stays (almost) 0
    out = Decoded(torch.nn.Identity(), norm)(100 * torch.randn(4, 1, 8, 8))
    assert out[..., 0, :].abs().max() < 1e-2
    assert GaussianNormalizer(data, pointwise=False).mean.shape == (1, 1, 1, 1)
