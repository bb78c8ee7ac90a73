"""TrainConfig: every knob of the one Trainer, filled from YAML by :func:`sciml.config.from_dict`."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from sciml.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd", "lbfgs")
SCHEDULERS = ("none", "cosine", "onecycle", "exponential", "step")


@dataclass
class TrainConfig:
    """Training settings.

    batch_size is the *global* batch: under ``torchrun --nproc_per_node N`` each process takes
    ``batch_size // N``. Schedules are stepped once per optimiser step. ``steps_per_epoch`` caps
    the batches per epoch, or sets the number of steps when training is data-free
    (``train_data=None`` with a ``compute_loss``).
    """

    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    scheduler: str = "cosine"
    scheduler_kwargs: dict[str, Any] = field(default_factory=dict)
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    grad_clip: float | None = 1.0
    amp: bool = True
    compile: bool = False
    device: str = "auto"
    seed: int = 0
    early_stopping_patience: int | None = None
    monitor: str = "val_loss"
    steps_per_epoch: int | None = None
    num_workers: int = 0
    val_metrics: list[str] = field(default_factory=lambda: ["rel_l2"])
    checkpoint_every: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        for name, allowed in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
            value = getattr(self, name)
            if value not in allowed:
                close = difflib.get_close_matches(str(value), allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{name} must be one of {allowed}, got {value!r}{hint}")
        for name in ("epochs", "batch_size", "lr"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name, least in (("checkpoint_every", 1), ("num_workers", 0), ("weight_decay", 0), ("min_lr", 0),
                            ("warmup_epochs", 0), ("steps_per_epoch", 1), ("early_stopping_patience", 1)):
            value = getattr(self, name)
            if value is not None and not value >= least:  # None: the option is off
                raise ConfigError(f"{name} must be at least {least}, got {value!r}")
