"""Model registry: ``@register_model(name)``, ``build_model(name, **config)``, ``load_model(path)``.

A model's constructor keyword arguments *are* its config; ``build_model`` records them on
the instance (``model.sciml_config``) so a checkpoint can rebuild the model alone.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from sciml.config import check_kwargs
from sciml.data.normalize import Normalizers
from sciml.errors import CheckpointError, ConfigError, SciMLError
from sciml.registry import Registry
from sciml.train.checkpoint import load_checkpoint

MODELS: Registry[type[nn.Module]] = Registry("model", ["sciml.models"])


def register_model(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator registering an ``nn.Module`` under ``name``."""

    def deco(cls: type[nn.Module]) -> type[nn.Module]:
        cls.registry_name = name
        return MODELS.register(name)(cls)

    return deco


def build_model(name: str, **config: Any) -> nn.Module:
    """Instantiate registered model ``name`` with ``config``; unknown keys raise ConfigError."""
    cls = MODELS.get(name)
    check_kwargs(cls.__init__, config, where=f"model {name!r}")
    try:
        model = cls(**config)
    except (TypeError, ValueError, RuntimeError) as exc:  # a value the model cannot take (torch says why)
        if isinstance(exc, SciMLError):
            raise
        raise ConfigError(f"model {name!r} cannot be built with {config} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); check its values") from exc
    model.sciml_config = {"name": name, "config": dict(config)}
    return model


def check_model(name: str, config: dict[str, Any], build: bool = True) -> None:
    """Refuse a model section before a run reads or generates data: an unknown name (RegistryError), an
    unknown key, and with ``build`` any value the constructor refuses (ConfigError). The model is built once
    and dropped with torch's CPU random state restored, so the run's own build draws the same weights."""
    if not build:
        check_kwargs(MODELS.get(name).__init__, config, where=f"model {name!r}")
        return
    with torch.random.fork_rng(devices=[]):
        build_model(name, **config)


def model_names() -> list[str]:
    return MODELS.names()


def load_model(path: str, map_location: str | None = "cpu") -> nn.Module:
    """Rebuild a model from a sciml checkpoint alone; normalisers land on ``model.normalizers``."""
    return model_from_checkpoint(load_checkpoint(path, map_location=map_location), source=path)


def model_from_checkpoint(ckpt: dict[str, Any], source: str | Path = "the checkpoint") -> nn.Module:
    """The model of an already loaded checkpoint ``ckpt`` (from :func:`~sciml.train.checkpoint.load_checkpoint`),
    in eval mode with its normalisers; ``source`` names the file in errors. For callers that also read the
    checkpoint's other entries, so the file is read once."""
    model = build_model(ckpt["model"]["name"], **ckpt["model"]["config"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:  # weights that do not fit the config stored beside them
        raise CheckpointError(f"{str(source)!r}: its weights do not fit its own model config "
                              f"({str(exc).splitlines()[0]}); the file is damaged, re-create it") from exc
    model.normalizers = Normalizers.from_state(ckpt.get("normalizers"))
    model.eval()
    return model


def model_signature(name: str) -> inspect.Signature:
    return inspect.signature(MODELS.get(name).__init__)


def model_config(cfg: dict[str, Any], **from_data: Any) -> tuple[str, dict[str, Any]]:
    """Split a model section ``{"name": ..., **kwargs}`` into the registered name and its keyword arguments,
    with each ``from_data`` setting (e.g. ``in_channels`` counted from the data's variables) filled in where
    the model's constructor takes it and the section does not name it: the section always wins."""
    if "name" not in cfg:
        raise ConfigError("model section needs a 'name' (one of the registered models)")
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    takes = model_signature(cfg["name"]).parameters
    for key, value in from_data.items():
        if key in takes:
            kwargs.setdefault(key, value)
    return cfg["name"], kwargs


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of real parameters (a complex weight counts as 2, as in the FNO/MgNO papers)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters()
               if p.requires_grad or not trainable_only)
