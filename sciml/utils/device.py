"""Device selection: cuda > mps > cpu, overridable by name."""
from __future__ import annotations

import torch


def default_device(name: str | None = None) -> torch.device:
    """Return ``torch.device(name)`` or the best available device when ``name`` is None/'auto'."""
    if name not in (None, "auto"):
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def sync(device: torch.device | str | None = None) -> None:
    """Wait for queued CUDA work on ``device`` (a no-op elsewhere), so wall-clock timings are honest."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
