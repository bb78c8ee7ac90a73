"""The linear-algebra recipes.

``dcdm`` trains DCDM's search-direction network on Ritz vectors (``sciml train`` a spec with ``recipe: dcdm``,
e.g. ``examples/configs/dcdm_train.yaml``); its evaluator scores the net's search directions on the
held-out right-hand sides against steepest descent.

``linear_solver`` measures one solve of one grid system (:mod:`sciml.linalg.families`) with one named method
(:mod:`sciml.linalg.measure`) and writes the measurement as ``measurement.json``; its evaluator returns the
iterations, setup/solve/total seconds, peak memory and the relative residual reached. Each row of
``sciml bench dcdm`` is one such spec (``sciml bench dcdm --dry-run`` prints them)::

    recipe: linear_solver
    name: obstacles_64x64x64-mg_pcg
    out_dir: runs/bench/dcdm/obstacles_64x64x64-mg_pcg
    seed: 0
    device: cpu
    params: {family: obstacles, grid: [64, 64, 64], method: mg_pcg, repeats: 3}
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from sciml.data import open_dataset
from sciml.errors import ConfigError
from sciml.linalg.dcdm_training import line_search_residuals, train_dcdm
from sciml.linalg.families import FAMILIES, make_system
from sciml.linalg.measure import measure_repeated, measure_solve
from sciml.models import model_from_checkpoint
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint
from sciml.utils.files import write_json



def evaluate_dcdm(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of a ``dcdm`` checkpoint on held-out right-hand sides: per sample the squared residual left by
    one exact line search along the net's direction (:func:`~sciml.linalg.dcdm_training.line_search_residuals`,
    the training loss), and along ``b`` itself (steepest descent, the baseline the net must beat).
    ``attrs``: their means ``held_out_loss`` and ``steepest_descent_loss``, and ``n_samples``.
    ``data=None``: the run's own held-out tenth, as its checkpoint records; a given ``dcdm_ritz`` file is
    scored whole. Writes ``out_dir/eval.json``."""
    ckpt = load_checkpoint(checkpoint)
    extra = ckpt.get("extra", {})
    if data is not None:
        ds = open_dataset(data)
    elif "held_out_path" in extra:
        ds = open_dataset(extra["held_out_path"]).isel(sample=slice(int(extra["held_out_from"]), None))
    else:
        raise ConfigError(f"{str(checkpoint)!r} records no held-out data; give a dcdm_ritz file to score on: "
                          "sciml evaluate CHECKPOINT DATA.nc")
    batch = (torch.as_tensor(ds["b"].values)[:, None], torch.as_tensor(ds["solid"].values).bool())
    model = model_from_checkpoint(ckpt, checkpoint)
    with torch.no_grad():
        learned = line_search_residuals(model, batch).numpy()
        steepest = line_search_residuals(torch.nn.Identity(), batch).numpy()
    scores = {"held_out_loss": float(learned.mean()), "steepest_descent_loss": float(steepest.mean()),
              "n_samples": int(learned.size)}
    write_json(Path(out_dir) / "eval.json", scores)
    return xr.Dataset({"held_out_loss": ("sample", learned), "steepest_descent_loss": ("sample", steepest)}, attrs=scores)


register_recipe("dcdm", evaluate=evaluate_dcdm)(train_dcdm)

MEASUREMENT = "measurement.json"
WARMUP_GRID = (16, 16, 16)  # the untimed warm-up solve: CUDA context, kernels, the shipped nets


def evaluate_linear_solver(artefact: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of a ``linear_solver`` measurement: the medians over its runs as ``attrs`` (``iterations`` and
    ``total_s`` NaN when the solve did not reach rtol within the cap), each run's values as variables
    over ``run``, and ``measured_unix_s``, when it was measured. ``data`` must be None (the system is
    rebuilt from the spec, not read)."""
    if data is not None:
        raise ConfigError("a linear_solver measurement scores the system it was measured on; give no data file")
    m = json.loads(Path(artefact).read_text())
    if m.get("recipe") != "linear_solver":
        raise ConfigError(f"{str(artefact)!r} is not a linear_solver measurement; pass the measurement.json it wrote")
    runs = m["runs"]
    variables = {k: ("run", np.array([math.nan if r[k] is None else r[k] for r in runs], dtype=float)) for k in runs[0]}
    medians = {k: math.nan if v is None else float(v) for k, v in m["median"].items()}
    return xr.Dataset(variables, attrs={**medians, "measured_unix_s": float(m["measured_unix_s"]),
                                        "method": m["method"], "family": m["family"]})


def _json_safe(d: dict[str, float]) -> dict[str, float | None]:
    """NaN/inf as null, so the artefact is strict JSON."""
    return {k: (v if math.isfinite(v) else None) for k, v in d.items()}


@register_recipe("linear_solver", evaluate=evaluate_linear_solver)
def measure_linear_solver(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "cpu",
                          family: str = "obstacles", grid: tuple[int, ...] = (64, 64, 64), method: str = "mg_pcg",
                          rtol: float = 1e-6, cap_s: float = 20.0, repeats: int = 1,
                          repeat_below_s: float | None = None, threads: int = 2, torch_loop: bool = False,
                          warmup: bool = False) -> Path:
    """Measure one solve of a grid system with one method: iterations, setup/solve time, peak memory.

    The system is ``family`` (:data:`~sciml.linalg.families.FAMILIES`) on ``grid`` (2 or 3 sides) drawn with
    ``seed``; ``method`` one of :data:`~sciml.linalg.measure.METHODS`, solved to ``rtol`` with a wall-clock
    cap of ``cap_s`` seconds per solve, ``repeats`` times (median; a first run that did not converge or
    took over ``repeat_below_s`` s is not repeated), on ``threads`` torch threads. ``torch_loop``: the
    torch path on the CPU (implied on a GPU); ``warmup``: one untimed solve on a 16^3 grid first.
    """
    if resume:
        raise ConfigError("recipe 'linear_solver' cannot resume; rerun it (one measurement takes seconds)")
    if family not in FAMILIES:
        raise ConfigError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if len(grid) not in (2, 3) or min(grid) < 2:
        raise ConfigError(f"grid has 2 or 3 sides of at least 2 cells, got {list(grid)}")
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    if not (math.isfinite(rtol) and rtol >= 0):  # the solvers' own check raises a ValueError, a traceback here
        raise ConfigError(f"rtol must be a finite number >= 0, got {rtol}")
    shape = tuple(int(s) for s in grid)
    A, b, _ = make_system(family, shape, seed=seed)
    solve_kw = {"rtol": rtol, "cap_s": cap_s, "device": device, "torch_loop": torch_loop}
    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # the measured setting; the process's own is restored afterwards
    try:
        if warmup:
            Aw, bw, _ = make_system("obstacles", WARMUP_GRID, seed=1)
            measure_solve(method, Aw, bw, WARMUP_GRID, **{**solve_kw, "cap_s": 30.0})
        medians, runs = measure_repeated(method, A, b, shape, repeats, repeat_below_s, **solve_kw)
    finally:
        torch.set_num_threads(before)
    return write_json(Path(out_dir) / MEASUREMENT, {
        "recipe": "linear_solver", "family": family, "grid": list(shape), "method": method, "seed": seed,
        "device": str(device), "threads": threads, "rtol": rtol, "cap_s": cap_s, "n_cells": int(np.prod(shape)),
        "measured_unix_s": time.time(), "median": _json_safe(medians), "runs": [_json_safe(r) for r in runs]})
