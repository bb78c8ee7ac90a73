import torch

from sciml.evaluate.rollout import field_rel_l2_loss, rollout, rollout_errors


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


def test_batched_rollout_with_forcing_and_per_field_errors():
    class AddForcing(torch.nn.Module):  # next = last frame + forcing channel
        def forward(self, x):
            return x[:, 1:2] + x[:, 2:3]

    hist = torch.zeros(5, 2, 3, 3)
    forcing = lambda k: torch.full((5, 1, 3, 3), float(k))  # noqa: E731
    whole = rollout(AddForcing(), hist, steps=4, fields=1, forcing=forcing)
    split = rollout(AddForcing(), hist, steps=4, fields=1, batch_size=2, forcing=forcing)
    torch.testing.assert_close(whole, split)
    assert [float(whole[0, t, 0, 0, 0]) for t in range(4)] == [0.0, 1.0, 3.0, 6.0]
    truth = torch.ones(2, 3, 2, 4, 4)
    pred = truth.clone()
    pred[:, :, 1] *= 1.5  # only the second field is off, by 50%
    err = rollout_errors(pred, truth, per_field=True)
    assert err.shape == (2, 3, 2) and float(err[..., 0].max()) == 0.0
    torch.testing.assert_close(err[..., 1], torch.full((2, 3), 0.5))
    loss = field_rel_l2_loss(2)(pred.flatten(1, 2), truth.flatten(1, 2))
    torch.testing.assert_close(loss, torch.tensor(0.25))
