"""flush_denormals sets the process-wide subnormal flag only inside its block."""
from __future__ import annotations

import pytest
import torch

from sciml.utils.floating_point import denormals_flushed, flush_denormals


def test_flush_denormals_restores_the_previous_state_even_on_error():
    assert not denormals_flushed()
    with pytest.raises(RuntimeError), flush_denormals():
        assert denormals_flushed()
        assert torch.tensor([1e-310], dtype=torch.float64).mul(1.0).item() == 0.0
        raise RuntimeError("boom")
    assert not denormals_flushed()
    assert torch.tensor([1e-310], dtype=torch.float64).mul(1.0).item() == pytest.approx(1e-310)


def test_nested_blocks_keep_the_outer_state():
    with flush_denormals():
        with flush_denormals():
            pass
        assert denormals_flushed()
    assert not denormals_flushed()
