import pytest
import torch

from sciml.evaluate.rollout import rollout, rollout_errors
from sciml.models import build_model, count_parameters


@pytest.mark.parametrize("channels", [8, 16])
def test_parameter_matched_waves(channels):
    counts = {k: count_parameters(build_model("sinenet", waves=k, channels=channels, history=2)) for k in (1, 2, 4, 8)}
    for k in (2, 4, 8):
        assert abs(counts[k] / counts[1] - 1) < 0.02, counts


def test_compute_grows_with_waves_at_equal_parameters():
    from sciml.bench.sinenet import gmacs

    x = torch.randn(1, 2, 32, 32)
    g = [gmacs(build_model("sinenet", waves=k, channels=8), x) for k in (1, 8)]
    assert g[1] > 2 * g[0]


def test_circular_padding_is_translation_equivariant_zero_is_not():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 32, 32)
    shift = lambda t: torch.roll(t, (8, 8), (-2, -1))  # noqa: E731  (a multiple of 2^(levels-1))
    circ = build_model("sinenet", waves=2, channels=4, padding_mode="circular").eval()
    zero = build_model("sinenet", waves=2, channels=4, padding_mode="zeros").eval()
    with torch.no_grad():
        torch.testing.assert_close(circ(shift(x)), shift(circ(x)), atol=1e-4, rtol=1e-4)
        assert (zero(shift(x)) - shift(zero(x))).abs().max() > 1e-3


def test_shapes_odd_grid_and_residual_output():
    m = build_model("sinenet", fields=2, history=3, waves=2, channels=4, padding_mode="zeros", residual_output=True)
    assert m(torch.randn(2, 6, 30, 22)).shape == (2, 2, 30, 22)


def test_rollout_feeds_predictions_back():
    class Shift(torch.nn.Module):  # next frame = last frame + 1
        def forward(self, x):
            return x[:, -1:] + 1

    hist = torch.zeros(2, 2, 4, 4)
    hist[:, 1] = 1.0
    out = rollout(Shift(), hist, steps=3, fields=1)
    assert out.shape == (2, 3, 1, 4, 4)
    assert [float(out[0, t, 0, 0, 0]) for t in range(3)] == [2.0, 3.0, 4.0]
    err = rollout_errors(out, out + 0.1 * out)
    torch.testing.assert_close(err, torch.full((2, 3), 0.1 / 1.1, dtype=err.dtype))
