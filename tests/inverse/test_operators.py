"""Forward operators: adjoints, exact data prox, Radon against skimage, shape errors."""
import numpy as np
import pytest
import torch

from sciml.errors import DimensionError, NonFiniteError
from sciml.inverse import CompressedSensing, GaussianBlur, Inpainting, Radon

torch.manual_seed(0)


def _ops(n=16):
    return [GaussianBlur((n, n), 1.0), Inpainting((n, n), 0.5), CompressedSensing((n, n), 0.3), Radon((n, n), n_angles=7)]


@pytest.mark.parametrize("op", _ops(), ids=lambda o: o.name)
def test_adjoint_identity(op):
    x = torch.rand(3, *op.in_shape, dtype=torch.float64)
    y = torch.randn(3, *op.out_shape(), dtype=torch.float64)
    op = op.double() if hasattr(op, "double") else op
    lhs = (op(x) * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-5), (lhs, rhs)


@pytest.mark.parametrize("op", _ops(), ids=lambda o: o.name)
def test_data_prox_is_the_minimiser(op):
    """Gradient of 1/2||Ax-y||^2 + rho/2||x-v||^2 vanishes at data_prox (exact or CG)."""
    op = op.double()
    v = torch.rand(2, *op.in_shape, dtype=torch.float64)
    y = op(torch.rand(2, *op.in_shape, dtype=torch.float64))
    x = op.data_prox(v, y, 0.3, iters=300)
    grad = op.adjoint(op(x) - y) + 0.3 * (x - v)
    rhs = op.adjoint(y) + 0.3 * v
    assert grad.norm() < 1e-5 * rhs.norm()


def test_blur_preserves_mean_and_smooths():
    op = GaussianBlur((32, 32), 1.0)
    x = torch.rand(1, 1, 32, 32)
    bx = op(x)
    assert torch.allclose(bx.mean(), x.mean(), atol=1e-6)
    assert bx.var() < x.var()


def test_radon_matches_skimage():
    from skimage.transform import radon

    n = 32
    yy, xx = np.mgrid[:n, :n]
    rng = np.random.default_rng(0)
    img = rng.random((n, n)) * (((yy - n // 2) ** 2 + (xx - n // 2) ** 2) < (n // 2 - 1) ** 2)
    theta = np.linspace(0, 180, 12, endpoint=False)
    ref = radon(img, theta=theta, circle=True)
    op = Radon((n, n), angles_deg=theta).double()
    ours = op(torch.tensor(img)[None, None]).numpy()[0]
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-6 * np.abs(ref).max() + 1e-9


def test_shape_and_nan_errors_are_clear():
    op = GaussianBlur((16, 16), 1.0)
    with pytest.raises(DimensionError, match=r"shape \(B, 1, 16, 16\)"):
        op(torch.rand(1, 1, 16, 15))
    with pytest.raises(NonFiniteError):
        op(torch.full((1, 1, 16, 16), float("nan")))
    with pytest.raises(DimensionError):
        Radon((16, 12))
    with pytest.raises(DimensionError):
        CompressedSensing((16, 16), 0.25).adjoint(torch.rand(2, 10))
