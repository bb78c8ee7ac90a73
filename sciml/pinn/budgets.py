"""Training budgets of physics-informed training: what ``train_physics`` and ``recipe: pinn`` run for the
settings a call or spec leaves out.

Two presets, each the same for every model on a problem (only PIG's own size differs between models):

- ``cpu`` (the recipe's defaults): Adam with lr 1e-2 multiplied by ``lr_decay`` every step, 600 steps
  of 256 interior points (as many BC/IC points), no L-BFGS phase; a problem's ``train_defaults`` raise
  this where the CPU time is best spent (Helmholtz, the 10x target) or where every method failed at the
  shared budget (Klein-Gordon, Allen-Cahn). An L-BFGS phase on frozen points fits those points rather than the PDE at this size, so
  the CPU preset has none.
- ``gpu``: the paper's budgets (Kang et al., ICLR 2025): 50k+ Adam steps, 100 L-BFGS steps, thousands
  of points, 800-4000 Gaussians per channel (``paper_budget``, ``paper_pig``).

A problem's ``loss_defaults`` (causal weighting for Allen-Cahn) apply in both. ``eval_every`` is about a
fifth of the Adam steps and divides them (:func:`validation_interval`): the Trainer runs whole epochs of
``eval_every`` steps, so a remainder would silently not be trained.
"""
from __future__ import annotations

from typing import Any

from sciml.config import check_bounds
from sciml.errors import ConfigError
from sciml.pinn.problems import Problem, get_problem

PRESETS = ("cpu", "gpu")
SHARED_BUDGET = {
    "cpu": {"adam_steps": 600, "lbfgs_steps": 0, "lbfgs_max_iter": 20, "n_colloc": 256, "lr": 1e-2,
            "lr_decay": 0.997},
    "gpu": {"adam_steps": 50000, "lbfgs_steps": 100, "lbfgs_max_iter": 20, "n_colloc": 4096, "lr": 1e-2,
            "lr_decay": 0.9 ** (1 / 2000)},  # the paper's schedule: x0.9 every 2000 steps
}
VALIDATIONS = 5  # relative-L2 checks per Adam phase (history points)
NO_CAUSAL = {"causal_eps": None, "causal_slices": 32}


def _problem(problem: str | Problem) -> Problem:
    return get_problem(problem) if isinstance(problem, str) else problem


def _preset(preset: str) -> str:
    if preset not in PRESETS:
        raise ConfigError(f"unknown training preset {preset!r}; the presets are {', '.join(PRESETS)}")
    return preset


def training_budget(problem: str | Problem, preset: str = "cpu") -> dict[str, Any]:
    """The ``train_physics`` settings of ``problem`` under ``preset``: ``adam_steps``, ``lbfgs_steps``,
    ``lbfgs_max_iter``, ``n_colloc``, ``lr``, ``lr_decay`` (per step), ``eval_every`` (divides ``adam_steps``),
    ``causal_eps`` (None: off) and ``causal_slices``."""
    prob = _problem(problem)
    own = prob.train_defaults if _preset(preset) == "cpu" else prob.paper_budget
    budget = {**SHARED_BUDGET[preset], **NO_CAUSAL, **prob.loss_defaults, **own}
    budget["eval_every"] = validation_interval(budget["adam_steps"])
    return budget


def resolve_training(problem: str | Problem, given: dict[str, Any]) -> dict[str, Any]:
    """The problem's ``cpu`` budget with the settings ``given`` put over it (a value None: not given).
    ``causal_eps: 0`` turns the problem's causal weighting off (None in the result); ``eval_every``, when given,
    must divide ``adam_steps``, and otherwise is :func:`validation_interval` of it. Causal weighting needs
    a time-dependent problem."""
    prob = _problem(problem)
    settings = training_budget(prob, "cpu")
    settings.update({k: v for k, v in given.items() if v is not None})
    _check_counts(settings, given)
    if given.get("eval_every") is None:
        settings["eval_every"] = validation_interval(settings["adam_steps"])
    elif settings["adam_steps"] % settings["eval_every"]:
        raise ConfigError(f"eval_every={settings['eval_every']} does not divide adam_steps={settings['adam_steps']}; "
                          "pick a divisor (Adam runs in whole epochs of eval_every steps)")
    if settings["causal_eps"] == 0:
        settings["causal_eps"] = None
    if settings["causal_eps"] is not None and not prob.time_dependent:
        raise ConfigError(f"causal_eps: causal weighting needs a time-dependent problem and {prob.name!r} is not; "
                          "leave causal_eps out")
    return settings


def _check_counts(settings: dict[str, Any], given: dict[str, Any]) -> None:
    """ConfigError unless the step and point counts can run: a negative count would silently train nothing,
    and ``eval_every: 0`` would divide by zero."""
    check_bounds(settings, {"adam_steps": 0, "lbfgs_steps": 0, "lbfgs_max_iter": 1, "n_colloc": 1, "causal_slices": 1,
                            **({"eval_every": 1} if given.get("eval_every") is not None else {})})


def validation_interval(adam_steps: int, validations: int = VALIDATIONS) -> int:
    """The largest divisor of ``adam_steps`` that is at most ``adam_steps / validations`` (at least 1):
    Adam steps between relative-L2 checks, in whole epochs (2000 steps -> 400)."""
    target = max(adam_steps // validations, 1)
    return next(k for k in range(target, 0, -1) if adam_steps % k == 0)


def pig_size(problem: str | Problem, preset: str = "cpu") -> dict[str, Any]:
    """PIG's settings for ``problem`` under ``preset`` (Gaussians per channel, ``sigma0``, ...)."""
    prob = _problem(problem)
    return dict(prob.pig_defaults if _preset(preset) == "cpu" else (prob.paper_pig or prob.pig_defaults))
