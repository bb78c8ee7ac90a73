"""Dataset registry: generators register with ``@register_dataset(name, **rules)``.

A generator is a function ``gen(n: int, res: int, seed: int, **params) -> xr.Dataset``
(``n`` samples at resolution ``res``). Registration wraps it so that every call checks the
parameters against their rules (:mod:`sciml.data.params`) before computing and checks the
output is finite before returning it. :func:`make_dataset` stamps the provenance attributes
(generator, parameters, seed, sciml version) so a file says how it was made, and
:func:`provenance` gives the same attributes without generating, to tell whether a cached
file matches a request.
"""
from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path
from typing import Any, Callable

import xarray as xr

from sciml._version import __version__
from sciml.config import check_kwargs
from sciml.data.io import open_dataset, save_dataset
from sciml.data.params import N_RULE, SEED_RULE, Relation, Rule, check_output_finite, check_params
from sciml.errors import ConfigError
from sciml.registry import Registry

Generator = Callable[..., xr.Dataset]
DATASETS: Registry[Generator] = Registry(
    "dataset", ["sciml.pde", "sciml.climate", "sciml.discovery", "sciml.linalg", "sciml.inverse", "sciml.pinn"]
)


def register_dataset(name: str, relations: tuple[Relation, ...] = (), **rules: Rule) -> Callable[[Generator], Generator]:
    """Decorator registering a dataset generator under ``name``, validated on every call.

    ``rules``: one :class:`sciml.data.params.Real`/``Int``/``Choice`` per parameter (``n`` and ``seed``
    have defaults); ``relations``: conditions between parameters. Bad parameters raise ConfigError
    before any computing; a NaN/Inf in the output raises NonFiniteError.
    """
    where = f"dataset {name!r}"

    def deco(gen: Generator) -> Generator:
        sig = inspect.signature(gen)
        all_rules = {"n": N_RULE, "seed": SEED_RULE, **rules}

        @functools.wraps(gen)
        def checked(*args: Any, **kwargs: Any) -> xr.Dataset:
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
            bound.apply_defaults()
            params = _flat_arguments(bound)
            check_params(where, params, all_rules, relations)
            return check_output_finite(where, gen(*bound.args, **bound.kwargs), params)

        checked.rules, checked.relations = all_rules, tuple(relations)  # for introspection and tests
        return DATASETS.register(name)(checked)

    return deco


def _flat_arguments(bound: inspect.BoundArguments) -> dict[str, Any]:
    """Bound arguments with a ``**kwargs`` parameter's entries spread out."""
    out: dict[str, Any] = {}
    for k, v in bound.arguments.items():
        if bound.signature.parameters[k].kind is inspect.Parameter.VAR_KEYWORD:
            out.update(v)
        else:
            out[k] = v
    return out


def dataset_names() -> list[str]:
    return DATASETS.names()


def make_dataset(name: str, n: int | None = None, res: int | None = None, seed: int = 0,
                 **params: Any) -> xr.Dataset:
    """Run generator ``name``; ``None`` for ``n``/``res`` uses the generator's defaults."""
    gen, kwargs = _request(name, n, res, seed, params)
    ds = gen(**kwargs)
    ds.attrs.update(provenance(name, n, res, seed, **params), sciml_version=__version__, Conventions="CF-1.8")
    return ds


def make_or_reuse(path: str | Path, name: str, n: int | None = None, res: int | None = None, seed: int = 0,
                  resume: bool = False, **params: Any) -> xr.Dataset:
    """The dataset :func:`make_dataset` would return, cached in ``path`` (loaded into memory).

    ``path`` is reused only when the generator name, parameters and seed recorded in it equal the
    request. A sciml-made file that differs is regenerated and replaced, except with ``resume`` (a
    run being resumed was trained on the old data: an error says so); a file without sciml's
    provenance attributes is never overwritten (an error says so).
    """
    path = Path(path)
    wanted = provenance(name, n, res, seed, **params)
    if path.exists():
        with open_dataset(path) as f:  # closed before a regeneration replaces the file
            cached = f.load()
        recorded = {k: cached.attrs.get(k) for k in wanted}
        if recorded == wanted:
            return cached
        if recorded["generator"] is None or resume:
            why = ("it has no sciml provenance attributes, so sciml did not write it" if recorded["generator"] is None
                   else "resuming needs the data the run was trained on")
            raise ConfigError(f"{str(path)!r} was not made by {wanted['generator']} with {wanted['generator_params']} "
                              f"(seed {wanted['seed']}) as requested, and {why}; move it away or write elsewhere")
    ds = make_dataset(name, n, res, seed, **params)
    save_dataset(ds, path, overwrite=True)  # a stale sciml-made cache (checked above) is replaced
    return ds


def provenance(name: str, n: int | None = None, res: int | None = None, seed: int = 0,
               **params: Any) -> dict[str, Any]:
    """The ``generator``, ``generator_params`` and ``seed`` attributes :func:`make_dataset` would stamp."""
    gen, kwargs = _request(name, n, res, seed, params)
    bound = inspect.signature(gen).bind(**kwargs)
    bound.apply_defaults()
    all_params = {k: v for k, v in bound.arguments.items() if k != "kwargs"}
    return {"generator": f"sciml.data.make_dataset({name!r})",
            "generator_params": json.dumps(all_params, default=str), "seed": int(seed)}


def planned_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter (``n``, ``res``, ``seed`` and the generator's own, defaults filled in) that generating
    dataset ``name`` with the spec's ``params`` would use, found without generating anything: what a recipe
    checks its split and frame counts against before it writes data (bad input leaves no file behind)."""
    params = dict(params)
    recorded = provenance(name, n=params.pop("n", None), res=params.pop("res", None), seed=params.pop("seed", 0),
                          **params)
    return json.loads(recorded["generator_params"])


def _request(name: str, n: int | None, res: int | None, seed: int,
             params: dict[str, Any]) -> tuple[Generator, dict[str, Any]]:
    """The generator and its keyword arguments; unknown keys (``n``/``res`` included) are ConfigErrors."""
    gen = DATASETS.get(name)
    kwargs: dict[str, Any] = dict(params)
    if n is not None:
        kwargs["n"] = n
    if res is not None:
        kwargs["res"] = res
    kwargs["seed"] = seed
    check_kwargs(gen, kwargs, where=f"dataset {name!r}")
    return gen, kwargs
