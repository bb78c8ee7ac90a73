"""Process-wide floating-point state, set only for the span of the work that needs it."""
from __future__ import annotations

import contextlib

import torch


def denormals_flushed() -> bool:
    """Whether the CPU currently flushes subnormal floats to zero (FTZ/DAZ)."""
    tiny = torch.tensor([1e-310], dtype=torch.float64)  # a float64 subnormal
    return bool((tiny * 1.0 == 0).item())


@contextlib.contextmanager
def flush_denormals():
    """Flush subnormal floats to zero inside the block and restore the previous state after it.

    Work whose values underflow (e.g. ``exp`` of Gaussian embeddings) runs several times faster
    with subnormals flushed, but the flag is process-wide: leaving it set would change every later
    computation of the caller (and break libraries that check IEEE-754 behaviour).
    """
    before = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
