"""Neural operators learned from field pairs (MgNO, FNO, U-Net): the ``field`` recipe.

The models live in :mod:`sciml.models`; this package trains them on an input-field -> output-field dataset
through the shared Trainer and scores them with :func:`sciml.evaluate.field_eval.evaluate_field_model`.
"""
from sciml.operators.recipe import DataConfig, OperatorTrainConfig, evaluate_field, train_field

__all__ = ["DataConfig", "OperatorTrainConfig", "evaluate_field", "train_field"]
