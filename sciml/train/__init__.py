"""The one training harness: Trainer, TrainConfig, losses, metrics, checkpoints, torchrun support."""
from sciml.train.checkpoint import load_checkpoint, load_tensors, save_checkpoint, save_tensors
from sciml.train.config import TrainConfig
from sciml.train.losses import H1Loss, RelLpLoss, build_loss
from sciml.train.metrics import METRICS, get_metric
from sciml.train.trainer import Trainer

__all__ = ["Trainer", "TrainConfig", "RelLpLoss", "H1Loss", "build_loss", "METRICS", "get_metric",
           "load_checkpoint", "save_checkpoint", "load_tensors", "save_tensors"]
