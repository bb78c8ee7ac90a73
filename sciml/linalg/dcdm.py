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
from collections.abc import Callable
from importlib import resources

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.errors import DimensionError, NonFiniteError, SchemaError
from sciml.linalg.checks import Monitor, as_real_vector, check_solver_args, check_system
from sciml.linalg.dcdm_proposals import DirectionProposer
from sciml.models import load_model

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
    maxiter = check_solver_args(rtol, atol, maxiter, DEFAULT_MAXITER)
    levels = _check_options(prolong, levels)
    A, b_np, Aop, device = _prepare_system(A, b, device)
    n = b_np.size
    model, grid_shape = _resolve_model(model, n, grid_shape, device)
    if levels != 1 and not isinstance(model, torch.nn.Module):
        raise ValueError("levels > 1 or 'auto' needs a grid network (a 'dcdm' model)")
    levels = auto_levels(grid_shape) if levels == "auto" else levels
    x = _initial_guess(x0, n, device)
    if not b_np.any():  # scipy: the solution of A x = 0 is 0
        return np.zeros(n), 0
    bt = torch.as_tensor(b_np, device=device)
    solid_np = solid_from_matrix(A, b_np) if solid is None else np.asarray(solid, dtype=bool).ravel()
    fluid = torch.as_tensor(~solid_np, dtype=torch.float64, device=device)
    propose = DirectionProposer(model, grid_shape, fluid, device, prolong, amp)
    r = bt - Aop(x)
    mon = Monitor(float(bt.norm()), rtol, atol, STAGNATION_WINDOW, "dcdm_solve", history)
    best_x, best = x.clone(), float(r.norm())
    if mon.start(best) or maxiter == 0:
        return x.cpu().numpy(), mon.info(maxiter)
    recent = RecentDirections(k)
    for _ in range(maxiter):
        try:
            step = _fine_direction(propose(r), r, Aop, recent, safeguard)
        except NotPositiveDefinite as err:
            mon.breakdown(str(err))
            break
        step += _coarse_directions(propose, r, levels, step[0], Aop, recent)
        for p, Ap, pAp in step:  # mutually A-orthogonal: exact minimisation over their span
            x = x + (p @ r) / pAp * p
        r = bt - Aop(x)
        recent.add(step)
        if callback is not None:
            callback(x.cpu().numpy())
        rnorm = float(r.norm())
        if rnorm < best:
            best, best_x = rnorm, x.clone()
        if mon.update(rnorm):
            break
    return (x if mon.converged else best_x).cpu().numpy(), mon.info(maxiter)


def _check_options(prolong: str, levels: int | str) -> int | str:
    """Validate ``prolong`` and ``levels`` (a positive int or "auto")."""
    if prolong not in ("linear", "nearest"):
        raise ValueError(f"prolong must be 'linear' or 'nearest', got {prolong!r}")
    if isinstance(levels, str) and levels != "auto" or not isinstance(levels, str) and levels < 1:
        raise ValueError(f"levels must be a positive int or 'auto', got {levels!r}")
    return levels if levels == "auto" else int(levels)


def _prepare_system(A, b, device):
    """Check ``A`` and ``b`` and return (A, b as float64 numpy (n,), the torch operator v -> A v, device).
    The device is ``device`` when given, else ``b``'s when it is a tensor, else the CPU."""
    is_torch_A = callable(A) and not (sp.issparse(A) or isinstance(A, (spla.LinearOperator, np.ndarray)))
    b_np = as_real_vector(b)
    if not is_torch_A:
        A, b_np = check_system(A, b_np)
    elif not np.all(np.isfinite(b_np)):
        raise NonFiniteError("b has NaN/Inf entries")
    device = torch.device(device) if device else (b.device if torch.is_tensor(b) else torch.device("cpu"))
    return A, b_np, _as_torch_operator(A, device, b_np.size), device


def _resolve_model(model, n: int, grid_shape, device):
    """The model to propose directions (None: the shipped one; a str other than "identity": a checkpoint
    path) and, for a grid network, the grid the n unknowns lie on (checked against its dimension)."""
    if model is None:
        model = load_shipped_model(device)
    elif isinstance(model, str) and model != "identity":
        model = load_model(model)
    if not isinstance(model, torch.nn.Module):
        return model, grid_shape
    net_dim = getattr(model, "dim", None)
    if net_dim is None:
        raise SchemaError("the model has no 'dim' attribute; DCDM needs a grid network (sciml 'dcdm' model)")
    grid_shape = tuple(grid_shape) if grid_shape else infer_grid_shape(n, net_dim)
    if len(grid_shape) != net_dim:
        raise DimensionError(f"the model is {net_dim}-D but grid_shape {grid_shape} is {len(grid_shape)}-D; "
                             f"use a {len(grid_shape)}-D model")
    if math.prod(grid_shape) != n:
        raise DimensionError(f"grid_shape {grid_shape} holds {math.prod(grid_shape)} cells but b has {n} entries")
    return model.to(device).eval(), grid_shape


def _initial_guess(x0, n: int, device) -> torch.Tensor:
    """``x0`` as a float64 tensor (n,) on ``device`` (zeros when None)."""
    if x0 is None:
        return torch.zeros(n, dtype=torch.float64, device=device)
    x = torch.as_tensor(as_real_vector(x0, "x0"), device=device).clone()
    if x.numel() != n:
        raise DimensionError(f"x0 has {x.numel()} entries but b has {n}")
    return x


class RecentDirections:
    """The directions of the last ``k`` iterations, each stored as (p, A p, p^T A p)."""

    def __init__(self, k: int):
        self.k, self.steps = k, []

    def add(self, step: list) -> None:
        self.steps = (self.steps + [step])[-max(self.k, 1):]

    def orthogonalise(self, v: torch.Tensor, extra=()) -> torch.Tensor:
        """``v`` made A-orthogonal to the last ``k`` iterations' directions and to ``extra``."""
        for p, Ap, pAp in [d for step in (self.steps[-self.k:] if self.k > 0 else []) for d in step] + list(extra):
            v = v - (v @ Ap) / pAp * p
        return v


class NotPositiveDefinite(ArithmeticError):
    """r^T A r <= 0 for a residual r: the solve breaks down."""


def _fine_direction(proposal, r, Aop, recent: RecentDirections, safeguard: bool) -> list:
    """The fine-grid step [(q, A q, q^T A q)] from the network's ``proposal``: orthogonalised, replaced by
    the residual when degenerate, safeguarded. Raises NotPositiveDefinite when r^T A r <= 0."""
    q = recent.orthogonalise(proposal)
    Aq = Aop(q)
    qAq = q @ Aq
    if not torch.isfinite(qAq) or qAq <= 0:  # degenerate proposal: fall back to steepest descent
        q, Aq = r.clone(), Aop(r)
        qAq = q @ Aq
        if not qAq > 0:
            raise NotPositiveDefinite(f"r^T A r = {float(qAq):.3g} <= 0 (A is not positive definite)")
    if safeguard:
        q, Aq, qAq = _safeguarded(q, Aq, qAq, r, Aop, recent)
    return [(q, Aq, qAq)]


def _safeguarded(q, Aq, qAq, r, Aop, recent: RecentDirections):
    """Compare the energy-norm error reduction of the step along ``q``, (q^T r)^2 / q^T A q, with what the
    residual direction alone would give; if the network's proposal is worse, minimise over span{q, s}."""
    s = recent.orthogonalise(r.clone())
    As = Aop(s)
    sAs = s @ As
    if not (sAs > 0 and (q @ r) ** 2 / qAq < (1 - 1e-10) * (s @ r) ** 2 / sAs):
        return q, Aq, qAq
    G = torch.stack([torch.stack([qAq, q @ As]), torch.stack([q @ As, sAs])])
    g = torch.stack([q @ r, s @ r])
    if torch.linalg.cond(G) < 1e12:
        c = torch.linalg.solve(G, g)
        q, Aq = c[0] * q + c[1] * s, c[0] * Aq + c[1] * As
    else:
        q, Aq = s, As
    return q, Aq, q @ Aq


def _coarse_directions(propose: DirectionProposer, r, levels: int, fine, Aop, recent: RecentDirections) -> list:
    """Coarse-grid proposals for levels 1 .. levels - 1, each A-orthogonal to everything above it; a
    proposal whose energy is negligible against the fine step's is dropped."""
    step = [fine]
    q, _, qAq = fine
    for level in range(1, levels):
        c = propose(r, level)
        if c is None:
            continue
        c = recent.orthogonalise(c, step)
        Ac = Aop(c)
        cAc = c @ Ac
        if torch.isfinite(cAc) and cAc > 1e-12 * qAq * float(c.norm() / q.norm().clamp_min(1e-300)) ** 2:
            step.append((c, Ac, cAc))
    return step[1:]
