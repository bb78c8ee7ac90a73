"""LPN is an exact prox (symmetric PSD Jacobian); DnCNN shapes; bad-input handling."""
import pytest
import torch

from sciml.errors import DimensionError, NonFiniteError
from sciml.models import build_model

torch.manual_seed(0)


def _perturbed(model):
    for w in model.psi.path_weights():  # away from the tiny init, so the test exercises the nonlinearity
        w.data.uniform_(0, 0.3)
    return model.double()


@pytest.mark.parametrize("kind", ["conv", "conv-reflect", "conv-zeros", "multiscale", "dense"])
def test_lpn_jacobian_symmetric_psd(kind):
    if kind == "multiscale":  # stride-2 hidden convs, skips from the bilinearly resized input
        model = _perturbed(build_model("lpn", hidden=6, layers=4, strides=(2, 1, 2), alpha=0.01))
        x = torch.rand(1, 1, 8, 8)
    elif kind.startswith("conv"):
        mode = kind.split("-")[1] if "-" in kind else "circular"
        model = _perturbed(build_model("lpn", hidden=6, layers=3, alpha=0.01, padding_mode=mode))
        x = torch.rand(1, 1, 6, 6)
    else:
        model, x = _perturbed(build_model("lpn", kind="dense", dim=5, hidden=16, layers=3)), torch.randn(1, 5)
    for trial in range(3):
        xi = (x + 0.3 * torch.randn_like(x)).double()
        jac = torch.autograd.functional.jacobian(lambda v: model(v), xi).reshape(xi.numel(), xi.numel())
        assert torch.allclose(jac, jac.T, atol=1e-10), (jac - jac.T).abs().max()
        eig = torch.linalg.eigvalsh(0.5 * (jac + jac.T))
        assert eig.min() >= -1e-10, eig.min()
        assert eig.max() > 1e-3  # not a trivial zero map


def test_lpn_train_mode_is_differentiable_and_eval_detaches():
    model = build_model("lpn", hidden=4, layers=2)
    y = torch.rand(2, 1, 8, 8)
    out = model.train()(y)
    assert out.requires_grad and out.shape == y.shape
    out.sum().backward()
    assert all(p.grad is not None for p in model.psi.path_weights())
    with torch.no_grad():
        assert not model.eval()(y).requires_grad


def test_lpn_denoise_bad_inputs():
    model = build_model("lpn", hidden=4, layers=2).eval()
    with pytest.raises(DimensionError):
        model.denoise(torch.rand(8, 8))
    with pytest.raises(NonFiniteError):
        model.denoise(torch.full((1, 1, 8, 8), float("nan")))
    with pytest.warns(RuntimeWarning, match="outside the training range"):
        model.denoise(torch.rand(1, 1, 8, 8) * 255)


def test_dncnn_shapes_and_residual():
    model = build_model("dncnn", hidden=8, depth=3)
    y = torch.rand(2, 1, 12, 10)
    assert model(y).shape == y.shape
    with pytest.raises(ValueError):
        build_model("dncnn", depth=1)


def test_multiscale_strides_are_checked_and_shrink_the_grid():
    with pytest.raises(ValueError, match="strides needs layers - 1 = 3 entries"):
        build_model("lpn", layers=4, strides=(2, 2))
    model = build_model("lpn", hidden=4, layers=4, strides=(2, 1, 2))
    sizes = []
    hooks = [c.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for c in model.psi.path[:-1]]
    y = torch.rand(2, 1, 16, 16)
    assert model(y).shape == y.shape and sizes == [8, 8, 4]
    for h in hooks:
        h.remove()
