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
from sciml.linalg.multigrid import Multigrid, step_inverse_diagonals
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

def functional_cycle(mg, weights: list[torch.Tensor], b: torch.Tensor,
                     corrections: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The V-cycle of ``mg`` with per-level smoother weight fields (and coarse-correction weight
    fields for every transfer but the last, as :class:`Multigrid` applies them), without in-place
    buffers: differentiable in both. Equals ``mg.vcycle`` for the weights it uses (tested). ``mg``: a
    hierarchy with rediscretised coarse operators (its Galerkin operators would depend on the
    correction weights through a product this copy does not differentiate)."""
    if mg.coarse != "rediscretised":
        raise ValueError("functional_cycle needs Multigrid(..., coarse='rediscretised')")
    last = len(mg.levels) - 2

    def cycle(i, b):
        if i == len(mg.levels) - 1:
            return mg._coarse(b)
        lv = mg.levels[i]
        w = step_inverse_diagonals(lv.op, lv.active, weights[i], mg.schedule)
        x = w[0] * b
        for k in range(1, mg.sweeps):
            x = x + w[k] * (b - lv.op.apply(x))
        tr = lv.transfer
        mask = None if corrections is None or i == last else lv.active * corrections[i]
        x = x + tr.prolong_functional(cycle(i + 1, tr.restrict_functional(b - lv.op.apply(x), mask)), mask)
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


def condition_estimate(op: GridOperator, cycle, b: torch.Tensor, steps: int = 12) -> torch.Tensor:
    """``lambda_max / lambda_min`` of ``M^-1 A`` (``M^-1`` = ``cycle``) estimated from ``steps``
    iterations of PCG from ``b``: PCG's step lengths and ratios give Lanczos' tridiagonal matrix,
    whose extreme eigenvalues converge first. The condition number sets MG-PCG's iteration count
    (about its square root), so this is the objective that counts; differentiable in the cycle."""
    r, z = b, cycle(b)
    p, rz = z, (b * z).sum()
    alpha, beta = [], []
    for _ in range(steps):
        Ap = op.apply(p)
        a = rz / (p * Ap).sum()
        r = r - a * Ap
        z = cycle(r)
        rz_next = (r * z).sum()
        alpha.append(a)
        beta.append(rz_next / rz)
        rz, p = rz_next, z + (rz_next / rz) * p
    diag = torch.stack([1 / alpha[0]] + [1 / alpha[j] + beta[j - 1] / alpha[j - 1] for j in range(1, steps)])
    off = torch.stack([torch.sqrt(beta[j]) / alpha[j] for j in range(steps - 1)])
    ritz = torch.linalg.eigvalsh(torch.diag(diag) + torch.diag(off, 1) + torch.diag(off, -1))
    return ritz[-1] / ritz[0]


OBJECTIVES = ("condition", "energy", "dcdm")


def train_smoother(dim: int, shapes, steps: int = 300, systems: int = 24, lr: float = 1e-3, seed: int = 0,
                   channels: int = 12, log_every: int = 50, objective: str = "condition", kernel: int = 1,
                   outputs: int = 2):
    """Train an :class:`MGSmootherNet` on random systems of every family (2-D or 3-D); returns
    ``(net, history)``. ``shapes``: grid shapes to draw systems on. ``outputs=2`` also learns the
    coarse-correction weights. ``objective``: the log-ratio to the fixed cycle on the same ``b`` of
    :func:`condition_estimate` (cycles in float64, where the estimate is stable), of the energy
    contraction of two cycles, or of DCDM's one-step loss (both float32)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_model("mg_smoother", dim=dim, channels=channels, kernel=kernel, outputs=outputs)
    dtype = torch.float64 if objective == "condition" else torch.float32
    pool = []
    for s in range(systems):
        shape = shapes[s % len(shapes)]
        A, _, solid = make_system(FAMILIES[s % len(FAMILIES)], shape, seed=10_000 + s)
        mg = Multigrid(GridOperator.from_csr(A, shape, dtype=dtype), dtype=dtype,  # one precision for every family
                       coarse="rediscretised")
        feats = [level_features(lv.op, lv.active)[None].float() for lv in mg.levels[:-1]]
        pool.append((mg, mg.levels[0].op, feats, solid))
    measure = {"condition": condition_estimate, "energy": energy_contraction,
               "dcdm": lambda op, cycle, b: dcdm_loss(op, cycle(b), b)}[objective]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    for step in range(steps):
        mg, op, feats, solid = pool[int(rng.integers(len(pool)))]
        b = torch.as_tensor(training_rhs(op.shape, rng, solid), dtype=dtype)
        out = [net(f)[0].to(dtype) for f in feats]
        weights = [o[0] for o in out]
        corrections = [o[1] for o in out] if outputs == 2 else None
        with torch.no_grad():  # the fixed cycle's value on the same b: puts every system on one scale
            base = measure(op, mg.vcycle, b)
        loss = torch.log(measure(op, lambda r: functional_cycle(mg, weights, r, corrections), b) / base)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}: loss {np.mean(history[-log_every:]):.4f}", flush=True)
    return net.eval(), history


TRAIN_SHAPES = {2: [(48, 48), (64, 64), (40, 56)], 3: [(32, 32, 32), (40, 36, 28), (24, 24, 24)]}


def main(argv=None) -> int:
    """``python -m sciml.linalg.learned_vcycle --dim 3``: train and ship a smoother net."""
    import argparse
    from pathlib import Path

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--dim", type=int, choices=(2, 3), required=True)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--systems", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--kernel", type=int, choices=(1, 3), default=1, help="1: per-cell MLP; 3: convolutions")
    p.add_argument("--outputs", type=int, choices=(1, 2), default=2,
                   help="1: smoother weights; 2: and coarse-correction weights")
    p.add_argument("--objective", choices=OBJECTIVES, default="condition")
    p.add_argument("--dest", default=None, help="default: sciml/assets/mg_smoother{2,3}d.pt")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    net, hist = train_smoother(a.dim, TRAIN_SHAPES[a.dim], steps=a.steps, systems=a.systems, seed=a.seed,
                               lr=a.lr, objective=a.objective, kernel=a.kernel, outputs=a.outputs)
    dest = Path(a.dest) if a.dest else Path(__file__).resolve().parents[1] / "assets" / SHIPPED[a.dim]
    tail = float(np.mean(hist[-50:]))
    save_checkpoint(dest, net, extra={"objective": a.objective, "steps": a.steps, "systems": a.systems, "lr": a.lr,
                                      "kernel": a.kernel, "outputs": a.outputs, "seed": a.seed,
                                      "final_log_ratio": tail})
    print(f"wrote {dest} (mean log-ratio over the last 50 steps {tail:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
