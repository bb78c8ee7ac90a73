"""The inverse-problem recipes: train a learned image prior, restore images with plug-and-play, and the 1-D toy.

``denoiser`` trains an LPN or a DnCNN on natural-image patches (checkpoint ``KIND.pt``); its evaluator
scores the denoiser alone on held-out patches and, for an LPN, the learned regulariser against the noise.
``restoration`` measures one PnP-ADMM restoration task with one prior (tuned on validation crops, scored on
held-out test crops; artefact ``restoration.json``, naming the recipe and the images in ``restoration.nc``
beside it); a learned prior is a ``denoiser`` checkpoint, which the
run trains first when the spec says how (``prior_training``) and the file is not there yet, so every spec
runs alone. ``laplace_toy`` trains the paper's 1-D Laplacian toy LPN with one loss (checkpoint ``toy_lpn.pt``)
and scores it against the exact MAP, MMSE and median denoisers. The defaults are what ``sciml bench lpn``
measures. Specs (``sciml bench lpn --dry-run`` prints the benchmark's)::

    recipe: denoiser
    name: denoise-lpn-s0
    out_dir: runs/lpn/denoise-lpn-s0
    model: {name: lpn}
    ---
    recipe: restoration
    name: deblur_noise0.02-lpn-s0
    out_dir: runs/lpn/deblur_noise0.02-lpn-s0
    params: {task: deblur_noise0.02, method: lpn, prior: denoise-lpn-s0/lpn.pt, prior_training: {model: {name: lpn}}}
"""
from __future__ import annotations

import inspect
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from sciml.config import ConfigPath, check_bounds, check_call
from sciml.data.io import open_dataset, save_dataset
from sciml.errors import ConfigError
from sciml.inverse.image_priors import (DENOISE_LEVELS, PriorSteps, build_prior, data_note, heldout_denoising,
                                        plan_steps, prior_setup, prior_vs_noise, train_prior)
from sciml.inverse.images import sample_patches
from sciml.inverse.metrics import psnr, ssim
from sciml.inverse.restoration import LEARNED, restore_test_images
from sciml.inverse.toy import TOY_Y, evaluate_toy, posterior_stats, soft_threshold, toy_errors, toy_regulariser, \
    train_toy
from sciml.models import load_model, model_from_checkpoint
from sciml.recipes import register_recipe
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.train.seed import seed_everything
from sciml.utils.files import write_json


def _no_data(data: Path | None, what: str) -> None:
    if data is not None:
        raise ConfigError(f"a {what} is scored on the held-out data its run defines; give no data file")


# ---------------------------------------------------------------- denoiser: train one learned image prior
def evaluate_denoiser(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of an ``lpn``/``dncnn`` checkpoint: held-out denoising PSNR at each of :data:`DENOISE_LEVELS`
    (``psnr_db_noiseS``, and the noisy input's ``input_psnr_db_noiseS``) on 64 patches of the run's size, the
    training steps and seconds; for an LPN the mean learned R at each noise level (``prior_r_noiseS``) and
    ``prior_rises`` (1 if R grows strictly with the noise, NaN if an R is NaN). Also reads the shipped nets
    (:mod:`sciml.inverse.pretrained`). Writes ``out_dir/eval.json``."""
    _no_data(data, "denoiser")
    ckpt = load_checkpoint(checkpoint)
    kind, extra, setup = ckpt["model"]["name"], ckpt.get("extra", {}), prior_setup(ckpt.get("extra", {}))
    model = model_from_checkpoint(ckpt, checkpoint)
    denoised = heldout_denoising(model, setup["res"], setup["seed"])
    noisy = heldout_denoising(None, setup["res"], setup["seed"])
    attrs: dict[str, Any] = {f"psnr_db_noise{s:g}": v for s, v in denoised.items()}
    attrs.update({f"input_psnr_db_noise{s:g}": v for s, v in noisy.items()})
    attrs.update({k: float(v) for k, v in extra.get("steps", {}).items()})
    if "train_s" in extra:
        attrs["train_s"] = float(extra["train_s"])
    prior = prior_vs_noise(model, setup["res"], setup["seed"]) if kind == "lpn" else {}
    if prior:
        attrs.update({f"prior_r_noise{s:g}": v for s, v in prior.items()})
        steps = np.diff(list(prior.values()))  # a NaN R (f(y) = x unsolvable) leaves the answer unknown: NaN
        attrs["prior_rises"] = float(bool(np.all(steps > 0))) if np.isfinite(steps).all() else float("nan")
    write_json(Path(out_dir) / "eval.json", {"kind": kind, "scores": attrs, "training": extra.get("training", {}),
                                             "seed": setup["seed"], "prior_vs_noise": [[s, r] for s, r in prior.items()]})
    level = xr.DataArray(list(DENOISE_LEVELS), dims="noise", attrs={"units": "1", "long_name": "noise std"})
    return xr.Dataset({"psnr_db": ("noise", [denoised[s] for s in DENOISE_LEVELS], {"units": "dB"}),
                       "input_psnr_db": ("noise", [noisy[s] for s in DENOISE_LEVELS], {"units": "dB"})},
                      coords={"noise": level}, attrs={**attrs, "kind": kind})


@register_recipe("denoiser", evaluate=evaluate_denoiser)
def run_denoiser(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "cpu",
                 model: dict[str, Any] | None = None, n_patches: int = 2000, res: int = 32, sigma_train: float = 0.05,
                 batch_size: int = 16, l1_steps: int = 2000, pm_steps: int = 500, mse_steps: int | None = None,
                 budget_s: float | None = None, pm_fraction: float = 0.2) -> Path:
    """Train a learned image prior (LPN or DnCNN) on natural-image patches; writes ``out_dir/KIND.pt``.

    ``model``: ``{name: lpn | dncnn, **options}`` (missing options: the 16-channel nets of
    :data:`~sciml.inverse.image_priors.DEFAULT_NETS`). Data: ``n_patches`` ``res x res`` training crops
    (``seed``) with fresh noise of std ``sigma_train``; batches of ``batch_size``. LPN: ``l1_steps`` l1 then
    ``pm_steps`` proximal-matching steps; DnCNN: ``mse_steps`` MSE steps (None: ``l1_steps + pm_steps``, the
    same number of optimiser steps). ``budget_s``: size the steps to about that many seconds instead
    (``pm_fraction`` of the LPN's to proximal matching)."""
    if resume:
        raise ConfigError("recipe 'denoiser' cannot resume; rerun it")
    training = denoiser_settings({"model": model, "n_patches": n_patches, "res": res, "sigma_train": sigma_train,
                                  "batch_size": batch_size, "l1_steps": l1_steps, "pm_steps": pm_steps,
                                  "mse_steps": mse_steps, "budget_s": budget_s, "pm_fraction": pm_fraction})
    net, kind = build_prior(training["model"]), training["model"]["name"]
    patches = torch.tensor(sample_patches(n_patches, res, "train", seed=seed))[:, None]
    asked = PriorSteps(l1_steps, pm_steps, l1_steps + pm_steps if mse_steps is None else mse_steps)
    steps = plan_steps(net, kind, patches, sigma_train, batch_size, asked, budget_s, pm_fraction, seed, device)
    train_s = train_prior(net, kind, patches, sigma_train, batch_size, steps, seed, device)
    steps_done = {"l1_steps": steps.l1, "pm_steps": steps.pm} if kind == "lpn" else {"mse_steps": steps.mse}
    provenance = {"device": _device_text(device), "torch": str(torch.__version__), "seed": seed,
                  "data": data_note(n_patches, res, sigma_train, seed)}
    extra = {"recipe": "denoiser", "training": training, "seed": seed, "steps": steps_done, "train_s": train_s,
             "provenance": provenance}
    return save_checkpoint(Path(out_dir) / f"{kind}.pt", net.cpu(), extra=extra)


def _device_text(device: str) -> str:
    """The hardware that trained a net, in words (recorded in its provenance)."""
    if torch.device(device).type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(torch.device(device))}"
    return f"{torch.device(device).type} ({platform.processor() or platform.machine()})"


# ---------------------------------------------------------------- restoration: PnP-ADMM with one prior
def denoiser_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The ``denoiser`` recipe's parameters ``params`` (checked, as in a spec) completed with its defaults, as
    plain JSON values: what a prior checkpoint records as its ``training``, and what two runs compare."""
    fixed = ("out_dir", "resume", "seed", "device")
    if set(fixed) & set(params):
        raise ConfigError(f"prior_training: {sorted(set(fixed) & set(params))} come from the restoration spec itself; "
                          "remove them")
    checked = check_call(run_denoiser, {k: v for k, v in params.items() if v is not None}, where="prior_training")
    settings = {k: p.default for k, p in inspect.signature(run_denoiser).parameters.items() if k not in fixed}
    settings.update(checked)
    settings["model"] = {"name": "lpn", **(settings["model"] or {})}
    _check_denoiser_counts(settings)
    return json.loads(json.dumps(settings))


def _check_denoiser_counts(settings: dict[str, Any]) -> None:
    """ConfigError unless the patch, batch and step counts, the noise and the budget split can train a prior
    (a negative step count trained nothing without a word; no patches or batch size 0 failed inside torch)."""
    check_bounds(settings, {"n_patches": 1, "res": 4, "batch_size": 1, "l1_steps": 0, "pm_steps": 0, "mse_steps": 0,
                            "sigma_train": 0.0, "budget_s": 0.0, "pm_fraction": 0.0}, {"pm_fraction": 1.0},
                 where="denoiser")


def resolve_prior(method: str, prior: str | None, prior_training: dict[str, Any] | None, seed: int,
                  device: str) -> torch.nn.Module | None:
    """The learned prior of ``method`` (None for tv/bm3d): the checkpoint ``prior``, trained there first with
    the ``denoiser`` recipe's ``prior_training`` parameters (and ``seed``) when the file does not exist yet. A
    checkpoint trained otherwise than ``prior_training`` says is refused, never silently reused."""
    if method not in LEARNED:
        if prior is not None or prior_training is not None:
            raise ConfigError(f"method {method!r} uses no learned prior; remove prior and prior_training")
        return None
    if prior is None:
        raise ConfigError(f"method {method!r} restores with a learned prior: give prior (a denoiser checkpoint)")
    path = Path(prior)
    training = denoiser_settings(prior_training) if prior_training is not None else None
    if not path.exists() and training is not None:
        if path.name != f"{method}.pt":
            raise ConfigError(f"prior {prior!r}: the denoiser recipe writes {method}.pt; name the file so")
        if training["model"]["name"] != method:
            raise ConfigError(f"prior_training.model.name must be {method!r} for method {method!r}")
        seed_everything(seed)  # the same initial weights as the denoiser run of this seed
        run_denoiser(path.parent, seed=seed, device=device, **prior_training)
    extra = load_checkpoint(path, expected_model=method).get("extra", {})
    if training is not None and (extra.get("training") != training or extra.get("seed") != seed):
        raise ConfigError(f"prior {prior!r} was trained otherwise than prior_training says (seed {seed}); "
                          "delete it to retrain it, or point prior elsewhere")
    return load_model(str(path), map_location=device).to(device).eval()


def evaluate_restoration(artefact: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of a restoration run (its ``restoration.json``, or the ``restoration.nc`` it names): per test
    image PSNR and SSIM of the restoration against the truth (:mod:`sciml.inverse.metrics`) and the
    restoration's wall time; attrs: their means (``wall_s``: the median seconds per image), the tuned
    ``strength`` and ``iters``."""
    _no_data(data, "restoration")
    artefact = Path(artefact)
    if artefact.suffix == ".json":
        artefact = artefact.parent / json.loads(artefact.read_text())["images"]
    with open_dataset(artefact) as stored:
        ds = stored.load()
    restored, truth = ds["restored"].values, ds["truth"].values
    p = np.array([psnr(a, b) for a, b in zip(restored, truth)])
    s = np.array([ssim(a, b) for a, b in zip(restored, truth)])
    out = xr.Dataset({"psnr_db": ("sample", p, {"units": "dB", "long_name": "PSNR, peak 1"}),
                      "ssim": ("sample", s, {"units": "1", "long_name": "structural similarity, peak 1"})},
                     coords={"sample": ds["sample"].values})
    out.attrs = {"task": ds.attrs["task"], "method": ds.attrs["method"], "psnr_db": float(p.mean()),
                 "ssim": float(s.mean()), "wall_s": float(np.median(ds["seconds"].values)),
                 "strength": float(ds.attrs["strength"]), "iters": int(ds.attrs["iters"])}
    return out


@register_recipe("restoration", evaluate=evaluate_restoration)
def run_restoration(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "cpu",
                    task: str = "deblur_noise0.02", method: str = "lpn", prior: ConfigPath | None = None,
                    prior_training: dict[str, Any] | None = None, size: int = 48, ct_angles: int = 20,
                    iter_grid: tuple[int, ...] = (10, 20, 30), bm3d_iters: int = 4,
                    strengths: list[float] | None = None) -> Path:
    """Restore held-out images with PnP-ADMM and one prior, tuned on validation crops; writes ``restoration.json``.

    ``task``: deblur_noise0.02 / deblur_noise0.04 (Gaussian blur, sigma 1 px) or ct_sparse (``ct_angles``
    views), on ``size x size`` crops. ``method``: lpn, dncnn (``prior``: their denoiser checkpoint;
    ``prior_training``: the denoiser recipe's parameters that make it, run first if the file is missing), tv
    or bm3d (``bm3d_iters`` iterations, one setting). Strength (``strengths``, None: the task's grid) and the
    iteration count (``iter_grid``) are chosen on the validation crops' mean PSNR. ``seed``: the noise draw.
    The images (test crops, measurements, restorations) and per-image times go to ``restoration.nc``; the
    returned ``restoration.json`` names the recipe (so ``sciml evaluate`` scores it) and the settings."""
    if resume:
        raise ConfigError("recipe 'restoration' cannot resume; rerun it (a run takes seconds)")
    model = resolve_prior(method, prior, prior_training, seed, device)
    ds = restore_test_images(task, method, model, size, ct_angles, tuple(iter_grid), bm3d_iters, strengths, seed,
                             device)
    settings = {"task": task, "method": method, "size": size, "ct_angles": ct_angles, "iter_grid": list(iter_grid),
                "bm3d_iters": bm3d_iters, "seed": seed, "prior": str(prior or "")}
    ds.attrs.update({k: v for k, v in settings.items() if k not in ds.attrs})
    images = save_dataset(ds, Path(out_dir) / "restoration.nc", overwrite=True)
    return write_json(Path(out_dir) / "restoration.json", {"recipe": "restoration", "images": images.name,
                                                           "settings": settings, "tuned": {
                                                               "strength": ds.attrs["strength"],
                                                               "iters": ds.attrs["iters"]}})


# ---------------------------------------------------------------- laplace_toy: the paper's 1-D toy
def evaluate_laplace_toy(checkpoint: Path, data: Path | None, out_dir: Path) -> xr.Dataset:
    """Scores of a toy LPN: max |f(y) - truth| over |y| <= 3 against soft-thresholding (the MAP denoiser),
    the posterior mean and median (``max_err_soft`` / ``_mmse`` / ``_median``), the fitted threshold
    ``lambda`` (MAP: 1), and ``r_max_err``, the learned R against the MAP prior's |x| on [-3, 3] (both zero at
    0). Writes ``out_dir/eval.json`` with the curves."""
    _no_data(data, "toy LPN")
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt, checkpoint)
    f = evaluate_toy(model, TOY_Y)
    xs, r = toy_regulariser(model)
    scores = {**toy_errors(f), "r_max_err": float(np.abs(r - np.abs(xs)).max())}
    mean, median = posterior_stats(TOY_Y)
    write_json(Path(out_dir) / "eval.json", {
        "loss": ckpt["extra"].get("loss"), "scores": scores,
        "y": TOY_Y.tolist(), "f": f.tolist(), "soft": soft_threshold(TOY_Y).tolist(), "mmse": mean.tolist(),
        "median": median.tolist(), "r_x": xs.tolist(), "r": r.tolist()})
    return xr.Dataset({"f": ("y", f, {"units": "1", "long_name": "learned denoiser f(y)"})},
                      coords={"y": TOY_Y}, attrs=scores)


TOY_LOSSES = ("l2", "l1", "prox_matching")  # the losses the 1-D toy compares


@register_recipe("laplace_toy", evaluate=evaluate_laplace_toy)
def run_laplace_toy(out_dir: Path, resume: bool = False, seed: int = 0, device: str = "cpu",
                    loss: str = "prox_matching", steps: int = 500, batch_size: int = 2000, hidden: int = 50,
                    layers: int = 4, beta: float = 10.0, gamma: tuple[float, float] = (0.5, 0.1),
                    lr: float = 5e-3) -> Path:
    """The 1-D Laplacian toy of Fang et al.: a dense LPN trained with one loss; writes ``out_dir/toy_lpn.pt``.

    ``loss``: l2, l1 or prox_matching, on x ~ Laplace(1), y = x + N(0, 1); ``steps`` Adam steps on batches of
    ``batch_size`` fresh draws (see :func:`~sciml.inverse.toy.train_toy`). Trained on the CPU: a 50-wide net."""
    if resume:
        raise ConfigError("recipe 'laplace_toy' cannot resume; rerun it (a run takes seconds)")
    if loss not in TOY_LOSSES:
        raise ConfigError(f"loss must be {', '.join(TOY_LOSSES)}, got {loss!r}")
    model = train_toy(loss, steps=steps, batch_size=batch_size, seed=seed, hidden=hidden, layers=layers, beta=beta,
                      gamma=tuple(gamma), lr=lr)
    extra = {"recipe": "laplace_toy", "loss": loss, "steps": steps, "seed": seed}
    return save_checkpoint(Path(out_dir) / "toy_lpn.pt", model, extra=extra)
