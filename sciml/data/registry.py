"""Dataset registry: generators register with ``@register_dataset(name)``.

A generator is a function ``gen(n: int, res: int, seed: int, **params) -> xr.Dataset``
(``n`` samples at resolution ``res``). :func:`make_dataset` stamps the provenance
attributes (generator, parameters, seed, sciml version) so a file says how it was made.
"""
from __future__ import annotations

import inspect
import json
from typing import Any, Callable

import xarray as xr

from sciml._version import __version__
from sciml.config import check_kwargs
from sciml.registry import Registry

Generator = Callable[..., xr.Dataset]
DATASETS: Registry[Generator] = Registry(
    "dataset", ["sciml.pde", "sciml.climate", "sciml.discovery", "sciml.linalg", "sciml.inverse", "sciml.pinn"]
)


def register_dataset(name: str) -> Callable[[Generator], Generator]:
    """Decorator registering a dataset generator under ``name``."""
    return DATASETS.register(name)


def dataset_names() -> list[str]:
    return DATASETS.names()


def make_dataset(name: str, n: int | None = None, res: int | None = None, seed: int = 0,
                 **params: Any) -> xr.Dataset:
    """Run generator ``name``; ``None`` for ``n``/``res`` uses the generator's defaults."""
    gen = DATASETS.get(name)
    check_kwargs(gen, params, where=f"dataset {name!r}")
    kwargs: dict[str, Any] = dict(params)
    if n is not None:
        kwargs["n"] = n
    if res is not None:
        kwargs["res"] = res
    kwargs["seed"] = seed
    ds = gen(**kwargs)
    bound = inspect.signature(gen).bind(**kwargs)
    bound.apply_defaults()
    all_params = {k: v for k, v in bound.arguments.items() if k != "kwargs"}
    ds.attrs.update(
        generator=f"sciml.data.make_dataset({name!r})",
        generator_params=json.dumps(all_params, default=str),
        seed=int(seed),
        sciml_version=__version__,
        Conventions="CF-1.8",
    )
    return ds
