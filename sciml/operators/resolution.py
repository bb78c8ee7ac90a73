"""Which trained operators may be scored on another grid than the one they were trained on.

An operator whose weights define a map between functions on the domain, not on one grid, can be applied
on a finer or coarser grid of the same domain, its pointwise normalisers resampled to that grid
(:func:`sciml.data.normalize.resample_to_grid`): the FNO (a truncated Fourier series, discretisation-invariant)
and MgNO (its V-cycle runs on any grid; its number of levels is fixed by the weights, so on a finer grid the
coarsest level is finer too and the error can grow, see ``docs/mgno.md``: check the error there). A
convolutional network (U-Net, DnCNN, ...) learns stencils measured in grid cells: on another grid the same
weights compute another operator, and its scores would measure that mismatch, not the model. Such a model
is refused on data of another grid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from sciml.errors import ConfigError
from sciml.models.wrappers import wrapped_model_name

# registered models whose weights define an operator on any grid of the domain
GRID_INVARIANT_MODELS = frozenset({"fno", "fno_neuralop", "mgno"})


def training_grid(checkpoint: dict[str, Any]) -> tuple[int, ...] | None:
    """The grid ``(n_1, ..., n_d)`` the checkpoint's model was trained on: recorded by the ``field`` recipe,
    else the shape of its pointwise input statistics; None when neither tells."""
    extra = checkpoint.get("extra", {})
    if extra.get("grid"):
        return tuple(int(n) for n in extra["grid"])
    for name in extra.get("inputs", []):
        mean = ((checkpoint.get("normalizers") or {}).get(name) or {}).get("mean")
        if getattr(mean, "ndim", 0):
            return tuple(int(n) for n in mean.shape)
    return None


def check_grid(checkpoint: dict[str, Any], data_grid: Sequence[int], data_path: str | Path) -> None:
    """Refuse scoring a model that is not discretisation-invariant on data of another grid than its own
    (a :class:`~sciml.errors.ConfigError` naming the model, both grids and what to do)."""
    trained = training_grid(checkpoint)
    grid = tuple(int(n) for n in data_grid)
    name = wrapped_model_name(checkpoint.get("model", {}))
    if trained is None or trained == grid or name in GRID_INVARIANT_MODELS:
        return
    show = lambda g: "x".join(map(str, g))  # noqa: E731
    raise ConfigError(f"model {name!r} was trained on a {show(trained)} grid and is not discretisation-invariant "
                      f"(its convolutions are measured in grid cells), so it cannot be scored on the {show(grid)} grid "
                      f"of {str(data_path)!r}; evaluate it on data on a {show(trained)} grid, or train it on this grid "
                      f"(FNO and MgNO models can be applied on another grid)")


__all__ = ["GRID_INVARIANT_MODELS", "check_grid", "training_grid"]
