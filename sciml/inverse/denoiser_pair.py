"""An LPN and a DnCNN trained as a pair: same patches, same noise, one preset, checkpoints with provenance.

``sciml bench lpn`` compares the two denoisers inside plug-and-play; the nets it trains with
``--preset gpu`` ship as :mod:`sciml.inverse.pretrained`. A preset is a plain dict (see
``sciml.bench.lpn.PRESETS``): :data:`NET_KEYS` fix the nets and their data, ``l1_steps`` /
``pm_steps`` / ``dncnn_steps`` (or ``train_budget_s`` with ``pm_fraction``) their training, ``batch``
the batch size. Each checkpoint's ``extra["provenance"]`` records data, steps, seconds, hardware
and command, and a checkpoint is only reused by a preset with the same :data:`NET_KEYS`.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from sciml.errors import ConfigError
from sciml.inverse.images import TRAIN_IMAGES, sample_patches
from sciml.inverse.matching import DenoisingObjective
from sciml.inverse.denoiser_training import steps_in_budget, train_lpn, train_steps
from sciml.models import build_model, load_model
from sciml.train.checkpoint import load_checkpoint, save_checkpoint
from sciml.utils.device import sync

# the preset keys that fix the nets' architecture and training; saved nets must match them to be reused
NET_KEYS = ("n_patches", "res", "lpn_hidden", "lpn_layers", "lpn_strides", "dncnn_hidden", "dncnn_depth",
            "sigma_train", "padding")


def build_nets(cfg: dict):
    """The preset's untrained LPN and DnCNN (registered models, so their checkpoints rebuild them)."""
    lpn = build_model("lpn", hidden=cfg["lpn_hidden"], layers=cfg.get("lpn_layers", 4), strides=cfg.get("lpn_strides"),
                      beta=10.0, alpha=0.01, padding_mode=cfg["padding"])
    return lpn, build_model("dncnn", hidden=cfg["dncnn_hidden"], depth=cfg["dncnn_depth"])


def train_nets(lpn, dncnn, cfg: dict, seed: int, device: str, command: str, device_text: str) -> dict:
    """Train both nets on the same patches; with ``train_budget_s`` each gets about that many seconds, its
    step count sized before it starts (:func:`steps_in_budget`). Fills the step counts into ``cfg``;
    returns each net's provenance record (plain types, stored in its checkpoint). ``command`` and
    ``device_text`` are recorded as given (the command line and hardware that trained the nets)."""
    patches = torch.tensor(sample_patches(cfg["n_patches"], cfg["res"], "train", seed=seed))[:, None]
    dn_obj = lambda s: DenoisingObjective(patches, cfg["sigma_train"], "l2", cfg["batch"], seed=s)  # noqa: E731
    if cfg.get("train_budget_s"):
        total = steps_in_budget(lpn, DenoisingObjective(patches, cfg["sigma_train"], "l1", cfg["batch"], seed=seed + 99),
                                cfg["train_budget_s"], 1e-3, device)
        cfg["pm_steps"] = int(round(total * cfg["pm_fraction"]))
        cfg["l1_steps"] = total - cfg["pm_steps"]
        cfg["dncnn_steps"] = steps_in_budget(dncnn, dn_obj(seed + 99), cfg["train_budget_s"], 1e-3, device)
    cfg.setdefault("dncnn_steps", cfg["l1_steps"] + cfg["pm_steps"])
    print(f"training LPN {cfg['l1_steps']} l1 + {cfg['pm_steps']} pm steps, DnCNN {cfg['dncnn_steps']} steps "
          f"on {device}", flush=True)
    common = {"seed": seed, "device": device_text, "torch": str(torch.__version__), "command": command,
              "net_cfg": {k: cfg.get(k) for k in NET_KEYS},
              "data": f"{cfg['n_patches']} random {cfg['res']}x{cfg['res']} crops (with flips) of the skimage "
                      f"training images {', '.join(TRAIN_IMAGES)} + sklearn digits 0-1499 (10 %), noise std "
                      f"{cfg['sigma_train']}; sciml.inverse.images.sample_patches(seed={seed})"}
    t0 = time.perf_counter()
    train_lpn(lpn, patches, cfg["sigma_train"], cfg["l1_steps"], cfg["pm_steps"], cfg["batch"], device=device, seed=seed)
    sync(device)
    t_lpn = time.perf_counter() - t0
    train_steps(dncnn, dn_obj(seed), cfg["dncnn_steps"], 1e-3, device, seed, scheduler="cosine")
    sync(device)
    t_dn = time.perf_counter() - t0 - t_lpn
    return {"lpn": {**common, "train_s": t_lpn, "l1_steps": cfg["l1_steps"], "pm_steps": cfg["pm_steps"]},
            "dncnn": {**common, "train_s": t_dn, "dncnn_steps": cfg["dncnn_steps"]}}


def save_nets(folder: str, nets: dict, provenance: dict) -> None:
    """Write each net as a sciml checkpoint ``folder/NAME.pt`` (CPU tensors) carrying its provenance record."""
    for name, net in nets.items():
        device = next(net.parameters()).device
        save_checkpoint(Path(folder) / f"{name}.pt", net.cpu(), extra={"provenance": provenance[name]})
        net.to(device)


def load_nets(paths: dict, cfg: dict) -> tuple[dict, dict]:
    """Load checkpoints ``{name: path}`` trained with this preset's nets; returns (nets, provenance per net)
    and sets the step counts in ``cfg`` to those the nets were trained with."""
    nets, prov = {}, {}
    want = _net_cfg(cfg)
    for name, path in paths.items():
        prov[name] = load_checkpoint(path, expected_model=name)["extra"].get("provenance", {})
        got = _net_cfg(prov[name].get("net_cfg", {}))
        if got != want:
            raise ConfigError(f"{path} was trained with other nets or data ({got}) than this preset ({want}); "
                              "pick the --preset it was trained with")
        nets[name] = load_model(str(path))
        for key in ("l1_steps", "pm_steps", "dncnn_steps"):
            cfg[key] = prov[name].get(key, cfg.get(key))
    return nets, prov


def _net_cfg(cfg: dict) -> dict:
    """The :data:`NET_KEYS` of ``cfg``, tuples as lists (a checkpoint may hold either)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, cfg.get(k)) for k in NET_KEYS)}
