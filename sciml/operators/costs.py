"""What a trained field operator costs: parameters, multiply-accumulates, training time, memory, inference time.

The ``field`` recipe's evaluator adds these to its scores (``sciml evaluate`` and every
``sciml bench operators`` row), so a benchmark's cost columns come from the same code users run:

- ``params``: trainable real parameters (a complex weight counts twice, as in the FNO/MgNO papers);
- ``gmacs``: multiply-accumulates of one sample's forward pass, in 1e9 (:func:`sciml.utils.cost.gmacs`);
- ``s_per_epoch``: the median epoch wall time of the run's ``history.json`` (a median, because a shared
  machine slows some epochs) and ``epochs``, the number of epochs it trained;
- ``peak_mem_mb``: memory of one training step at the run's batch size (:func:`sciml.utils.cost.training_memory_mb`:
  the CUDA allocator peak on a GPU; parameters + gradients + the tensors autograd saves on a CPU);
- ``infer_ms``: the median forward time per sample in batches of 32, in milliseconds.

Timings are measured on the machine that evaluates (its accelerator when it has one), on a copy of the
model, with inputs drawn from a fixed generator.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn as nn

from sciml.models import count_parameters
from sciml.train.history import training_time
from sciml.train.losses import build_loss
from sciml.utils.cost import gmacs, median_time, training_memory_mb
from sciml.utils.device import default_device

INFER_BATCH = 32  # samples per timed forward pass


def _inputs(batch: int, sample_shape: Sequence[int], device: torch.device, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)  # fixed draws: the costs do not touch the global RNG
    return torch.randn(batch, *sample_shape, generator=gen).to(device)


def model_costs(model: nn.Module, sample_shape: Sequence[int], batch_size: int, loss_fn: nn.Module,
                device: str | torch.device = "auto") -> dict[str, float]:
    """``params``, ``gmacs``, ``peak_mem_mb`` and ``infer_ms`` of ``model`` on inputs shaped ``sample_shape``
    (``(channels, *grid)``), a training step at ``batch_size`` with ``loss_fn`` measured on a copy."""
    dev = default_device(device) if isinstance(device, str) else device
    net = copy.deepcopy(model).to(dev)  # a training step must not touch the evaluated model (norm statistics)
    x = _inputs(batch_size, sample_shape, dev)
    with torch.no_grad():
        target = _inputs(batch_size, net.eval()(x[:1]).shape[1:], dev, seed=1)
    mem = training_memory_mb(net.train(), x, target, loss_fn)
    net.eval()
    xi = _inputs(INFER_BATCH, sample_shape, dev, seed=2)
    with torch.no_grad():
        infer_s = median_time(lambda: net(xi), repeats=5, device=dev)
    return {"params": float(count_parameters(model)), "gmacs": gmacs(net, x[:1]), "peak_mem_mb": mem,
            "infer_ms": infer_s / INFER_BATCH * 1e3}


def checkpoint_costs(model: nn.Module, checkpoint: dict[str, Any], checkpoint_path: Path,
                     sample_shape: Sequence[int]) -> dict[str, float]:
    """:func:`model_costs` at the batch size and loss the checkpoint's run trained with, plus the run's
    :func:`training_time` (read from ``history.json`` beside the checkpoint)."""
    extra = checkpoint.get("extra", {})
    batch = int(((checkpoint.get("trainer") or {}).get("config") or {}).get("batch_size", 16))
    loss_cfg = dict(extra.get("loss") or {"name": "rel_l2"})
    loss_fn = build_loss(loss_cfg.pop("name"), **loss_cfg)
    return {**model_costs(model, sample_shape, batch, loss_fn),
            **training_time(Path(checkpoint_path).parent / "history.json")}


__all__ = ["checkpoint_costs", "model_costs", "training_time"]
