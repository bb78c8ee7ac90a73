"""Sizing denoiser training to a time budget, and running exactly the asked number of steps."""
import torch

from sciml.inverse.matching import DenoisingObjective
from sciml.inverse.denoiser_training import seconds_per_step, steps_in_budget, train_steps
from sciml.models import build_model


def _tiny():
    torch.manual_seed(0)
    return build_model("dncnn", hidden=4, depth=2)


def _objective(seed=0):
    return DenoisingObjective(torch.rand(32, 1, 8, 8), 0.05, "l2", batch_size=4, seed=seed)


def test_train_steps_runs_exactly_the_asked_number_of_steps():
    for steps in (7, 101, 347):  # 347 is prime: no equal split into several epochs
        model = _tiny()
        opt_steps = []
        orig = torch.optim.Adam.step

        def counting(self, *a, **k):
            opt_steps.append(1)
            return orig(self, *a, **k)

        torch.optim.Adam.step = counting
        try:
            train_steps(model, _objective(), steps, 1e-3, "cpu")
        finally:
            torch.optim.Adam.step = orig
        assert len(opt_steps) == steps


def test_probe_leaves_the_model_untouched_and_the_budget_scales_the_steps():
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    t = seconds_per_step(model, _objective(), device="cpu", warmup=2, probe=10)
    assert t > 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # a budget of ~40 probe-steps' worth gives tens of steps, never fewer than the minimum
    n = steps_in_budget(model, _objective(), budget_s=40 * t, device="cpu")
    assert 10 <= n <= 400
    assert steps_in_budget(model, _objective(), budget_s=0.0, device="cpu", minimum=3) == 3
