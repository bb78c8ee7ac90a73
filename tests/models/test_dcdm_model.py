import pytest
import torch

from sciml.models import build_model, load_model
from sciml.train.checkpoint import save_checkpoint


@pytest.mark.parametrize("dim,shape", [(3, (9, 10, 11)), (2, (13, 8))])
def test_shape_preserved_on_odd_grids(dim, shape):
    net = build_model("dcdm", dim=dim, channels=4, blocks=1, coarse_blocks=2)
    out = net(torch.randn(2, 2, *shape))
    assert out.shape == (2, 1, *shape)


def test_invariant_to_input_scale():
    """DCDM feeds unit-norm residuals whose entries shrink like n^-1/2; the net rescales them itself."""
    torch.manual_seed(0)
    net = build_model("dcdm", dim=3, channels=4, blocks=1)
    b, mask = torch.randn(1, 1, 8, 8, 8), torch.ones(1, 1, 8, 8, 8)
    a1 = net(torch.cat([b, mask], 1))
    a2 = net(torch.cat([1e-3 * b, mask], 1))
    torch.testing.assert_close(a1, a2, rtol=1e-5, atol=1e-6)


def test_shipped_architecture_size_and_wrong_dimensionality():
    net = build_model("dcdm", dim=3, channels=16, blocks=1, coarse_blocks=4)
    n = sum(p.numel() for p in net.parameters())
    assert 60_000 < n < 110_000  # "about 100k parameters"
    with pytest.raises(ValueError, match="3-D"):
        net(torch.randn(1, 2, 8, 8))
    with pytest.raises(ValueError, match="dim must be 2 or 3"):
        build_model("dcdm", dim=1)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    net = build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1)
    save_checkpoint(tmp_path / "m.pt", net)
    back = load_model(str(tmp_path / "m.pt"))
    x = torch.randn(1, 2, 6, 6, 6)
    torch.testing.assert_close(back(x), net(x))


def test_fast_cpu_conv_matches_torch_conv():
    from sciml.models.dcdm import conv

    torch.manual_seed(2)
    for layer, shape in [(torch.nn.Conv3d(3, 5, 3, padding=1), (2, 3, 7, 6, 5)), (torch.nn.Conv2d(3, 5, 1), (2, 3, 7, 6))]:
        x = torch.randn(*shape, requires_grad=True)
        y1 = conv(layer, x)
        g1 = torch.autograd.grad(y1.square().sum(), [x, layer.weight])
        y2 = layer(x)
        g2 = torch.autograd.grad(y2.square().sum(), [x, layer.weight])
        torch.testing.assert_close(y1, y2, rtol=1e-4, atol=1e-5)
        for a, b in zip(g1, g2):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_wide_blocks_start_as_identity_and_widen_the_receptive_field():
    """ADR 0095: zero-initialised dilated coarse blocks leave a trained net's output unchanged, and once
    trained they let a point source reach cells the plain net cannot."""
    torch.manual_seed(3)
    base = build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1)
    grown = build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1, wide=[4, 8])
    missing, unexpected = grown.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("wide.") for k in missing)
    x = torch.randn(1, 2, 40, 8, 8)
    torch.testing.assert_close(grown(x), base(x))
    for p in grown.wide.parameters():  # as after training: non-zero weights in the dilated block
        torch.nn.init.normal_(p, std=0.1)

    def reach(net):  # how far along z the inputs that influence the output cell at z = 39 lie
        x = torch.randn(1, 2, 40, 8, 8, requires_grad=True)
        net(x)[0, 0, 39, 4, 4].backward()
        return 39 - int(x.grad[0, 1, :, 4, 4].abs().nonzero().min())  # channel 1: not rescaled by the global RMS

    assert reach(base) < 16 and reach(grown) > 30, (reach(base), reach(grown))
    with pytest.raises(ValueError, match="pairs"):
        build_model("dcdm", dim=3, wide=[4])


def test_rebuild_keeps_weights_adds_wide_blocks_and_refuses_other_changes():
    from sciml.models.dcdm import rebuild

    torch.manual_seed(0)
    net = build_model("dcdm", dim=3, channels=4, blocks=1).eval()
    x = torch.randn(2, 2, 8, 8, 8)
    grown = rebuild(net, wide=[2, 4]).eval()  # zero-initialised wide block: same output
    assert len(grown.wide) == 1 and torch.allclose(grown(x), net(x), atol=1e-6)
    flagged = rebuild(net, zero_offset=True).eval()
    assert torch.allclose(flagged(x), net.body(x) - net.body(net._zeroed(x)), atol=1e-6)
    with pytest.raises(ValueError, match="cannot rebuild"):
        rebuild(net, channels=8)
