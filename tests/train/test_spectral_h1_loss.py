"""The MgNO paper's spectral relative H1 loss (``build_loss("spectral_h1")``)."""
import math

import torch

from sciml.train.losses import SpectralH1Loss


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
