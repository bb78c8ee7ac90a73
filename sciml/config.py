"""One config system: dataclasses filled from YAML/dicts with strict key checking.

Experiments are YAML files whose sections map 1:1 to dataclasses; an unknown key anywhere is
a :class:`ConfigError` that names the key, the section and the allowed keys.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import typing
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from sciml.errors import ConfigError

T = TypeVar("T")


def _unknown_key_error(key: str, allowed: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown key {key!r} in {where}.{hint} Allowed keys: {sorted(allowed)}")


def check_kwargs(fn: Callable, kwargs: dict[str, Any], where: str) -> None:
    """Raise ConfigError if ``kwargs`` has a key that ``fn`` does not accept."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    allowed = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in allowed:
            raise _unknown_key_error(key, allowed, where)


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str | None = None) -> T:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields."""
    where = where or cls.__name__
    data = dict(data or {})
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise _unknown_key_error(key, list(fields), where)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        typ = hints.get(name)
        if dataclasses.is_dataclass(typ) and isinstance(value, dict):
            value = from_dict(typ, value, where=f"{where}.{name}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {where}: {exc}") from exc


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with a clear error for missing files or non-mapping content."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    data = yaml.safe_load(p.read_text())
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must contain a YAML mapping at top level")
    return data
