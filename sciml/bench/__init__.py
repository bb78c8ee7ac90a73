"""Benchmarks: ``sciml bench NAME`` runs ``sciml.bench.NAME.main(argv)``.

Each benchmark module defines ``main(argv: list[str] | None = None) -> int`` and writes its
results through :class:`sciml.bench.results.BenchResult`, so every JSON has one shape.
"""
from __future__ import annotations

import importlib
import pkgutil

from sciml.errors import RegistryError


def available() -> list[str]:
    """Names of the benchmark modules shipped with sciml."""
    import sciml.bench as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name not in {"results", "timing"})


def run(name: str, argv: list[str] | None = None) -> int:
    """Run benchmark ``name`` with command-line arguments ``argv``."""
    if name not in available():
        raise RegistryError(f"unknown benchmark {name!r}. Available: {available()}")
    return importlib.import_module(f"sciml.bench.{name}").main(argv)
