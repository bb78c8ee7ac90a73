"""One config system: dataclasses filled from YAML/dicts with strict key and type checking.

Experiments are YAML files whose sections map 1:1 to dataclasses; an unknown key anywhere is
a :class:`ConfigError` that names the key, the section and the allowed keys, and a value of the
wrong type names its field path (``train.lr: expected a float, got 'abc'``).

YAML is read with the YAML 1.2 number rules, so ``1e-3`` is a float (YAML 1.1, PyYAML's default,
reads it as a string). A field annotated :data:`ConfigPath` holds a file or directory path; a
relative one in a YAML file is resolved against that file's folder, not the current directory.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, NewType, TypeVar

import yaml

from sciml.errors import ConfigError

T = TypeVar("T")

ConfigPath = NewType("ConfigPath", str)
"""A path in a config; relative ones are resolved against the folder of the YAML file that holds them."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3``, ``2E5`` and ``.5e-2`` as floats (YAML 1.2 core schema)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str = "YAML") -> Any:
    """Parse YAML text (safe: plain types only) with YAML 1.2 numbers; ConfigError names ``source``."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 -- _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}") from exc


def _unknown_key_error(key: str, allowed: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown key {key!r} in {where}.{hint} Allowed keys: {sorted(allowed)}")


def check_kwargs(fn: Callable, kwargs: dict[str, Any], where: str, given_elsewhere: Collection[str] = ()) -> None:
    """Raise ConfigError if ``kwargs`` has a key that ``fn`` does not accept; ``given_elsewhere``: arguments of
    ``fn`` that ``kwargs`` may not set (the caller passes them), left out of the allowed keys the error lists."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    allowed = [p.name for p in params
               if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in given_elsewhere]
    for key in kwargs:
        if key not in allowed:
            raise _unknown_key_error(key, allowed, where)


def check_bounds(values: Mapping[str, Any], least: Mapping[str, float], most: Mapping[str, float] | None = None,
                 where: str = "") -> None:
    """Raise one ConfigError naming every setting of ``values`` below its ``least`` or above its ``most`` value
    (a NaN is outside every bound) and the values to give instead; a setting that is None or missing is off
    and not checked. For counts and sizes a run cannot use: a negative step count trains nothing without a
    word, a zero batch size fails deep inside torch."""
    most = most or {}
    bad = []
    for key in dict.fromkeys([*least, *most]):
        value = values.get(key)
        lo, hi = least.get(key, -math.inf), most.get(key, math.inf)
        if value is not None and not lo <= value <= hi:
            wanted = f">= {lo}" if hi == math.inf else f"<= {hi}" if lo == -math.inf else f"in [{lo}, {hi}]"
            bad.append(f"{key}={value} (give a value {wanted})")
    if bad:
        raise ConfigError(f"{where + ': ' if where else ''}{', '.join(bad)}")


# ---------------------------------------------------------------- types
_NAMES = {bool: "true or false", int: "an integer", float: "a float", str: "a string", type(None): "null",
          list: "a list", dict: "a mapping", tuple: "a list"}


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is ConfigPath:
        return "a path"
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return "a mapping"
    return _NAMES.get(origin or hint, getattr(hint, "__name__", str(hint)))


_SCALARS = {  # YAML bools are not numbers here, though Python's bool is an int
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    str: lambda v: isinstance(v, str),
}


class _Mismatch(Exception):
    """``value`` does not fit ``hint`` (turned into one ConfigError naming the outermost field)."""


def _coerce(value: Any, hint: Any, path: str, base: Path | None) -> Any:
    """``value`` checked against type ``hint`` (ints widen to float, ConfigPaths resolve against ``base``)."""
    if hint is Any or hint is None:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            try:
                return _coerce(value, arm, path, base)
            except _Mismatch:
                continue
        raise _Mismatch(path, hint, value)
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch(path, hint, value)
    if hint is ConfigPath:
        if not isinstance(value, str):
            raise _Mismatch(path, hint, value)
        return os.path.normpath(base / value) if base is not None and not Path(value).is_absolute() else value
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):  # already built (a spec made in Python, or checked once before)
            return value
        if not isinstance(value, dict):
            raise _Mismatch(path, hint, value)
        return _build(hint, value, path, base)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            raise _Mismatch(path, hint, value)
        hints = typing.get_type_hints(hint)
        for key in value:
            if key not in hints:
                raise _unknown_key_error(key, list(hints), path)
        return {k: _coerce(v, hints[k], f"{path}.{k}", base) for k, v in value.items()}
    if hint in _SCALARS:
        if not _SCALARS[hint](value):
            raise _Mismatch(path, hint, value)
        return float(value) if hint is float else value  # an int where a float goes is that float
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch(path, hint, value)
        if origin is list:
            item = args[0] if args else Any
        else:  # tuple[X, ...]; fixed-length tuples are not config types
            item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return [_coerce(v, item, f"{path}[{i}]", base) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Mismatch(path, hint, value)
        item = args[1] if len(args) == 2 else Any
        return {k: _coerce(v, item, f"{path}.{k}", base) for k, v in value.items()}
    return value  # other annotations (classes, callables) are checked by the code that uses them


def _checked(value: Any, hint: Any, path: str, base: Path | None) -> Any:
    try:
        return _coerce(value, hint, path, base)
    except _Mismatch as exc:
        where, want, got = exc.args
        raise ConfigError(f"{where}: expected {_describe(want)}, got {got!r}") from None


def _build(cls: type[T], data: dict[str, Any], path: str, base: Path | None) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise _unknown_key_error(key, list(fields), repr(path) if path else "the top level")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _checked(value, hints.get(name, Any), f"{path}.{name}" if path else name, base)
              for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None
        raise ConfigError(f"invalid {path or cls.__name__}: {exc}") from exc


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str | None = None,
              base_dir: str | Path | None = None) -> T:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    Values are checked against the field types (ConfigError names the field path); ``ConfigPath``
    fields that are relative are joined to ``base_dir`` when given. ``where`` (e.g. the YAML file)
    prefixes every error message.
    """
    data = {} if data is None else data
    try:
        if not isinstance(data, dict):
            raise ConfigError(f"must be a mapping of keys to values, got {type(data).__name__} {data!r}")
        return _build(cls, dict(data), "", Path(base_dir) if base_dir is not None else None)
    except ConfigError as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


def check_call(fn: Callable, kwargs: dict[str, Any], where: str, base_dir: str | Path | None = None,
               given_elsewhere: Collection[str] = ()) -> dict[str, Any]:
    """``kwargs`` for ``fn`` checked like a dataclass section: unknown keys and wrong types are
    ConfigErrors naming ``where.key``; ``ConfigPath`` parameters resolve against ``base_dir``;
    ``given_elsewhere`` as in :func:`check_kwargs`."""
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{where}: expected a mapping, got {kwargs!r}")
    check_kwargs(fn, kwargs, where, given_elsewhere)
    target = inspect.unwrap(fn)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # annotations that do not evaluate here: keys are still checked
        hints = {}
    base = Path(base_dir) if base_dir is not None else None
    return {k: _checked(v, hints.get(k, Any), f"{where}.{k}" if where else k, base) for k, v in kwargs.items()}


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with a clear error for missing files, bad YAML or non-mapping content."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist; check the path")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be read as text: {exc}") from exc
    data = parse_yaml(text, source=f"config file {str(p)!r}")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must contain a YAML mapping (key: value lines) at top level")
    return data
