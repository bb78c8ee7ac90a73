"""Device selection: cuda > mps > cpu, overridable by name."""
from __future__ import annotations

import torch

from sciml.errors import ConfigError


def default_device(name: str | None = None) -> torch.device:
    """Return ``torch.device(name)`` or the best available device when ``name`` is None/'auto'.

    A name torch does not know, or a device this machine does not have, is a :class:`ConfigError`.
    """
    if name not in (None, "auto"):
        return _available(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def sync(device: torch.device | str | None = None) -> None:
    """Wait for queued CUDA work on ``device`` (a no-op elsewhere), so wall-clock timings are honest."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _available(name: str) -> torch.device:
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {name!r} is not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from exc
    mps = getattr(torch.backends, "mps", None)
    have = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": mps is not None and mps.is_available()}
    if not have.get(dev.type, True):
        raise ConfigError(f"device {name!r} is not available on this machine; use 'auto' or 'cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev
