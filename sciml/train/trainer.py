"""The one training loop of sciml.

Every model that learns goes through :class:`Trainer`: supervised operators with ``(x, y)``
batches, and methods with their own objective (PINNs, LPN, DCDM) through ``compute_loss``.
It handles device choice, bf16 autocast on CUDA, optional ``torch.compile``, gradient
clipping, per-step LR schedules, atomic checkpoints with exact resume, early stopping, a
NaN/Inf guard, progress reports (:mod:`sciml.utils.progress`), ``history.json`` and ``torchrun`` (DDP)
without code changes.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from sciml.errors import CheckpointError, ConfigError, TrainingDivergedError
from sciml.train import distributed as D
from sciml.train.checkpoint import check_compatible, load_checkpoint, save_checkpoint, unwrap
from sciml.train.config import TrainConfig
from sciml.train.losses import RelLpLoss
from sciml.train.metrics import get_metric
from sciml.train.optim import build_optimizer, build_scheduler
from sciml.train.seed import rng_state, seed_everything, set_rng_state
from sciml.utils.files import write_json
from sciml.utils.progress import progress

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ComputeLoss = Callable[[nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, dict[str, float]]"]


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside (nested) tuples, lists and dicts to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def target_decoder(data: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``(B, C, ...)`` normalised targets -> physical units, for a dataset that encodes its targets (one with
    ``targets`` names and ``normalizers`` holding some of them, e.g. FieldDataset); None otherwise.

    Validation metrics are computed after decoding so that ``val_rel_l2`` has the definition and units of
    the test metric ``rel_l2`` (a relative error changes under the normaliser's shift). ``val_loss`` stays the
    training objective, on the normalised fields.
    """
    names, norms = getattr(data, "targets", None), getattr(data, "normalizers", None)
    if not names or not norms or not any(name in norms for name in names):
        return None
    return lambda t: norms.decode_stack(list(names), t)


class Trainer:
    """Train ``model`` with ``config`` on ``train_data``.

    Parameters
    ----------
    model : an ``nn.Module`` built with :func:`sciml.models.build_model` (needed for checkpoints).
    config : :class:`TrainConfig`.
    train_data, val_data : torch Datasets yielding ``(x, y)`` (or anything ``compute_loss`` reads);
        ``train_data=None`` means data-free training for ``config.steps_per_epoch`` steps.
    loss_fn : ``(pred, y) -> scalar`` for ``(x, y)`` batches; default mean relative L2.
    compute_loss : ``(model, batch) -> loss`` or ``(loss, logs)``; replaces the default objective.
    validate_fn : ``(model) -> {name: value}`` extra validation (e.g. error against an exact solution);
        logged with a ``val_`` prefix.
    normalizers : saved in checkpoints so the model can be used in physical units later.
    out_dir : where ``last.pt``, ``best.pt`` and ``history.json`` go (rank 0 only).
    metadata : stored in every checkpoint's ``extra`` (e.g. variable names, the evaluator to use).
    """

    def __init__(self, model: nn.Module, config: TrainConfig, train_data: Dataset | None = None,
                 val_data: Dataset | None = None, loss_fn: LossFn | None = None,
                 compute_loss: ComputeLoss | None = None, validate_fn: Callable[[nn.Module], dict] | None = None,
                 normalizers: Any = None, out_dir: str | Path | None = None,
                 metadata: dict[str, Any] | None = None):
        self.cfg = config
        self.metadata = dict(metadata or {})
        self.dist = D.setup(config.device)
        self.device = self.dist.device
        seed_everything(config.seed + self.dist.rank)
        if train_data is None and compute_loss is None:
            raise ConfigError("train_data is None: pass compute_loss for data-free training")
        if train_data is None and not config.steps_per_epoch:
            raise ConfigError("data-free training (train_data=None) needs TrainConfig.steps_per_epoch")
        if config.batch_size % self.dist.world_size:
            raise ConfigError(f"train.batch_size {config.batch_size} is not divisible by the "
                              f"{self.dist.world_size} processes; pick a multiple")
        self.model = model.to(self.device)
        self.net: nn.Module = self.model  # wrapped (DDP / compile) for forward passes
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if config.compile:
            self.net = torch.compile(self.net)
        self.loss_fn = loss_fn or RelLpLoss()
        self.compute_loss = compute_loss
        self.validate_fn = validate_fn
        self.normalizers = normalizers
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.train_data, self.val_data = train_data, val_data
        self.train_loader = self._loader(train_data, shuffle=True) if train_data is not None else None
        self.val_loader = self._val_loader(val_data) if val_data is not None else None
        self.decode_target = target_decoder(val_data)
        # validation metrics take the data's settings as the test metrics do (``periodic`` for ``rel_h1``)
        self.val_metric_fns = [get_metric(name, periodic=bool(self.metadata.get("periodic", False)))
                               for name in config.val_metrics]
        self.steps_per_epoch = config.steps_per_epoch or len(self.train_loader)
        if self.train_loader is not None:
            self.steps_per_epoch = min(self.steps_per_epoch, len(self.train_loader))
        try:  # torch checks optimizer_kwargs/scheduler_kwargs and their fit to the optimizer
            self.optimizer = build_optimizer(self.model.parameters(), config)
            self.scheduler = build_scheduler(self.optimizer, config, config.epochs * self.steps_per_epoch,
                                             self.steps_per_epoch)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"train: optimizer {config.optimizer!r} with scheduler {config.scheduler!r} "
                              f"cannot be built ({exc}); fix train.optimizer_kwargs/scheduler_kwargs or "
                              "pick another optimizer or scheduler") from exc
        self.epoch, self.global_step = 0, 0
        self.history: list[dict[str, float]] = []
        self.best, self.bad_epochs = math.inf, 0
        self.best_epoch, self._best_weights = 0, None  # in memory only without an out_dir (else best.pt)

    # ------------------------------------------------------------------ data
    def _loader(self, data: Dataset, shuffle: bool) -> DataLoader:
        self.sampler = DistributedSampler(data, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                          shuffle=shuffle, seed=self.cfg.seed, drop_last=False)
        return DataLoader(data, batch_size=self.cfg.batch_size // self.dist.world_size, sampler=self.sampler,
                          num_workers=self.cfg.num_workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=self.cfg.num_workers > 0)

    def _val_loader(self, data: Dataset) -> DataLoader:
        shard = Subset(data, list(range(self.dist.rank, len(data), self.dist.world_size)))
        return DataLoader(shard, batch_size=max(self.cfg.batch_size // self.dist.world_size, 1),
                          num_workers=self.cfg.num_workers)

    # ------------------------------------------------------------------ steps
    def _autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16,
                              enabled=self.cfg.amp and self.device.type == "cuda")

    def _loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        with self._autocast():
            if self.compute_loss is not None:
                out = self.compute_loss(self.net, batch)
                loss, logs = out if isinstance(out, tuple) else (out, {})
            else:
                x, y = batch
                loss, logs = self.loss_fn(self.net(x).float(), y), {}
        return loss.float(), logs

    def _check_finite(self, loss: torch.Tensor) -> None:
        bad = torch.tensor(0.0 if torch.isfinite(loss).all() else 1.0, device=self.device)
        if D.all_reduce_sum(bad, self.dist).item() > 0:
            raise TrainingDivergedError(
                f"loss became {loss.item()} at epoch {self.epoch + 1}, step {self.global_step} "
                f"(lr {self.optimizer.param_groups[0]['lr']:.3g}). Lower TrainConfig.lr, keep grad_clip set, "
                "or check the inputs for NaN/Inf with sciml.data.validate(..., finite=True)."
            )

    def _step(self, batch: Any) -> tuple[float, dict[str, float]]:
        self.net.train()
        if self.cfg.optimizer == "lbfgs":
            logs_box: dict[str, float] = {}

            def closure():
                self.optimizer.zero_grad(set_to_none=True)
                loss, logs = self._loss(batch)
                self._check_finite(loss)
                loss.backward()
                logs_box.update(logs)
                return loss

            loss = self.optimizer.step(closure)
            self.scheduler.step()
            return float(loss.detach()), logs_box  # L-BFGS returns the closure loss with its graph
        self.optimizer.zero_grad(set_to_none=True)
        loss, logs = self._loss(batch)
        self._check_finite(loss)
        loss.backward()
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach()), logs

    def _batches(self):
        if self.train_loader is None:
            return (None for _ in range(self.steps_per_epoch))
        self.sampler.set_epoch(self.epoch)
        it = iter(self.train_loader)
        return (to_device(next(it), self.device) for _ in range(self.steps_per_epoch))

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def _validate_supervised(self) -> dict[str, float]:
        self.net.eval()
        sums = torch.zeros(1 + len(self.cfg.val_metrics), dtype=torch.float64, device=self.device)
        count = torch.zeros(1, dtype=torch.float64, device=self.device)
        for batch in self.val_loader:
            batch = to_device(batch, self.device)
            if self.compute_loss is not None:
                with torch.enable_grad():
                    loss, _ = self._loss(batch)
                n = 1
                sums[0] += float(loss.detach())
            else:
                x, y = batch
                with self._autocast():
                    pred = self.net(x).float()
                n = x.shape[0]
                sums[0] += float(self.loss_fn(pred, y)) * n
                if self.decode_target is not None:  # metrics in physical units, as the test metrics
                    pred, y = self.decode_target(pred), self.decode_target(y)
                for i, metric in enumerate(self.val_metric_fns):
                    sums[1 + i] += metric(pred, y).sum().double()
            count += n
        sums, count = D.all_reduce_sum(sums, self.dist), D.all_reduce_sum(count, self.dist)
        out = {"val_loss": float(sums[0] / count)}
        if self.compute_loss is None:
            out.update({f"val_{m}": float(sums[1 + i] / count) for i, m in enumerate(self.cfg.val_metrics)})
        return out

    def validate(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.val_loader is not None:
            out.update(self._validate_supervised())
        if self.validate_fn is not None:
            out.update({f"val_{k}": float(v) for k, v in self.validate_fn(unwrap(self.net)).items()})
        return out

    # ------------------------------------------------------------------ checkpoints
    def _timeless_history(self) -> list[dict[str, float]]:
        """The history without wall times: a checkpoint holds only what the seed determines, so two runs
        of one config and seed write identical files (``history.json`` keeps the times; a resumed run's
        history has none for the epochs before the resume)."""
        return [{k: v for k, v in r.items() if k != "time_s"} for r in self.history]

    def state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "global_step": self.global_step, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "history": self._timeless_history(), "best": self.best,
                "bad_epochs": self.bad_epochs, "best_epoch": self.best_epoch, "rng": rng_state(), "config": vars(self.cfg).copy()}

    def save(self, name: str = "last.pt") -> Path | None:
        path = None
        if self.out_dir is not None and self.dist.is_main:
            path = save_checkpoint(self.out_dir / name, self.model, self.normalizers, self.state(),
                                   extra={**self.metadata, "history": self._timeless_history()})
            write_json(self.out_dir / "history.json", self.history)
        D.barrier(self.dist)
        return path

    def resume(self, path: str | Path) -> None:
        """Restore model, optimiser, schedule, RNG and counters: training continues exactly."""
        ckpt = load_checkpoint(path, map_location=self.device)
        check_compatible(self.model, ckpt, str(path))
        if ckpt.get("trainer") is None:
            raise CheckpointError(f"{path} holds weights only (no trainer state); it cannot be resumed")
        try:
            self.model.load_state_dict(ckpt["state_dict"])
            st = ckpt["trainer"]
            self.optimizer.load_state_dict(st["optimizer"])
            self.scheduler.load_state_dict(st["scheduler"])
            self.epoch, self.global_step = st["epoch"], st["global_step"]
            self.history, self.best, self.bad_epochs = st["history"], st["best"], st["bad_epochs"]
            self.best_epoch = st.get("best_epoch", 0)
            set_rng_state(st["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a damaged or hand-edited file
            raise CheckpointError(f"{path} cannot be resumed: its trainer state is incomplete or damaged "
                                  f"({type(exc).__name__}: {exc}); start without --resume") from exc

    # ------------------------------------------------------------------ loop
    def fit(self, resume_from: str | Path | None = None, stop_after: int | None = None) -> list[dict[str, float]]:
        """Train until ``config.epochs`` (or early stopping); returns the per-epoch history.

        ``resume_from="auto"`` resumes from ``out_dir/last.pt`` when it exists. ``stop_after``
        pauses after that many epochs (checkpointed), as if the run had been interrupted.
        """
        if resume_from == "auto":
            auto = self.out_dir / "last.pt" if self.out_dir else None
            resume_from = auto if auto is not None and auto.exists() else None
        if resume_from is not None:
            self.resume(resume_from)
        show = self.cfg.progress and self.dist.is_main
        bar = progress(total=self.cfg.epochs, initial=self.epoch, desc=type(unwrap(self.net)).__name__,
                       unit="epoch", enabled=show)
        end = self.cfg.epochs if stop_after is None else min(stop_after, self.cfg.epochs)
        while self.epoch < end:
            t0, total, logs_sum = time.perf_counter(), 0.0, {}
            inner = progress(self._batches(), total=self.steps_per_epoch, level=1,
                             enabled=show and self.steps_per_epoch >= 20, desc=f"epoch {self.epoch + 1}")
            for batch in inner:
                loss, logs = self._step(batch)
                total += loss
                for k, v in logs.items():
                    logs_sum[k] = logs_sum.get(k, 0.0) + float(v)
                self.global_step += 1
                inner.set_postfix(loss=f"{loss:.3g}")
            mean = D.all_reduce_sum(torch.tensor([total / self.steps_per_epoch], device=self.device), self.dist)
            record = {"epoch": self.epoch + 1, "train_loss": float(mean) / self.dist.world_size,
                      "lr": self.optimizer.param_groups[0]["lr"]}
            record.update({k: v / self.steps_per_epoch for k, v in logs_sum.items()})
            record.update(self.validate())
            record["time_s"] = time.perf_counter() - t0
            self.history.append(record)
            self.epoch += 1
            stop = self._track_best(record)
            if self.epoch % self.cfg.checkpoint_every == 0 or self.epoch in (self.cfg.epochs, end) or stop:
                self.save("last.pt")
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k in ("train_loss", self.cfg.monitor)})
            if stop:
                break
        bar.close()
        return self.history

    def restore_best(self) -> int:
        """Load the weights of the best monitored epoch into the model; returns that epoch (1-based).

        Reads ``out_dir/best.pt`` (also after a resume in a new process), or without an ``out_dir`` the
        copy kept in memory.
        """
        if self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        elif self.out_dir is not None and (self.out_dir / "best.pt").exists():
            ckpt = load_checkpoint(self.out_dir / "best.pt", map_location=self.device)
            self.model.load_state_dict(ckpt["state_dict"])
            self.best_epoch = ckpt["trainer"]["epoch"]
        else:
            raise RuntimeError("restore_best: no epoch has been scored yet; call fit() first")
        return self.best_epoch

    def _track_best(self, record: dict[str, float]) -> bool:
        """Keep (and save as best.pt) the weights whenever the monitored value improves, strictly: ties
        keep the earlier epoch. True when early stopping triggers."""
        validated = any(k.startswith("val_") for k in record)  # without validation, train_loss is monitored
        if validated and self.cfg.monitor not in record:
            raise ConfigError(f"train.monitor {self.cfg.monitor!r} is not a logged value; pick one of "
                              f"{sorted(k for k in record if k not in ('epoch', 'lr', 'time_s'))}")
        value = record.get(self.cfg.monitor, record["train_loss"])
        if value < self.best:
            self.best, self.bad_epochs, self.best_epoch = value, 0, self.epoch
            if self.out_dir is None:  # with an out_dir, best.pt is the copy restore_best reads
                self._best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            self.save("best.pt")
        else:
            self.bad_epochs += 1
        patience = self.cfg.early_stopping_patience
        return patience is not None and self.bad_epochs >= patience

