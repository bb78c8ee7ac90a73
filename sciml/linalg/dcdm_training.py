"""DCDM training data (Ritz vectors of random obstacle problems) and its scale-invariant loss."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from sciml.config import ConfigPath
from sciml.data import make_dataset, open_dataset, save_dataset
from sciml.data.params import Choice, Int, Real
from sciml.data.registry import make_or_reuse, register_dataset
from sciml.linalg.lanczos import biased_rhs, ritz_pairs
from sciml.models import build_model, load_model
from sciml.models.dcdm import rebuild
from sciml.pde.poisson import (apply_poisson, box_obstacles, fill_enclosed, poisson_matrix, random_obstacles,
                               sphere_obstacles)
from sciml.train import TrainConfig, Trainer
from sciml.train.checkpoint import save_checkpoint
from sciml.utils.progress import progress

OPEN_FACES = ("y+",)


def mixed_obstacles(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Training geometries with more variety than :func:`random_obstacles`: none, 1-4 boxes, 1-4 spheres,
    or both, with wider size ranges. Never pillars/porous media (the benchmark's unseen shapes)."""
    kind = rng.integers(4)
    solid = np.zeros(shape, dtype=bool)
    if kind in (1, 3):
        solid |= box_obstacles(shape, int(rng.integers(1, 5)), size=(0.05, 0.35), rng=rng)
    if kind in (2, 3):
        solid |= sphere_obstacles(shape, int(rng.integers(1, 5)), radius=(0.05, 0.22), rng=rng)
    return fill_enclosed(solid, OPEN_FACES)  # overlapping shapes can enclose fluid: make it solid


@register_dataset("dcdm_ritz", res=Int(ge=8), geometries=Int(ge=1), lanczos_steps=Int(ge=1),
                  low_fraction=Real(ge=0, le=1), low_weight=Real(gt=0), obstacles=Choice("simple", "mixed"))
def make_dcdm_ritz(n: int = 1200, res: int = 16, seed: int = 0, geometries: int = 24, lanczos_steps: int = 300,
                   low_fraction: float = 0.55, low_weight: float = 9.0, obstacles: str = "simple") -> xr.Dataset:
    """``n`` right-hand sides ``b`` over ``geometries`` random obstacle layouts on a ``res^3`` grid.

    Per geometry: Lanczos (full reorthogonalisation, started from A N(0, I)) gives Ritz vectors;
    ``b = sum c_j y_j`` with the low end of the spectrum weighted ``low_weight``. Variables ``b`` and
    ``solid`` (sample, z, y, x). ``obstacles``: "simple" (:func:`random_obstacles`) or "mixed"
    (:func:`mixed_obstacles`).
    """
    rng = np.random.default_rng(seed)
    shape = (res,) * 3
    per = int(np.ceil(n / geometries))
    bs, solids = [], []
    for _ in progress(range(geometries), desc="lanczos", unit="geometry"):
        solid = random_obstacles(shape, rng) if obstacles == "simple" else mixed_obstacles(shape, rng)
        A = poisson_matrix(solid, OPEN_FACES)
        v0 = A @ (rng.standard_normal(A.shape[0]) * ~solid.ravel())
        _, Y = ritz_pairs(lambda v: A @ v, v0, min(lanczos_steps, int((~solid).sum())))
        b = biased_rhs(Y, per, low_fraction, low_weight, rng) * ~solid.ravel()
        bs.append(b.reshape(per, *shape)), solids.append(np.broadcast_to(solid, (per, *shape)))
    dims = ("sample", "z", "y", "x")
    return xr.Dataset(
        {"b": (dims, np.concatenate(bs)[:n].astype(np.float32), {"units": "1", "long_name": "right-hand side (unit norm)"}),
         "solid": (dims, np.concatenate(solids)[:n].astype(np.uint8), {"units": "1", "long_name": "obstacle mask"})},
        attrs={"title": "DCDM training vectors: spectrum-biased combinations of Ritz vectors", "open_faces": "y+"})


class RitzDataset(torch.utils.data.Dataset):
    """Items ``(b: (1, z, y, x), solid: (z, y, x))`` from a ``dcdm_ritz`` Dataset."""

    def __init__(self, ds: xr.Dataset):
        self.b = torch.as_tensor(ds["b"].values)
        self.solid = torch.as_tensor(ds["solid"].values).bool()

    def __len__(self) -> int:
        return self.b.shape[0]

    def __getitem__(self, i):
        return self.b[i][None], self.solid[i]


def dcdm_loss(model: torch.nn.Module, batch) -> torch.Tensor:
    """Mean over the batch of ``||b - A q (q^T b) / (q^T A q)||^2`` with ``q = f(b)``: invariant to q's scale."""
    return line_search_residuals(model, batch).mean().float()


def line_search_residuals(model: torch.nn.Module, batch) -> torch.Tensor:
    """Per sample, shape ``(B,)`` (float64): ``||b - A q (q^T b) / (q^T A q)||^2`` with ``q = f(b)``, the squared
    residual left by one exact line search along the net's direction (for a unit-norm ``b``, as the Ritz
    vectors are, 1 means no progress)."""
    b, solid = batch
    fluid = (~solid).to(b.dtype)[:, None]
    inp = torch.cat([b, fluid], 1) if getattr(model, "use_mask", getattr(getattr(model, "module", None), "use_mask", False)) else b
    q = (model(inp) * fluid)[:, 0].double()
    bb = b[:, 0].double()
    Aq = apply_poisson(q, solid, OPEN_FACES)
    dims = tuple(range(1, q.ndim))
    coef = (q * bb).sum(dims) / (q * Aq).sum(dims).clamp_min(1e-30)
    return ((bb - coef.view(-1, *[1] * (q.ndim - 1)) * Aq) ** 2).sum(dims)


def train_dcdm(out_dir: str = "runs/dcdm", n: int = 1200, res: int = 16, geometries: int = 24, epochs: int = 10,
               batch_size: int = 16, lr: float = 1e-3, channels: int = 16, blocks: int = 2,
               coarse_blocks: int | None = None, lanczos_steps: int = 300, init: ConfigPath | None = None,
               seed: int = 0, device: str = "auto", resume: bool = False, obstacles: str = "simple",
               wide: list[int] | None = None, data: ConfigPath | None = None, residuals: dict | None = None,
               zero_offset: bool | None = None):
    """Generate Ritz training vectors and train the ``dcdm`` net; returns the best checkpoint's path.

    Training goes through the shared Trainer; ``sciml train examples/configs/dcdm_train.yaml`` runs this.

    ``init``: a ``dcdm`` checkpoint to start from (its architecture is used; e.g. a 16^3 stage before a
    32^3 stage, see docs/dcdm.md). ``wide``: add zero-initialised dilated coarse blocks (ADR 0095) to
    the architecture (of ``init`` if given: its weights are kept, so training starts from its output).
    ``data``: an existing ``dcdm_ritz`` file to reuse instead of generating one. ``residuals``: parameters
    of a ``dcdm_residuals`` dataset (the solver's own residuals with ``init``'s net, ADR 0096), mixed
    with the Ritz vectors and shuffled before the 90/10 split. ``zero_offset``: train ``body(b) - body(0)``
    (ADR 0096); with ``init`` its weights are kept."""
    from pathlib import Path


    out = Path(out_dir)
    data_path = Path(data) if data else out / "ritz.nc"
    if data and data_path.exists():  # the caller's own file
        ds = open_dataset(data_path).load()
    else:  # generated, reused only while its recorded parameters match these
        ds = make_or_reuse(data_path, "dcdm_ritz", n=n, res=res, seed=seed, resume=resume, geometries=geometries,
                           lanczos_steps=lanczos_steps, obstacles=obstacles)
    torch.manual_seed(seed)
    if init:
        model = load_model(init)
        if wide or zero_offset is not None:
            grow = ({"wide": list(wide)} if wide else {}) | ({} if zero_offset is None else {"zero_offset": zero_offset})
            model = rebuild(model, **grow)
    else:
        model = build_model("dcdm", dim=3, channels=channels, blocks=blocks, coarse_blocks=coarse_blocks,
                            wide=list(wide or []), zero_offset=bool(zero_offset))
    if residuals:  # the solver's own residuals with the starting net (as grown/flagged above), ADR 0096
        import xarray as xr


        res_path = out / "residuals.nc"
        if not res_path.exists():
            save_checkpoint(out / "start.pt", model)
            save_dataset(make_dataset("dcdm_residuals", **{"model": str(out / "start.pt"), **residuals}), res_path)
        both = xr.concat([ds[["b", "solid"]], open_dataset(res_path).load()[["b", "solid"]]], "sample")
        ds = both.isel(sample=np.random.default_rng(seed).permutation(both.sizes["sample"]))
    split = int(0.9 * ds.sizes["sample"])
    held_out = {"held_out_path": str(data_path), "held_out_from": split}  # what `sciml evaluate` scores
    if residuals:  # the shuffled mixture's tail is no tail of one file: keep it beside the checkpoints
        held_out = {"held_out_path": str(save_dataset(ds.isel(sample=slice(split, None)), out / "held_out.nc")),
                    "held_out_from": 0}
    train, val = RitzDataset(ds.isel(sample=slice(0, split))), RitzDataset(ds.isel(sample=slice(split, None)))
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", scheduler="cosine",
                      grad_clip=1.0, seed=seed, device=device)
    Trainer(model, cfg, train, val, compute_loss=dcdm_loss, out_dir=out,
            metadata={"recipe": "dcdm", "data_path": str(data_path), **held_out}).fit(resume_from="auto" if resume else None)
    return out / "best.pt"
