"""The one checkpoint format.

A checkpoint is a ``torch.save``d dict::

    {"format": "sciml-checkpoint", "format_version": 1, "sciml_version": str,
     "model": {"name": registry name, "config": constructor kwargs},
     "state_dict": model weights, "normalizers": Normalizers.state() or None,
     "trainer": optimizer/scheduler/RNG/epoch state or None (for exact resume),
     "extra": free-form dict (metrics, notes)}

Every value in it is a tensor or a plain Python value (dict, list, tuple, str, int, float, bool,
None): :func:`save_tensors` converts numpy values and refuses anything else, so every file loads
with ``torch.load(weights_only=True)``. Loading never unpickles arbitrary objects: a file that
would need to (a pickle payload can run code) is refused with a :class:`CheckpointError`.

Writes are atomic (temp file + rename), so an interrupted save never leaves a broken file.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
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


def to_plain(obj: Any, where: str = "checkpoint") -> Any:
    """``obj`` with numpy arrays as tensors and numpy scalars as Python numbers; TypeError on any other
    object that is not a tensor or a plain value (it would need pickling to load)."""
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {to_plain(k, where): to_plain(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)
    raise TypeError(f"{where} is a {type(obj).__name__}; a checkpoint holds only tensors and plain values "
                    "(dict, list, tuple, str, int, float, bool, None)")


def save_tensors(obj: Any, path: str | Path) -> Path:
    """Atomically ``torch.save`` ``obj`` (tensors and plain values only, see :func:`to_plain`)."""
    plain = to_plain(obj)
    with atomic_path(path) as tmp:
        torch.save(plain, tmp)
    return Path(path)


def _refusal(exc: Exception) -> str:
    """The short reason torch gives for refusing a weights-only load."""
    found = re.search(r"Unsupported (global|operand)[^\n]*?(?=\. |\n|$)", str(exc))
    return found.group(0) if found else str(exc).splitlines()[0]


def load_tensors(path: str | Path, map_location: str | torch.device | None = "cpu",
                 what: str = "checkpoint") -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain values only, never code.

    Raises :class:`CheckpointError` for a missing file, a file that is not a torch file, and a file
    whose unpickling would build other objects (refused, so its payload never runs).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{what} {str(p)!r} does not exist (or is not a file); check the path")
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # bytes that are not a pickle at all: a damaged file
            raise CheckpointError(f"{what} {str(p)!r} is not a readable torch file ({_refusal(exc)}); "
                                  "pass a .pt file written by sciml") from exc
        raise CheckpointError(
            f"{what} {str(p)!r} was refused: it holds pickled Python objects, not only tensors and plain "
            f"values ({_refusal(exc)}), and loading it could run code. Load only files written by sciml; "
            "re-create this one with sciml.train.save_checkpoint"
        ) from exc
    except Exception as exc:  # corrupt/foreign file: say so instead of a deserialisation traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{what} {str(p)!r} is not a readable torch file ({first}); "
                              "pass a .pt file written by sciml") from exc


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
    return save_tensors(payload, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu",
                    expected_model: str | None = None) -> dict[str, Any]:
    """Read and validate a checkpoint; ``expected_model`` guards against loading another model's."""
    p = Path(path)
    ckpt = load_tensors(p, map_location=map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{str(p)!r} is not a sciml checkpoint (no 'format': {FORMAT!r} entry); "
                              "pass a .pt file written by sciml train or save_checkpoint")
    model = ckpt.get("model")
    if (not isinstance(model, dict) or not isinstance(model.get("name"), str)
            or not isinstance(model.get("config"), dict) or not isinstance(ckpt.get("state_dict"), dict)):
        raise CheckpointError(f"{str(p)!r} is a damaged sciml checkpoint (no model name, config or weights); "
                              "re-create it")
    if not isinstance(ckpt.get("format_version", 0), int) or ckpt.get("format_version", 0) > FORMAT_VERSION:
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
            f"{path} holds a {ckpt['model']['name']!r} model but the model is {spec['name']!r}; use the config "
            "that wrote it, or another out_dir"
        )
    if spec["config"] != ckpt["model"]["config"]:
        raise CheckpointError(
            f"{path} was saved with config {ckpt['model']['config']} but the model has {spec['config']}; use "
            "the config that wrote it, or another out_dir"
        )
