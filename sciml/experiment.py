"""The experiment spec: one typed YAML document that says everything a run needs.

``sciml train SPEC.yaml``, ``sciml evaluate`` and every ``sciml bench`` row run an :class:`ExperimentSpec`
through :func:`run_experiment`. The spec names a registered recipe (:mod:`sciml.recipes`; ``sciml recipes``
lists them) and gives its parameters. The common keys are the same for every recipe: ``recipe``, ``name``,
``out_dir`` (relative paths resolve against the YAML file's folder), ``seed`` (seeds Python, NumPy and
torch before the recipe runs), ``device`` (``cpu``, ``cuda``, ``cuda:N`` or ``auto``) and ``evaluate``
(score the artefact with the recipe's evaluator afterwards). ``data``, ``model``, ``loss`` and ``train``
are handed to the recipe as parameters when given, like the entries of ``params`` (a recipe that takes no
``loss`` refuses one). Every key is checked against the recipe's typed signature: an unknown key or a
wrong type is a :class:`~sciml.errors.ConfigError` naming the field. Example::

    recipe: field
    name: darcy_fno
    out_dir: runs/darcy_fno
    seed: 0
    device: auto
    data: {make: darcy, params: {n: 200, res: 32, seed: 0}, inputs: [a], targets: [u]}
    model: {name: fno, modes: 12, width: 32}
    loss: {name: rel_l2}
    train: {epochs: 20, batch_size: 16, lr: 1e-3}
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import re
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from sciml.config import ConfigPath, check_call, from_dict, load_yaml
from sciml.errors import ConfigError
from sciml.recipes import RECIPES, Recipe, recipe_of_checkpoint
from sciml.train.checkpoint import load_checkpoint
from sciml.train.seed import seed_everything
from sciml.utils.device import default_device

SECTIONS = ("data", "model", "loss", "train")  # spec keys handed to the recipe as parameters when given
COMMON = ("out_dir", "resume", "seed", "device")  # what run_experiment passes every recipe itself


@dataclass
class ExperimentSpec:
    """One run: the recipe, where it writes, its seed and device, and the recipe's parameters."""

    recipe: str = "field"
    name: str = "experiment"
    out_dir: ConfigPath = "runs/experiment"
    seed: int = 0
    device: str = "auto"
    evaluate: bool = True
    data: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    loss: dict[str, Any] | None = None
    train: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def recipe_params(self) -> dict[str, Any]:
        """``params`` plus the sections given, as the recipe's keyword arguments (unchecked)."""
        clash = sorted(set(self.params) & ({k for k in SECTIONS if getattr(self, k) is not None} | set(COMMON)))
        if clash:
            raise ConfigError(f"params: {clash} are spec keys of their own; write them at the top level of the spec")
        return {**self.params, **{k: getattr(self, k) for k in SECTIONS if getattr(self, k) is not None}}

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain YAML-able values, only non-default sections (round-trips through ``spec_from_dict``)."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        if isinstance(d.get("train"), dict):  # a built TrainConfig: its seed and device are the spec's own
            d["train"] = {k: v for k, v in d["train"].items() if k not in ("seed", "device")}
        return {k: v for k, v in d.items() if v is not None and not (k == "params" and not v)}


def spec_from_dict(data: dict[str, Any], where: str = "experiment spec", base_dir: str | Path | None = None
                   ) -> ExperimentSpec:
    """Build and check a spec: the common keys against :class:`ExperimentSpec`, the recipe's parameters
    against the recipe's signature (types coerced, e.g. ``train`` into a TrainConfig). Relative paths
    resolve against ``base_dir``."""
    data = dict(data or {})
    if "task" in data:
        raise ConfigError(f"{where}: the key 'task' is now called 'recipe'; rename it (e.g. recipe: {data['task']})")
    spec = from_dict(ExperimentSpec, data, where=where, base_dir=base_dir)
    recipe = RECIPES.get(spec.recipe)
    moved = sorted({"seed", "device"} & set(spec.train or {}))
    if moved:
        raise ConfigError(f"{where}: train.{moved[0]} is a top-level spec key; move it out of the train section")
    sections = {k: getattr(spec, k) for k in SECTIONS if getattr(spec, k) is not None}
    taken = inspect.signature(recipe.run).parameters
    for k in sections:
        if k not in taken:
            raise ConfigError(f"{where}: recipe {spec.recipe!r} takes no '{k}' section; remove it")
    spec.recipe_params()  # refuses params that repeat a section or a common key
    spec.params = check_call(recipe.run, spec.params, where="params", base_dir=base_dir, given_elsewhere=COMMON)
    for k, v in check_call(recipe.run, sections, where="", base_dir=base_dir).items():
        setattr(spec, k, v)
    return spec


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read and check an experiment YAML (relative paths resolve against the file's folder)."""
    return spec_from_dict(load_yaml(path), where=f"experiment spec {str(path)!r}", base_dir=Path(path).resolve().parent)


def summary_scores(metrics: xr.Dataset | None) -> dict[str, float]:
    """The scalar scores of an evaluation: its numeric ``attrs``, plus the sample mean of each variable
    that has a ``sample`` dimension (NaN stays NaN: a non-finite score is reported, never dropped)."""
    if metrics is None:
        return {}
    scores = {k: float(v) for k, v in metrics.attrs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for name, da in metrics.data_vars.items():
        if da.dims == ("sample",) and name not in scores:
            scores[str(name)] = float(da.mean().item()) if da.size else math.nan
    return scores


def run_experiment(spec: ExperimentSpec, resume: bool = False, evaluate: bool | None = None) -> dict[str, Any]:
    """Run ``spec``'s recipe (seeded), then score its artefact with the recipe's evaluator.

    Returns ``{"name", "recipe", "out_dir", "checkpoint", "metrics" (xr.Dataset or None), "scores"}``.
    ``evaluate`` overrides ``spec.evaluate``. Under ``torchrun`` only rank 0 evaluates.
    """
    recipe: Recipe = RECIPES.get(spec.recipe)
    kwargs = check_call(recipe.run, spec.recipe_params(), where=f"recipe {spec.recipe!r} parameters")
    seed_everything(spec.seed)  # before the recipe draws data or initial weights: same seed, same run
    out = Path(spec.out_dir)
    device = str(default_device(spec.device))  # "auto" becomes what this machine has, so recipes see a real device
    artefact = Path(recipe.run(out_dir=out, resume=resume, seed=spec.seed, device=device, **kwargs))
    result: dict[str, Any] = {"name": spec.name, "recipe": spec.recipe, "out_dir": str(out),
                              "checkpoint": str(artefact), "metrics": None}
    is_main = int(os.environ.get("RANK", "0")) == 0  # under torchrun, rank 0 evaluates
    if (spec.evaluate if evaluate is None else evaluate) and recipe.evaluate is not None and is_main:
        result["metrics"] = recipe.score(artefact, None, out)
    result["scores"] = summary_scores(result["metrics"])
    return result


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path | None = None, out_dir: str | Path | None = None):
    """``sciml evaluate``: score a run's artefact with the evaluator of the recipe that made it.

    ``checkpoint`` is a ``.pt`` checkpoint or a JSON artefact (e.g. a ``linear_solver`` measurement) that
    names its ``"recipe"``. ``data=None`` scores the run's own held-out data; ``out_dir`` defaults to
    ``eval/`` beside the artefact.
    """
    out = Path(out_dir) if out_dir is not None else Path(checkpoint).parent / "eval"
    return RECIPES.get(recipe_of_artefact(checkpoint)).score(checkpoint, data, out)


def recipe_of_artefact(path: str | Path) -> str:
    """The recipe that wrote ``path``: a JSON artefact's ``"recipe"`` key, or a checkpoint's ``extra``."""
    path = Path(path)
    if path.suffix != ".json":
        return recipe_of_checkpoint(load_checkpoint(path).get("extra", {}))
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read {str(path)!r} as a JSON artefact ({err}); pass a run's checkpoint "
                          "or the JSON file its recipe wrote") from None
    if not isinstance(doc, dict) or not doc.get("recipe"):
        raise ConfigError(f"{str(path)!r} names no recipe; pass a run's checkpoint or the JSON file its recipe wrote")
    return str(doc["recipe"])


# ---- the spec's keys, for `sciml recipes NAME` and the docs' spec reference ----

KEY_TABLE_HEAD = "| key | type | default |\n|---|---|---|"


def _type_name(tp: Any) -> str:
    text = getattr(tp, "__name__", None) if not typing.get_args(tp) else None
    text = re.sub(r"\b(?:typing|sciml(?:\.\w+)*)\.", "", text or str(tp))  # Optional[sciml.config.ConfigPath] -> ...
    text = re.sub(r"^Optional\[(.*)\]$", r"\1 | None", text)
    return "`" + text.replace("|", "\\|") + "`"  # a bare | would split the table cell


def _default_text(value: Any) -> str:
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    return f"`{value!r}`"


def _dataclass_rows(cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if prefix and f.name in COMMON:  # e.g. train.seed: a spec sets the seed and device at the top level
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        rows.append(f"| `{prefix}{f.name}` | {_type_name(hints.get(f.name, f.type))} | {_default_text(default)} |")
    return rows


def _section_class(tp: Any) -> type | None:
    """The dataclass a recipe parameter is typed by (``TrainConfig | None`` -> TrainConfig), else None."""
    for candidate in (tp, *typing.get_args(tp)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def common_key_rows() -> list[str]:
    """Markdown table rows of the keys every spec has (``params`` is given per recipe)."""
    return [r for r in _dataclass_rows(ExperimentSpec, "") if not r.startswith("| `params`")]


def recipe_key_rows(name: str) -> list[str]:
    """Markdown table rows of recipe ``name``'s own keys: its ``run`` signature, a parameter typed by a
    dataclass (``train: TrainConfig``) as that dataclass's fields, a plain parameter under ``params.``."""
    run = RECIPES.get(name).run
    try:
        hints = typing.get_type_hints(run)
    except (NameError, TypeError):  # an annotation that does not resolve is shown as written
        hints = {}
    rows = []
    for p in inspect.signature(run).parameters.values():
        if p.name in COMMON or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        tp = hints.get(p.name, p.annotation)
        section = _section_class(tp)
        if section is not None:
            rows += _dataclass_rows(section, f"{p.name}.")
        else:
            key = p.name if p.name in SECTIONS else f"params.{p.name}"
            rows.append(f"| `{key}` | {_type_name(tp)} | {_default_text(p.default)} |")
    return rows


def recipe_keys(name: str) -> str:
    """Every key a spec of recipe ``name`` may hold, with its type and default, as markdown."""
    about = (inspect.getdoc(RECIPES.get(name).run) or "").split("\n\n")[0].replace("\n", " ")
    return "\n".join([f"## Recipe `{name}`", "", about, "", KEY_TABLE_HEAD, *recipe_key_rows(name)]) + "\n"
