"""Every registered recipe: its spec round-trips, and the registry is the one place recipes are found."""
import pytest

from sciml.experiment import ExperimentSpec, spec_from_dict
from sciml.recipes import RECIPE_MODULES, RECIPES, recipe_of_checkpoint


@pytest.mark.parametrize("name", RECIPES.names())
def test_a_default_spec_of_every_recipe_round_trips(name):
    spec = spec_from_dict({"recipe": name, "name": f"rt_{name}", "seed": 3, "device": "cpu"})
    assert spec_from_dict(spec.to_dict()) == spec
    assert RECIPES.get(name).summary  # `sciml recipes` shows one line for each


def test_a_spec_with_a_built_train_section_round_trips():
    """A spec whose train section was coerced into a TrainConfig dumps without train.seed/device (top-level keys)."""
    spec = spec_from_dict({"recipe": "field", "name": "rt", "seed": 5, "train": {"epochs": 2, "lr": 1e-3}})
    again = spec_from_dict(spec.to_dict())
    assert again.to_dict() == spec.to_dict()
    assert "seed" not in spec.to_dict()["train"] and spec.to_dict()["seed"] == 5


def test_every_listed_module_registers_a_recipe():
    """The registry imports exactly RECIPE_MODULES; each of them registers (no module listed for nothing)."""
    import importlib
    import inspect

    for module in RECIPE_MODULES:
        assert "register_recipe(" in inspect.getsource(importlib.import_module(module)), module
    assert len(RECIPES.names()) >= len(RECIPE_MODULES)


def test_checkpoints_name_their_recipe():
    assert recipe_of_checkpoint({"recipe": "pinn"}) == "pinn"
    assert recipe_of_checkpoint({"evaluator": "climatebench"}) == "climate_emulator"  # written before recipes
    assert recipe_of_checkpoint({}) == "field"


def test_unknown_recipe_suggests_the_close_one():
    with pytest.raises(Exception, match="Did you mean 'pinn'"):
        spec_from_dict({"recipe": "pin"})


def test_a_section_the_recipe_does_not_take_is_refused():
    with pytest.raises(Exception, match="takes no 'loss' section"):
        spec_from_dict({"recipe": "pinn", "loss": {"name": "rel_l2"}})
    with pytest.raises(Exception, match="'task' is now called 'recipe'"):
        spec_from_dict({"task": "pinn"})
    assert isinstance(spec_from_dict({}), ExperimentSpec)
