"""Recipes: how each method turns an experiment spec into a trained artefact, and how it is scored.

A recipe is the one unit of work that ``sciml train SPEC.yaml``, ``sciml evaluate CHECKPOINT`` and every
``sciml bench`` row go through. Each method registers one (or a few) in its own ``recipe.py``::

    @register_recipe("pinn", evaluate=evaluate_pinn)
    def train_pinn(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "auto",
                   problem: str = "helmholtz2d", ...) -> Path:
        ...

``run(out_dir, resume, seed, device, **params) -> Path`` trains (or measures) and returns the artefact: a
sciml checkpoint whose ``extra["recipe"]`` names the recipe, or for a measurement a JSON file.
Its typed keyword parameters *are* the recipe's spec section: the experiment loader checks a spec's keys
and types against them, so a recipe documents its options in one place.

``evaluate(artefact, data, out_dir) -> xr.Dataset`` scores it: per-sample (or per-case) metrics as
variables, scalar summaries as ``attrs``. ``data=None`` means the held-out data the run recorded.

The registry imports exactly the modules in :data:`RECIPE_MODULES` (listed once, here), so the layer
that defines recipes (the methods) registers into this base module and never imports the experiment
layer above it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from sciml.errors import ConfigError
from sciml.registry import Registry

RECIPE_MODULES = (
    "sciml.operators.recipe",   # field-to-field operators: MgNO, FNO, U-Net
    "sciml.evaluate.trajectory",  # autoregressive rollouts: SineNet
    "sciml.pinn.task",          # physics-informed fits: PIG, PINN
    "sciml.linalg.recipe",      # DCDM training and linear-solver measurements
    "sciml.climate.recipes",    # ClimateBench emulators: LPS, CNN-LSTM, Prithvi
    "sciml.discovery.recipe",   # MEDIDA: structural model-error discovery on two-layer QG
    "sciml.inverse.recipe",     # LPN/PnP: learned image priors, PnP restoration, the 1-D Laplacian toy
)

Evaluate = Callable[[Path, Optional[Path], Path], Any]


@dataclass(frozen=True)
class Recipe:
    """A registered recipe: ``run`` makes the artefact, ``evaluate`` scores one (None: not scoreable)."""

    name: str
    run: Callable[..., Path]
    evaluate: Evaluate | None
    summary: str

    def score(self, artefact: str | Path, data: str | Path | None, out_dir: str | Path):
        """``evaluate(artefact, data, out_dir)``; a recipe without an evaluator is a ConfigError."""
        if self.evaluate is None:
            raise ConfigError(f"recipe {self.name!r} produces no scoreable artefact; there is nothing to evaluate")
        return self.evaluate(Path(artefact), None if data is None else Path(data), Path(out_dir))


RECIPES: Registry[Recipe] = Registry("recipe", modules=[m for m in RECIPE_MODULES])


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line (a recipe's summary in ``sciml recipes``)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=\.)\s+(?=[A-Z`])", paragraph, maxsplit=1)[0]


def register_recipe(name: str, evaluate: Evaluate | None = None) -> Callable[[Callable[..., Path]], Callable[..., Path]]:
    """Decorator on a recipe's ``run`` function; returns the function unchanged."""

    def deco(fn: Callable[..., Path]) -> Callable[..., Path]:
        summary = first_sentence(fn.__doc__ or name)
        known = RECIPES._items.get(name)
        if known is None or known.run.__qualname__ != fn.__qualname__:  # a module imported twice registers once
            RECIPES.register(name)(Recipe(name, fn, evaluate, summary))
        return fn

    return deco


_OLDER_EVALUATOR_NAMES = {"climatebench": "climate_emulator"}


def recipe_of_checkpoint(extra: dict[str, Any]) -> str:
    """The recipe a checkpoint's ``extra`` names (``"recipe"``; checkpoints written before recipes named
    their ``"evaluator"``, read too)."""
    if extra.get("recipe"):
        return str(extra["recipe"])
    older = str(extra.get("evaluator") or "field")
    return _OLDER_EVALUATOR_NAMES.get(older, older)
