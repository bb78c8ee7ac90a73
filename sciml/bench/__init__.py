"""Benchmarks: ``sciml bench NAME --preset cpu|gpu`` runs a declared sweep of experiment specs.

Each benchmark module declares a :class:`~sciml.bench.runner.Benchmark` (its sweep of
:class:`~sciml.experiment.ExperimentSpec` s and its report) and registers it; the one runner in
:mod:`sciml.bench.runner` runs every spec through :func:`sciml.experiment.run_experiment`, the path
``sciml train`` takes, and writes ``docs/benchmarks/NAME.json`` and its page. ``sciml.bench`` holds specs,
the runner and reports only: the numerics live in the library, and nothing outside ``sciml.bench``
imports it.
"""
from __future__ import annotations

from sciml.bench.runner import BENCHMARKS, Benchmark, Row, available, register_benchmark, run

__all__ = ["BENCHMARKS", "Benchmark", "Row", "available", "register_benchmark", "run"]
