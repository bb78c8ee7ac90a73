"""Cost helpers for benchmarks: medians over repeats, peak memory per device, multiply-accumulates."""
from __future__ import annotations

import resource
import statistics
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from sciml.utils.device import sync


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1,
                device: torch.device | str | None = None) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def reset_peak_memory(device: torch.device | str | None = None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device | str | None = None) -> float:
    """Peak memory in MiB: CUDA allocator peak on GPU, process max RSS on CPU (a high-water mark)."""
    if device is not None and torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def training_memory_mb(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn) -> float:
    """Memory of one training step in MiB: CUDA allocator peak on GPU; on CPU, parameters + gradients
    + the tensors autograd saves for backward (a device-independent proxy for the activation peak)."""
    device = x.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        loss_fn(model(x), y).backward()
        model.zero_grad(set_to_none=True)
        return torch.cuda.max_memory_allocated(device) / 2**20
    saved = 0

    def pack(t):
        nonlocal saved
        saved += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_fn(model(x), y)
    loss.backward()
    model.zero_grad(set_to_none=True)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return (saved + 2 * params) / 2**20


def epochs_for_budget(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor], loss_fn, n_samples: int,
                      budget_s: float, max_epochs: int, probe_steps: int = 8, warmup: int = 3) -> int:
    """Epochs that fit ``budget_s`` seconds of training, at most ``max_epochs`` (at least 1).

    Times ``probe_steps`` Adam steps on ``batch`` (kept where the training data lives, copied to the model's
    device each step and the loss read back, as the Trainer does; after ``warmup`` steps that absorb kernel
    selection) on a throwaway copy of ``model``, so the real run's initial weights and schedule are untouched;
    an epoch is ``ceil(n_samples / batch)`` steps plus 25 % for data loading and logging (on an H100, timing
    bare on-device steps + 10 % underestimated MgNO's real epoch at 211^2 by 1.4x). Sized before training so that
    a OneCycle schedule still runs its whole course (stopping a run early would cut it at a high learning rate)."""
    import copy
    import math

    probe = copy.deepcopy(model).train()
    opt = torch.optim.Adam(probe.parameters(), lr=1e-12)  # a real step's cost; the copy is thrown away
    device = next(probe.parameters()).device

    def step():
        x, y = (t.to(device, non_blocking=True) for t in batch)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(probe(x), y)
        loss.backward()
        opt.step()
        float(loss.detach())  # reads the loss back (a sync), as the Trainer does

    per_step = median_time(step, repeats=probe_steps, warmup=warmup, device=device)
    per_epoch = 1.25 * per_step * math.ceil(n_samples / batch[0].shape[0])
    return int(max(1, min(max_epochs, budget_s // per_epoch)))


@torch.no_grad()
def gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates (1e9) of one forward pass on ``x``, counted by torch's FlopCounterMode
    (convolutions, matmuls and FFT-free spectral products; norms, activations and resampling are not counted)."""
    with FlopCounterMode(display=False) as fc:
        model(x)
    return fc.get_total_flops() / 2e9
