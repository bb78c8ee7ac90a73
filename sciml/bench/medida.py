"""``sciml bench medida``: discover injected structural errors of a two-layer QG model (MEDIDA) from increments.

Truth: pyqg-default QG. Imperfect models: rek x2, rek = 0, beta = 0, Jacobian x0.9. Experiments:
(a) full noise-free states; (b) full states with 0.1% noise, through the stochastic EnKF (``direct``) or
used as they are (``obs``); (c) 50% / 25% random point observations of psi (``*_qobs``: of q) from fixed
sensors, each snapshot interpolated by the Gaussian RFF model with a ridge readout (``rff``), the trained
RFF-MLP (``rff_mlp``), cubic interpolation or band-limited spectral least squares (plus cubic with a new
mask every step); (d) the same psi observations assimilated by cycling the imperfect model, the RFF or
cubic interpolator filling the innovations (``*_cycled``; ``*_cycled_moving``: a new mask per time;
``*_obs``: regression in observation space). Every row is one run of the ``medida`` recipe
(:mod:`sciml.discovery.recipe`); this module declares the sweep, :mod:`sciml.bench.medida_report` the page.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from sciml.bench.medida_report import report
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.discovery.medida import ERRORS as MEDIDA_ERRORS
from sciml.experiment import ExperimentSpec

ERRORS = tuple(MEDIDA_ERRORS)  # the error models sciml.discovery.medida injects
PARTS = ("full", "noisy", "sparse", "cycled")
SPARSE_METHODS = ("rff", "rff_mlp", "cubic", "spectral")
DENSITIES = ((0.5, "sparse50"), (0.25, "sparse25"))

# what each preset changes in the medida recipe's defaults (the cpu preset measures the defaults);
# cycle_window is the window of the cycled rows (the others regress per-step increments)
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"cycle_window": 4, "device": "cpu", "params": {}},
    "gpu": {"cycle_window": 4, "device": "auto",
            "params": {"spinup": 44000, "n_states": 32, "fc_steps": 360, "members": 32, "cycle_pre": 300,
                       "mlp": {"steps": 20000, "lr": 2e-3, "width": 1000, "depth": 4, "n_freq": 500, "sigma": 10.0}}},
    "smoke": {"cycle_window": 1, "device": "cpu",
              "params": {"nx": 32, "spinup": 2000, "n_states": 6, "fc_steps": 10, "cycle_pre": 10,
                         "mlp": {"steps": 20, "lr": 2e-3, "width": 32, "depth": 2, "n_freq": 16, "sigma": 8.0}}},
}


def cases(parts: list[str], cycle_window: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(experiment, method, the recipe parameters that define it) for every row of the page, in its order."""
    if "full" in parts:
        yield "full", "direct", {"observations": "full", "estimate": "direct", "kcut": None, "window": 1}
    if "noisy" in parts:
        yield "noisy", "direct", {"observations": "noisy", "estimate": "enkf", "window": 1}
        yield "noisy", "obs", {"observations": "noisy", "estimate": "direct", "window": 1}
    for density, tag in DENSITIES if "sparse" in parts else ():
        sparse = {"observations": "sparse", "density": density, "sensors": "fixed", "estimate": "interpolate",
                  "window": 1}
        for observed, suffix in (("psi", ""), ("q", "_qobs")):
            for method in SPARSE_METHODS:
                if not (method == "rff_mlp" and suffix):      # the trained MLP only on the psi sensors
                    yield tag, method + suffix, {**sparse, "observed": observed, "interpolator": method}
        if density == 0.5:                                     # the same with a new random mask at every time
            yield tag, "cubic_moving_mask", {**sparse, "observed": "psi", "interpolator": "cubic", "sensors": "moving"}
    for density, tag in DENSITIES if "cycled" in parts else ():
        for sensors in ("fixed", "moving"):
            for interpolator in ("rff", "cubic"):
                name = f"{interpolator}_cycled" + ("" if sensors == "fixed" else "_moving")
                cycled = {"observations": "sparse", "density": density, "observed": "psi", "sensors": sensors,
                          "estimate": "cycled", "interpolator": interpolator, "window": cycle_window}
                yield tag, name, {**cycled, "regression": "increments"}
                yield tag, name + "_obs", {**cycled, "regression": "observation_space"}


def run_name(task: str, method: str, seed: int) -> str:
    """The folder (under ``--runs``) and spec name of one row."""
    return f"{task}-{method}-s{seed}"


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """One ``medida`` run per (experiment, method, error model, seed)."""
    p = PRESETS[preset]
    rows = []
    for experiment, method, params in cases(args.parts, p["cycle_window"]):
        if args.methods and method not in args.methods:
            continue
        for error in args.errors:
            task = f"{experiment}_{error}"
            for seed in args.seeds:
                name = run_name(task, method, seed)
                spec = ExperimentSpec(recipe="medida", name=name, out_dir=str(args.runs / name), seed=seed,
                                      device=p["device"], params={**p["params"], **params, "error": error})
                rows.append(Row(task, method, spec, labels={"experiment": experiment, "error_model": error}))
    return rows


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--errors", nargs="+", default=list(ERRORS), choices=ERRORS,
                        help="the injected error models to discover (default: all four)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS,
                        help="which experiments to run: full, noisy, sparse (snapshot interpolation), cycled "
                             "(default: all)")
    parser.add_argument("--methods", nargs="+", default=None,
                        help="only these methods (e.g. rff rff_cycled_moving; default: every method of the parts)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the truth's initial state, the noise and the sensors (default: 0)")


register_benchmark(Benchmark(name="medida", summary=__doc__.strip().splitlines()[0], sweep=sweep, report=report,
                             presets=("cpu", "gpu", "smoke"), options=add_options))
