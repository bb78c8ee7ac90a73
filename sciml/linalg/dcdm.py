"""The deep conjugate-direction method (Kaneda et al., ICML 2023), embeddable like scipy's ``cg``.

Each iteration proposes ``q = f(r / ||r||)`` with a CNN ``f`` approximating A^-1 up to scale,
A-orthogonalises it against the last ``k`` directions, and steps with
``alpha = q^T r / q^T A q``; the residual is recomputed as ``b - A x``.

    x, info = dcdm_solve(A, b, rtol=1e-6)          # A: scipy sparse, LinearOperator or torch callable

``info`` follows scipy: 0 converged, > 0 the iterations spent without converging (``x`` is then the
best iterate, never a silently wrong one).
"""
from __future__ import annotations

import functools
import math
import warnings
from importlib import resources
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
import torch.nn.functional as F

from sciml.errors import DimensionError, NonFiniteError, SchemaError
from sciml.linalg.checks import Monitor, as_real_vector, check_solver_args, check_system

SHIPPED = "dcdm_poisson3d.pt"
DEFAULT_MAXITER = 200  # each iteration applies a network: 200 ends in seconds to a minute up to 128^3
STAGNATION_WINDOW = 60
COARSEST = 8  # levels="auto": the coarsest grid keeps at least this many cells per side (ADR 0099)


def load_shipped_model(device: str | torch.device = "cpu") -> torch.nn.Module:
    """The pretrained 3-D Poisson model shipped in ``sciml/assets`` (see docs/dcdm.md for how it was made).
    Cached per device, so ``dcdm_solve(model=None)`` inside a time loop loads it once; do not modify it."""
    return _shipped(str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _shipped(device: str) -> torch.nn.Module:
    from sciml.models import load_model

    with resources.as_file(resources.files("sciml") / "assets" / SHIPPED) as path:
        return load_model(path).to(device).eval()


def infer_grid_shape(n: int, dim: int) -> tuple[int, ...]:
    side = round(n ** (1.0 / dim))
    if side**dim != n:
        raise DimensionError(
            f"cannot infer a {dim}-D grid from n = {n} unknowns (not a perfect {'cube' if dim == 3 else 'square'}); "
            "pass grid_shape=(nz, ny, nx) or (ny, nx)")
    return (side,) * dim


def _as_torch_operator(A, device, n):
    if callable(A) and not isinstance(A, (spla.LinearOperator, np.ndarray)) and not sp.issparse(A):
        return A  # a torch callable: vector (n,) -> (n,)
    if sp.issparse(A):
        A = sp.csr_matrix(A)
        with warnings.catch_warnings():  # torch flags sparse CSR as beta on every construction
            warnings.simplefilter("ignore", UserWarning)
            t = torch.sparse_csr_tensor(*(torch.as_tensor(a) for a in (A.indptr, A.indices, A.data.astype(np.float64))),
                                        size=A.shape, device=device)
        return lambda v: t @ v
    return lambda v: torch.as_tensor(A @ v.cpu().numpy(), device=device)


def auto_levels(grid_shape: tuple[int, ...], coarsest: int = COARSEST) -> int:
    """``levels="auto"``: halve the grid while its smallest side stays >= ``coarsest`` cells, so the
    coarsest proposal sees the whole domain: 16^3 -> 2, 32^3 -> 3, 64^3 -> 4, 128^3 -> 5 (ADR 0099)."""
    return 1 + max(0, math.floor(math.log2(max(min(grid_shape), 1) / coarsest)))


def solid_from_matrix(A, b: np.ndarray) -> np.ndarray:
    """Cells that are decoupled identity rows with b = 0 (how :mod:`sciml.pde.poisson` stores obstacles)."""
    if not sp.issparse(A):
        return np.zeros(b.size, dtype=bool)
    A = sp.csr_matrix(A)
    return (np.diff(A.indptr) == 1) & np.isclose(A.diagonal(), 1.0) & (b == 0)


@torch.no_grad()
def dcdm_solve(A, b, model: torch.nn.Module | Callable | str | None = None, grid_shape: tuple[int, ...] | None = None,
               rtol: float = 1e-6, maxiter: int | None = None, k: int = 2, x0=None, callback: Callable | None = None,
               history: list | None = None, solid: np.ndarray | None = None, device: str | torch.device | None = None,
               safeguard: bool = True, levels: int | str = 1, prolong: str = "linear", amp: bool = False,
               atol: float = 0.0):
    """Solve SPD ``A x = b`` with DCDM; see the module docstring.

    ``model``: None (the shipped 3-D Poisson net), a ``dcdm`` network, a checkpoint path, ``"identity"``
    (q = r: then the iterates are CG's) or any callable ``r (n,) -> q (n,)`` in torch. ``grid_shape``:
    how the n unknowns lie on the grid (C order); inferred as a cube/square when None. ``history``
    (a list you pass) receives ``||r_k|| / ||b||`` from k = 0. ``solid``: obstacle mask (n,), inferred
    from identity rows with b = 0 when None. ``safeguard`` (default on; off is the paper's method): when the
    net's direction reduces the energy-norm error less than the residual direction would, step in the
    best combination of both, so a poor proposal cannot stall the solve (ADR 0094). ``levels`` > 1 (grid
    nets only; sciml's extension, not the paper's): each iteration also applies the net to the residual
    averaged onto grids 2x, 4x, ... coarser, prolongs those proposals (``prolong``: "linear", tri-/bilinear,
    the default, ADR 0099; "nearest", injection, ADR 0097) and minimises over all of them; ``"auto"``
    coarsens down to about 8 cells per side (:func:`auto_levels`); 1 is the paper's loop. ``amp``: run the net under bf16 autocast on CUDA (off by
    default: on an H100 it was no faster than fp32, 12.5 vs 11.7 ms per application at 128^3).

    Stopping and ``info`` follow scipy: stop when ``||r|| <= max(rtol ||b||, atol)``; ``info = 0``
    converged, ``> 0`` the iterations spent otherwise (``maxiter``, default 200, reached; no halving
    of the residual in 60 iterations; or a breakdown), with a ConvergenceWarning and the best
    iterate seen. ``maxiter = 0`` runs no iteration. Complex input raises LinearSystemError."""
    is_torch_A = callable(A) and not (sp.issparse(A) or isinstance(A, (spla.LinearOperator, np.ndarray)))
    b_np = as_real_vector(b)
    maxiter = check_solver_args(rtol, atol, maxiter, DEFAULT_MAXITER)
    if not is_torch_A:
        A, b_np = check_system(A, b_np)
    elif not np.all(np.isfinite(b_np)):
        raise NonFiniteError("b has NaN/Inf entries")
    n = b_np.size
    device = torch.device(device) if device else (b.device if torch.is_tensor(b) else torch.device("cpu"))
    if model is None:
        model = load_shipped_model(device)
    elif isinstance(model, str) and model != "identity":  # a checkpoint path
        from sciml.models import load_model

        model = load_model(model)
    net_dim = getattr(model, "dim", None)
    if isinstance(model, torch.nn.Module):
        if net_dim is None:
            raise SchemaError("the model has no 'dim' attribute; DCDM needs a grid network (sciml 'dcdm' model)")
        grid_shape = tuple(grid_shape) if grid_shape else infer_grid_shape(n, net_dim)
        if len(grid_shape) != net_dim:
            raise DimensionError(f"the model is {net_dim}-D but grid_shape {grid_shape} is {len(grid_shape)}-D; "
                                 f"use a {len(grid_shape)}-D model")
        if math.prod(grid_shape) != n:
            raise DimensionError(f"grid_shape {grid_shape} holds {math.prod(grid_shape)} cells but b has {n} entries")
        model = model.to(device).eval()
    solid_np = solid_from_matrix(A, b_np) if solid is None else np.asarray(solid, dtype=bool).ravel()
    fluid = torch.as_tensor(~solid_np, dtype=torch.float64, device=device)
    Aop = _as_torch_operator(A, device, n)
    bt = torch.as_tensor(b_np, device=device)
    x = torch.zeros(n, dtype=torch.float64, device=device) if x0 is None else torch.as_tensor(
        as_real_vector(x0, "x0"), device=device).clone()
    if x.numel() != n:
        raise DimensionError(f"x0 has {x.numel()} entries but b has {n}")
    if not b_np.any():  # scipy: the solution of A x = 0 is 0
        return np.zeros(n), 0
    r = bt - Aop(x)
    mon = Monitor(float(bt.norm()), rtol, atol, STAGNATION_WINDOW, "dcdm_solve", history)
    best_x, best = x.clone(), float(r.norm())
    dirs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    if prolong not in ("linear", "nearest"):
        raise ValueError(f"prolong must be 'linear' or 'nearest', got {prolong!r}")
    if isinstance(levels, str) and levels != "auto" or not isinstance(levels, str) and levels < 1:
        raise ValueError(f"levels must be a positive int or 'auto', got {levels!r}")
    if (levels == "auto" or levels > 1) and not isinstance(model, torch.nn.Module):
        raise ValueError("levels > 1 or 'auto' needs a grid network (a 'dcdm' model)")
    levels = auto_levels(grid_shape) if levels == "auto" else int(levels)
    offset: dict[int, torch.Tensor] = {}  # per level: a zero_offset net's residual-independent part, once per solve
    masks = {0: fluid.reshape(1, 1, *grid_shape)} if isinstance(model, torch.nn.Module) else {}

    def net_apply(rg: torch.Tensor, level: int) -> torch.Tensor:
        rn = rg / rg.norm()
        inp = torch.cat([rn, masks[level]], 1) if getattr(model, "use_mask", False) else rn
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            if getattr(model, "zero_offset", False):  # body(r) - body(0): same as model(inp), half the cost
                if level not in offset:
                    offset[level] = model.offset(inp.float()).double()
                return (model.body(inp.float()).double() - offset[level]) * masks[level]
            return model(inp.float()).double() * masks[level]

    def propose(r: torch.Tensor, level: int = 0) -> torch.Tensor | None:
        if isinstance(model, str) and model == "identity":
            return r.clone()
        if not isinstance(model, torch.nn.Module):
            return torch.as_tensor(model(r), dtype=torch.float64, device=device).reshape(-1)
        rg = r.reshape(1, 1, *grid_shape)
        if level == 0:
            return net_apply(rg, 0).reshape(-1)
        f, pool = 2**level, (F.avg_pool3d if len(grid_shape) == 3 else F.avg_pool2d)
        if level not in masks:  # coarse cells at least half fluid
            masks[level] = (pool(masks[0], f, ceil_mode=True) >= 0.5).double()
        rc = pool(rg * masks[0], f, ceil_mode=True) * masks[level]
        if not rc.norm() > 0:
            return None
        # cell-centred linear interpolation: injection's piecewise-constant blocks put energy into their
        # jumps (q^T A q), which shrinks the coarse step (ADR 0099)
        mode = "nearest" if prolong == "nearest" else ("trilinear" if len(grid_shape) == 3 else "bilinear")
        qc = F.interpolate(net_apply(rc, level), scale_factor=f, mode=mode,
                           **({} if mode == "nearest" else {"align_corners": False}))
        return (qc[(...,) + tuple(slice(0, g) for g in grid_shape)] * masks[0]).reshape(-1)

    if mon.start(best) or maxiter == 0:
        return x.cpu().numpy(), mon.info(maxiter)

    def orthogonalise(v: torch.Tensor, extra=()) -> torch.Tensor:
        for p, Ap, pAp in [d for step in (dirs[-k:] if k > 0 else []) for d in step] + list(extra):
            v = v - (v @ Ap) / pAp * p
        return v

    for it in range(1, maxiter + 1):
        q = orthogonalise(propose(r))
        Aq = Aop(q)
        qAq = q @ Aq
        if not torch.isfinite(qAq) or qAq <= 0:  # degenerate proposal: fall back to steepest descent
            q, Aq = r.clone(), Aop(r)
            qAq = q @ Aq
            if not qAq > 0:
                mon.breakdown(f"r^T A r = {float(qAq):.3g} <= 0 (A is not positive definite)")
                break
        if safeguard:
            # energy-norm error reduction of this step, (q^T r)^2 / q^T A q, against what the residual
            # direction alone would give; if the net's proposal is worse, minimise over span{q, s}
            s = orthogonalise(r.clone())
            As = Aop(s)
            sAs = s @ As
            if sAs > 0 and (q @ r) ** 2 / qAq < (1 - 1e-10) * (s @ r) ** 2 / sAs:
                G = torch.stack([torch.stack([qAq, q @ As]), torch.stack([q @ As, sAs])])
                g = torch.stack([q @ r, s @ r])
                if torch.linalg.cond(G) < 1e12:
                    c = torch.linalg.solve(G, g)
                    q, Aq = c[0] * q + c[1] * s, c[0] * Aq + c[1] * As
                else:
                    q, Aq = s, As
                qAq = q @ Aq
        step = [(q, Aq, qAq)]
        for level in range(1, levels):  # coarse-grid proposals, A-orthogonal to everything above
            c = propose(r, level)
            if c is None:
                continue
            c = orthogonalise(c, step)
            Ac = Aop(c)
            cAc = c @ Ac
            if torch.isfinite(cAc) and cAc > 1e-12 * qAq * float(c.norm() / q.norm().clamp_min(1e-300)) ** 2:
                step.append((c, Ac, cAc))
        for p, Ap, pAp in step:  # mutually A-orthogonal: exact minimisation over their span
            x = x + (p @ r) / pAp * p
        r = bt - Aop(x)
        dirs.append(step)
        dirs = dirs[-max(k, 1):]
        if callback is not None:
            callback(x.cpu().numpy())
        rnorm = float(r.norm())
        if rnorm < best:
            best, best_x = rnorm, x.clone()
        if mon.update(rnorm):
            break
    return (x if mon.converged else best_x).cpu().numpy(), mon.info(maxiter)
