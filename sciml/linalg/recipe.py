"""The ``dcdm`` recipe: train DCDM's search-direction network on Ritz vectors (``sciml train`` a spec with
``recipe: dcdm``, e.g. ``examples/configs/dcdm_train.yaml``)."""
from __future__ import annotations

from sciml.linalg.dcdm_training import train_dcdm
from sciml.recipes import register_recipe

register_recipe("dcdm")(train_dcdm)
