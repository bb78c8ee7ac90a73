import pytest
import torch

from sciml.models import build_model, count_parameters


@pytest.mark.parametrize("channels", [8, 16])
def test_parameter_matched_waves(channels):
    counts = {k: count_parameters(build_model("sinenet", waves=k, channels=channels, history=2)) for k in (1, 2, 4, 8)}
    for k in (2, 4, 8):
        assert abs(counts[k] / counts[1] - 1) < 0.02, counts


def test_matches_the_reference_parameter_table():
    """REFERENCES.md (reference code at C = 16, 4 frames in): K = 1 has 2.116M parameters, and the
    matched multipliers are 1.795, 1.601, 1.4145 for K = 2, 4, 8."""
    m1 = build_model("sinenet", waves=1, channels=16, history=4)
    assert abs(count_parameters(m1) / 2.116e6 - 1) < 1e-3
    for k, ref in ((2, 1.795), (4, 1.601), (8, 1.4145)):
        assert abs(build_model("sinenet", waves=k, channels=16, history=4).mult - ref) < 2e-3


def test_compute_grows_with_waves_at_equal_parameters():
    from sciml.utils.cost import gmacs

    x = torch.randn(1, 2, 32, 32)
    g = [gmacs(build_model("sinenet", waves=k, channels=8), x) for k in (1, 8)]
    assert g[1] > 2 * g[0]


def test_compute_matched_unet_width_costs_what_the_waves_cost_and_leaves_the_rng_alone():
    from sciml.models.sinenet import compute_matched_channels
    from sciml.utils.cost import gmacs

    torch.manual_seed(0)
    c = compute_matched_channels(1, 4, 8, 8, 32, "circular")
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), after)  # the models it builds draw from a forked RNG
    x = torch.zeros(1, 4, 32, 32)
    g8 = gmacs(build_model("sinenet", waves=8, channels=8, history=4), x)
    costs = {w: gmacs(build_model("sinenet", waves=1, channels=w, history=4), x) for w in (c - 1, c, c + 1)}
    assert c == 13 and min(costs, key=lambda w: abs(costs[w] - g8)) == c  # the closest width in GMACs


def test_circular_padding_is_translation_equivariant_zero_is_not():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 32, 32)
    shift = lambda t: torch.roll(t, (16, 16), (-2, -1))  # noqa: E731  (a multiple of 2^levels)
    circ = build_model("sinenet", waves=2, channels=4, padding_mode="circular").eval()
    zero = build_model("sinenet", waves=2, channels=4, padding_mode="zeros").eval()
    with torch.no_grad():
        torch.testing.assert_close(circ(shift(x)), shift(circ(x)), atol=1e-4, rtol=1e-4)
        assert (zero(shift(x)) - shift(zero(x))).abs().max() > 1e-3


def test_shapes_odd_grid_and_residual_output():
    m = build_model("sinenet", fields=2, history=3, waves=2, channels=4, padding_mode="zeros", residual_output=True)
    assert m(torch.randn(2, 6, 30, 22)).shape == (2, 2, 30, 22)


def test_fast_parameter_count_equals_the_built_model():
    from sciml.models.sinenet import _count

    m = build_model("sinenet", fields=2, history=3, channels=8, waves=3, mult=1.7, padding_mode="zeros")
    assert _count(2, 3, 8, 3, 4, 1.7, "zeros", True) == count_parameters(m)


def test_unconditioned_model_has_no_conditioning_parameters_and_rejects_cond():
    m = build_model("sinenet", waves=2, channels=4)
    assert not any("cond" in k or "embed" in k for k in m.state_dict())
    with pytest.raises(ValueError):
        m(torch.randn(1, 2, 16, 16), torch.ones(1, 1))


def test_conditioning_changes_the_output_and_zeroed_conditioning_equals_the_unconditioned_model():
    torch.manual_seed(0)
    plain = build_model("sinenet", waves=2, channels=4).eval()
    cond = build_model("sinenet", waves=2, channels=4, cond_dim=2, cond_scale=[100.0, 10.0]).eval()
    assert count_parameters(cond) > count_parameters(plain)
    x = torch.randn(3, 2, 16, 16)
    c1, c2 = torch.tensor([[0.01, 0.5]] * 3), torch.tensor([[0.05, 0.5]] * 3)
    with torch.no_grad():
        assert (cond(x, c1) - cond(x, c2)).abs().max() > 1e-3  # dt changes the prediction
        assert (cond(x, c1) - cond(x, c1 + torch.tensor([0.0, 0.3]))).abs().max() > 1e-3  # and the PDE parameter
        missing, unexpected = cond.load_state_dict(plain.state_dict(), strict=False)
        assert not unexpected and all("cond" in k or "embed" in k for k in missing)
        for name, p in cond.named_parameters():
            if ".cond." in name:
                p.zero_()  # scale = shift = 0: the blocks reduce to the unconditioned ones
        torch.testing.assert_close(cond(x, c1), plain(x))
    with pytest.raises(ValueError):
        cond(x)


def test_conditioning_embedding_gets_gradients():
    m = build_model("sinenet", waves=1, channels=4, cond_dim=1, cond_scale=100.0)
    m(torch.randn(2, 2, 16, 16), torch.tensor([0.01, 0.02])).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.embed.parameters())


def test_unconditioned_output_is_unchanged_by_the_conditioning_code():
    """Seeded output recorded before conditioning existed (same parameters, same RNG use)."""
    torch.manual_seed(0)
    m = build_model("sinenet", waves=2, channels=4).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        y = m(torch.randn(2, 2, 16, 16)).double()
    assert abs(y.sum().item() / -189.5529893785715 - 1) < 1e-4
    assert abs(y.abs().sum().item() / 263.2775408476591 - 1) < 1e-4
