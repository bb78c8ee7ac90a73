"""Optimiser and per-step learning-rate schedule from a TrainConfig."""
from __future__ import annotations

import math

import torch

from sciml.train.config import TrainConfig


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    kw = dict(cfg.optimizer_kwargs)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **kw)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **kw)
    if cfg.optimizer == "sgd":
        kw.setdefault("momentum", 0.9)
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **kw)
    kw.setdefault("max_iter", 20)
    kw.setdefault("history_size", 50)
    kw.setdefault("line_search_fn", "strong_wolfe")
    return torch.optim.LBFGS(params, lr=cfg.lr, **kw)


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, steps_per_epoch: int):
    """A scheduler stepped once per optimiser step over ``total_steps``."""
    kw = dict(cfg.scheduler_kwargs)
    if cfg.scheduler == "onecycle":
        kw.setdefault("pct_start", 0.2)
        kw.setdefault("div_factor", 2.0)
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 2), **kw)
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    floor = cfg.min_lr / cfg.lr

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if cfg.scheduler == "cosine":
            progress = (step - warmup) / max(total_steps - warmup, 1)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        if cfg.scheduler == "exponential":
            return kw.get("gamma", 0.999) ** (step - warmup)
        if cfg.scheduler == "step":
            return kw.get("gamma", 0.5) ** ((step - warmup) // max(int(kw.get("step_epochs", 10) * steps_per_epoch), 1))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)
