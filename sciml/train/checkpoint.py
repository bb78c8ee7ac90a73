"""The one checkpoint format.

A checkpoint is a ``torch.save``d dict::

    {"format": "sciml-checkpoint", "format_version": 1, "sciml_version": str,
     "model": {"name": registry name, "config": constructor kwargs},
     "state_dict": model weights, "normalizers": Normalizers.state() or None,
     "trainer": optimizer/scheduler/RNG/epoch state or None (for exact resume),
     "extra": free-form dict (metrics, notes)}

Writes are atomic (temp file + rename), so an interrupted save never leaves a broken file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from sciml._version import __version__
from sciml.errors import CheckpointError
from sciml.utils.files import atomic_path

FORMAT = "sciml-checkpoint"
FORMAT_VERSION = 1


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model under DDP / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def model_spec(model: nn.Module) -> dict[str, Any]:
    spec = getattr(unwrap(model), "sciml_config", None)
    if spec is None:
        raise CheckpointError(
            f"{type(unwrap(model)).__name__} was not created by sciml.models.build_model, so its config "
            "is unknown and the checkpoint could not rebuild it. Create it with build_model(name, **config)."
        )
    return spec


def save_checkpoint(path: str | Path, model: nn.Module, normalizers: Any = None,
                    trainer_state: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Atomically write a checkpoint of ``model`` (its registry name/config come from build_model)."""
    bare = unwrap(model)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sciml_version": __version__,
        "model": model_spec(bare),
        "state_dict": bare.state_dict(),
        "normalizers": normalizers.state() if normalizers is not None else None,
        "trainer": trainer_state,
        "extra": extra or {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu",
                    expected_model: str | None = None) -> dict[str, Any]:
    """Read and validate a checkpoint; ``expected_model`` guards against loading another model's."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except Exception as exc:  # corrupt/foreign file: say so instead of a pickle traceback
        raise CheckpointError(f"{str(p)!r} is not a readable torch checkpoint: {exc}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{str(p)!r} is not a sciml checkpoint (no 'format': {FORMAT!r} entry)")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{str(p)!r} has checkpoint format {ckpt['format_version']}, newer than this sciml "
            f"({__version__}) reads ({FORMAT_VERSION}); upgrade sciml"
        )
    name = ckpt["model"]["name"]
    if expected_model is not None and name != expected_model:
        raise CheckpointError(
            f"checkpoint {str(p)!r} holds a {name!r} model, not the {expected_model!r} model it is being "
            f"loaded into; pass a {expected_model!r} checkpoint or build a {name!r} model"
        )
    return ckpt


def check_compatible(model: nn.Module, ckpt: dict[str, Any], path: str = "checkpoint") -> None:
    """Raise CheckpointError unless ``ckpt`` was made from the same model name and config."""
    spec = model_spec(model)
    if spec["name"] != ckpt["model"]["name"]:
        raise CheckpointError(
            f"{path} holds a {ckpt['model']['name']!r} model but the model is {spec['name']!r}"
        )
    if spec["config"] != ckpt["model"]["config"]:
        raise CheckpointError(
            f"{path} was saved with config {ckpt['model']['config']} but the model has {spec['config']}"
        )
