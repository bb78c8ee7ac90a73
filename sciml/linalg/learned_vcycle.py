"""The learned V-cycle: sciml's multigrid hierarchy with smoother weights predicted by a network.

``Multigrid(op, smoother=net)`` asks the :class:`~sciml.models.mg_smoother.MGSmootherNet` for a
Jacobi weight per cell and level, once per matrix; the cycle then costs what the fixed one does.
Training (:func:`train_smoother`) uses DCDM's scale-invariant loss on the cycle's output,
``||b - A q (q^T b) / (q^T A q)||^2 / ||b||^2`` with ``q = V(b)``, as a log-ratio to the fixed
cycle's loss on the same ``b`` (high-contrast systems would otherwise dominate by orders of
magnitude; 0 is the fixed cycle, negative is better), over families of systems
(:mod:`sciml.linalg.families`), differentiating through a functional copy of the cycle.
:func:`load_shipped_smoother` gives the trained 2-D / 3-D nets in ``sciml/assets``.
"""
from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch

from sciml.linalg.families import FAMILIES, make_system
from sciml.linalg.multigrid import Multigrid
from sciml.linalg.smoother_weights import level_features
from sciml.linalg.stencil import GridOperator
from sciml.models import build_model, load_model
from sciml.train.checkpoint import save_checkpoint

SHIPPED = {2: "mg_smoother2d.pt", 3: "mg_smoother3d.pt"}


def load_shipped_smoother(dim: int, device="cpu") -> torch.nn.Module:
    """The trained smoother net for ``dim``-D grids shipped in ``sciml/assets`` (cached per device)."""
    return _shipped(dim, str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _shipped(dim: int, device: str) -> torch.nn.Module:
    with resources.as_file(resources.files("sciml") / "assets" / SHIPPED[dim]) as path:
        return load_model(path).to(device).eval()


# ---- a functional (autograd-friendly) copy of the cycle, for training ----

def functional_cycle(mg, weights: list[torch.Tensor], b: torch.Tensor) -> torch.Tensor:
    """The V-cycle of ``mg`` with per-level weight fields, without in-place buffers (differentiable
    in ``weights``); equals ``mg.vcycle`` when ``weights`` are those it uses (tested)."""
    def cycle(i, b):
        if i == len(mg.levels) - 1:
            return mg._coarse(b)
        lv = mg.levels[i]
        w = [torch.where(lv.active, f * weights[i] / lv.op.diag, 1.0 / lv.op.diag) for f in mg.schedule]
        x = w[0] * b
        for k in range(1, mg.sweeps):
            x = x + w[k] * (b - lv.op.apply(x))
        tr = lv.transfer
        x = x + tr.prolong_functional(cycle(i + 1, tr.restrict_functional(b - lv.op.apply(x))))
        for k in range(mg.sweeps):
            x = x + w[k] * (b - lv.op.apply(x))
        return x

    return cycle(0, b)


def dcdm_loss(op: GridOperator, q: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """DCDM's scale-invariant loss ``||b - A q (q^T b)/(q^T A q)||^2 / ||b||^2``."""
    Aq = op.apply(q)
    return (b - Aq * (q * b).sum() / (q * Aq).sum()).pow(2).sum() / b.pow(2).sum()


def energy_contraction(op: GridOperator, cycle, e: torch.Tensor, sweeps: int = 2) -> torch.Tensor:
    """``||E^k e||_A^2 / ||e||_A^2`` for the cycle's error propagation ``E = I - V A``, k = ``sweeps``:
    how much two V-cycles shrink an error, the quantity that sets MG-PCG's iteration count."""
    e0 = (e * op.apply(e)).sum()
    for _ in range(sweeps):
        e = e - cycle(op.apply(e))
    return (e * op.apply(e)).sum() / e0


def training_rhs(shape, rng: np.random.Generator, solid: np.ndarray) -> np.ndarray:
    """Half white noise, half smooth (a Gaussian-filtered field): both ends of the spectrum."""
    from scipy import ndimage

    white = rng.standard_normal(shape)
    smooth = ndimage.gaussian_filter(rng.standard_normal(shape), max(shape) / 8)
    b = (white / np.linalg.norm(white) + smooth / np.linalg.norm(smooth)) * ~solid
    return b / np.linalg.norm(b)


def train_smoother(dim: int, shapes, steps: int = 300, systems: int = 24, lr: float = 1e-3, seed: int = 0,
                   channels: int = 12, log_every: int = 50, objective: str = "energy", kernel: int = 1):
    """Train an :class:`MGSmootherNet` on random systems of every family (2-D or 3-D); returns
    ``(net, history)``. ``shapes``: grid shapes to draw systems on."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_model("mg_smoother", dim=dim, channels=channels, kernel=kernel)
    pool = []
    for s in range(systems):
        shape = shapes[s % len(shapes)]
        A, _, solid = make_system(FAMILIES[s % len(FAMILIES)], shape, seed=10_000 + s)
        op = GridOperator.from_csr(A, shape, dtype=torch.float32)
        mg = Multigrid(op, dtype=torch.float32)  # train in float32 on every family
        feats = [level_features(lv.op, lv.active)[None] for lv in mg.levels[:-1]]
        pool.append((mg, op, feats, solid))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    for step in range(steps):
        mg, op, feats, solid = pool[int(rng.integers(len(pool)))]
        b = torch.as_tensor(training_rhs(op.shape, rng, solid), dtype=torch.float32)
        weights = [net(f)[0, 0] for f in feats]
        with torch.no_grad():  # the fixed cycle's loss on the same b: puts every system on one scale
            base = dcdm_loss(op, mg.vcycle(b), b) if objective == "dcdm" else energy_contraction(op, mg.vcycle, b)
        if objective == "dcdm":
            loss = torch.log(dcdm_loss(op, functional_cycle(mg, weights, b), b) / base)
        else:
            loss = torch.log(energy_contraction(op, lambda r: functional_cycle(mg, weights, r), b) / base)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}: loss {np.mean(history[-log_every:]):.4f}", flush=True)
    return net.eval(), history


TRAIN_SHAPES = {2: [(48, 48), (64, 64), (40, 56)], 3: [(16, 16, 16), (24, 24, 24), (20, 18, 22)]}


def main(argv=None) -> int:
    """``python -m sciml.linalg.learned_vcycle --dim 3 --steps 3000 --lr 3e-3``: train and ship a smoother net."""
    import argparse
    from pathlib import Path


    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--dim", type=int, choices=(2, 3), required=True)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--systems", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kernel", type=int, choices=(1, 3), default=1, help="1: per-cell MLP; 3: convolutions")
    p.add_argument("--objective", choices=("energy", "dcdm"), default="energy")
    p.add_argument("--dest", default=None, help="default: sciml/assets/mg_smoother{2,3}d.pt")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    net, hist = train_smoother(a.dim, TRAIN_SHAPES[a.dim], steps=a.steps, systems=a.systems, seed=a.seed,
                               lr=a.lr, objective=a.objective, kernel=a.kernel)
    dest = Path(a.dest) if a.dest else Path(__file__).resolve().parents[1] / "assets" / SHIPPED[a.dim]
    tail = float(np.mean(hist[-50:]))
    save_checkpoint(dest, net, extra={"objective": a.objective, "steps": a.steps, "systems": a.systems, "lr": a.lr, "kernel": a.kernel,
                                      "seed": a.seed, "final_log_ratio": tail})
    print(f"wrote {dest} (mean log-ratio over the last 50 steps {tail:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
