"""Parameter rules for dataset generators: checked before any computing, one error type.

A generator declares a rule per parameter when it registers::

    @register_dataset("darcy", res=Int(ge=3), alpha=Real(gt=0), forcing=Real())

and :func:`sciml.data.registry.register_dataset` checks the bound arguments (defaults included)
against the rules on every call, then checks that every numeric variable of the returned Dataset
is finite. ``n`` (:data:`N_RULE`) and ``seed`` (:data:`SEED_RULE`) get default rules; a rule named
for a key a generator takes through ``**params`` is checked when that key is passed. Relations
between parameters (e.g. a wave speed that must stay positive) are :class:`Relation` objects.

A violated rule raises :class:`sciml.errors.ConfigError` naming the generator, the parameter,
the value and the allowed range, so ``sciml data make`` prints one line and writes nothing.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import xarray as xr

from sciml.errors import ConfigError, NonFiniteError


@dataclass(frozen=True)
class Real:
    """A finite real number (bools refused), optionally bounded; ``optional`` also allows ``None``."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    optional: bool = False

    def _bounds(self) -> str:
        parts = [f"{op} {v:g}" for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le))
                 if v is not None]
        return " and ".join(parts)

    def _kind_ok(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    kind = "a finite real number"

    def problem(self, value: Any) -> str | None:
        """None if ``value`` is allowed, else what is wrong with it (a sentence fragment)."""
        if value is None:
            return None if self.optional else f"must be {self.kind}, got None"
        if not self._kind_ok(value):
            return f"must be {self.kind}, got {value!r} ({type(value).__name__})"
        if not math.isfinite(float(value)):
            return f"must be finite, got {value!r}"
        v = float(value)
        if ((self.gt is not None and not v > self.gt) or (self.ge is not None and not v >= self.ge)
                or (self.lt is not None and not v < self.lt) or (self.le is not None and not v <= self.le)):
            return f"must be {self._bounds()}, got {value!r}"
        return None


@dataclass(frozen=True)
class Int(Real):
    """An integer (numpy integers accepted, bools and floats refused), optionally bounded."""

    kind = "an integer"

    def _kind_ok(self, value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values."""

    options: tuple

    def __init__(self, *options: Any):
        object.__setattr__(self, "options", tuple(options))

    def problem(self, value: Any) -> str | None:
        return None if value in self.options else f"must be one of {list(self.options)}, got {value!r}"


@dataclass(frozen=True)
class Relation:
    """A condition on the parameters ``names``: ``test(params) -> bool`` must hold; ``message`` says what it means.

    Relations run after the per-parameter rules, so ``test`` sees valid individual values.
    """

    names: tuple[str, ...]
    test: Callable[[Mapping[str, Any]], bool]
    message: str


Rule = Real | Int | Choice
N_RULE = Int(ge=1)     # number of samples
SEED_RULE = Int(ge=0)  # numpy's default_rng refuses negative seeds


def check_params(where: str, params: Mapping[str, Any], rules: Mapping[str, Rule],
                 relations: tuple[Relation, ...] = ()) -> None:
    """Raise ConfigError for the first parameter of ``params`` that breaks its rule, then for relations.

    ``where`` names the generator in the message (e.g. ``"dataset 'darcy'"``). Parameters without a
    rule are not checked here (their type is whatever the generator documents).
    """
    for name, rule in rules.items():
        if name in params:
            problem = rule.problem(params[name])
            if problem:
                raise ConfigError(f"{where}: parameter {name!r} {problem}")
    for rel in relations:
        if not rel.test(params):
            shown = {k: params.get(k) for k in rel.names}
            raise ConfigError(f"{where}: {rel.message} (got {shown})")


def check_output_finite(where: str, ds: xr.Dataset, params: Mapping[str, Any]) -> xr.Dataset:
    """Raise NonFiniteError if any numeric data variable of ``ds`` holds NaN or Inf; return ``ds``.

    A generator that produces non-finite values was given parameters outside the range its scheme
    handles (unstable time step, resonance, ...): the message names the variable and the parameters.
    """
    for name, da in ds.data_vars.items():
        values = np.asarray(da.values)
        if not np.issubdtype(values.dtype, np.number):
            continue
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            raise NonFiniteError(
                f"{where} produced {bad} NaN/Inf value(s) of {values.size} in variable {name!r} with parameters "
                f"{dict(params)}; nothing was written. These parameters are outside what the scheme handles "
                "(unstable, singular or beyond float32 range): change them (e.g. a smaller time step)")
    return ds
