"""Set up once, solve many times: grid solvers for SPD systems, embeddable like pyamg's ``ml.solve``.

    solver = LearnedSolver(A, grid_shape=(nz, ny, nx))     # detects the 5/7-point operator, builds once
    x, info = solver.solve(b)                              # scipy's (x, info); any number of times
    solver.update(A2)                                      # same grid, new coefficients/obstacles

``method="multigrid"`` (default): flexible PCG (float64) preconditioned by sciml's matrix-free
geometric V-cycle (float32, :mod:`sciml.linalg.multigrid`). ``method="learned"``: the same cycle
with smoother weights from a trained network (:mod:`sciml.linalg.learned_vcycle`; in the benchmark
it saved iterations only in 2-D, hence not the default). ``method="dcdm"``: the paper's CNN
(:func:`~sciml.linalg.dcdm.dcdm_solve`, with its safeguard), kept as a learned baseline.
:func:`mg_solve` is the one-call form.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from sciml.errors import ConvergenceWarning, DimensionError, LinearSystemError, NonFiniteError
from sciml.linalg.checks import as_real_vector, check_solver_args, check_system
from sciml.linalg.dcdm import dcdm_solve, load_shipped_model
from sciml.linalg.learned_vcycle import load_shipped_smoother
from sciml.linalg.multigrid import Multigrid
from sciml.linalg.stencil import GridOperator
from sciml.linalg.torch_krylov import flexible_pcg

METHODS = ("learned", "multigrid", "dcdm")
DEFAULT_MAXITER = {"learned": 100, "multigrid": 100, "dcdm": 200}  # MG-PCG: 10-40 iterations to 1e-6 (benchmark)
STAGNATION = {"learned": 40, "multigrid": 40, "dcdm": 60}
EXCESS_SEEN = 0.9  # the training families' largest row excess / diagonal (Dirichlet faces) stays below this


def _grid_operator(A, grid_shape, device) -> GridOperator:
    """A as a GridOperator: given directly, or detected in a matrix (grid_shape inferred as a cube,
    then a square, when None)."""
    if isinstance(A, GridOperator):
        if grid_shape is not None and tuple(grid_shape) != A.shape:
            raise DimensionError(f"grid_shape {tuple(grid_shape)} differs from the operator's {A.shape}")
        return A.to(device, torch.float64)
    if isinstance(A, np.ndarray):
        check_system(A, np.zeros(A.shape[0]))
        A = sp.csr_matrix(A)
    if not sp.issparse(A):
        raise TypeError(f"A must be a scipy sparse matrix, a dense array or a GridOperator, got {type(A).__name__}; "
                        "for a LinearOperator use sciml.linalg.pcg")
    check_system(A, np.zeros(A.shape[0]), symmetric_probes=0)  # from_csr checks symmetry exactly
    n = A.shape[0]
    if grid_shape is not None:
        return GridOperator.from_csr(A, grid_shape, device)
    for dim in (3, 2):
        side = round(n ** (1 / dim))
        if side**dim == n:
            try:
                return GridOperator.from_csr(A, (side,) * dim, device)
            except LinearSystemError:
                continue
    raise DimensionError(f"cannot infer the grid of A ({n} unknowns): pass grid_shape=(nz, ny, nx) or (ny, nx)")


class LearnedSolver:
    """A solver for SPD systems on a structured grid, set up once; see the module docstring.

    ``A``: scipy sparse matrix (or dense array) with the 5-point (2-D) / 7-point (3-D) pattern of
    ``grid_shape`` (C order, last axis fastest), or a :class:`~sciml.linalg.stencil.GridOperator`.
    ``rtol``, ``atol``, ``maxiter``: defaults for :meth:`solve` (scipy's meaning; ``maxiter`` None ->
    100 for the multigrid methods, 200 for dcdm). ``device``: where the solve runs ("cpu", "cuda").
    ``options``: passed to :class:`~sciml.linalg.multigrid.Multigrid` (``sweeps``, ``omega``, ``dtype``,
    ``coarsest``, ``coarse``; ``smoother``: another ``mg_smoother`` net for "learned") or, for "dcdm", ``model``,
    ``levels``, ``k``, ``prolong``, ``safeguard`` of :func:`~sciml.linalg.dcdm.dcdm_solve`.
    """

    def __init__(self, A, grid_shape: tuple[int, ...] | None = None, method: str = "multigrid",
                 rtol: float = 1e-6, atol: float = 0.0, maxiter: int | None = None, device=None, **options):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.method, self.options = method, options
        self.device = torch.device(device) if device else torch.device("cpu")
        self.maxiter = check_solver_args(rtol, atol, maxiter, DEFAULT_MAXITER[method])
        self.rtol, self.atol = rtol, atol
        self.grid_shape = None if grid_shape is None else tuple(int(s) for s in grid_shape)
        self.update(A)

    def update(self, A) -> "LearnedSolver":
        """Rebuild for a new matrix on the same grid (new coefficients or obstacles); returns self."""
        op = _grid_operator(A, self.grid_shape, self.device)
        if self.grid_shape is not None and op.shape != self.grid_shape:
            raise DimensionError(f"the new matrix lies on grid {op.shape}, the solver on {self.grid_shape}")
        self.op, self.grid_shape = op, op.shape
        if self.method == "dcdm":
            self._setup_dcdm()
        elif self.method == "learned":
            self._check_trained_for(op)
            net = self.options.get("smoother") or load_shipped_smoother(len(op.shape), self.device)
            self.mg = Multigrid(op, **{**self.options, "smoother": net})
        else:
            self.mg = Multigrid(op, **self.options)
        return self

    @staticmethod
    def _check_trained_for(op: GridOperator) -> None:
        """Warn when A is unlike the learned V-cycle's training families (M-matrices whose row excess
        comes from Dirichlet faces only); the flexible-CG loop still converges, maybe more slowly."""
        negative = any(bool((w < 0).any()) for w in op.off)
        active = op.coupled()
        cells = max(int(active.sum()), 1)
        ratio = op.row_excess().div_(op.diag)  # no masked copies: this runs on every update()
        # in training, only cells on Dirichlet faces have an excess (a boundary layer, < half the cells)
        everywhere = int(((ratio > 0.05) & active).sum()) / cells
        extreme = int(((ratio > EXCESS_SEEN) & active).sum()) / cells
        if negative or everywhere > 0.5 or extreme > 0.01:
            why = ("positive off-diagonal entries (not an M-matrix)" if negative else
                   f"a diagonal excess (a reaction term?) in {max(everywhere, extreme):.0%} of the cells")
            warnings.warn(f"A has {why}, outside the learned V-cycle's training families (diffusion with obstacles "
                          "and Dirichlet/Neumann walls); solving anyway under flexible CG, which still converges for "
                          "SPD A but may need more iterations (method='multigrid' is the untrained cycle)",
                          ConvergenceWarning, stacklevel=4)

    def _setup_dcdm(self) -> None:
        model = self.options.get("model") or load_shipped_model(self.device)
        if getattr(model, "dim", None) != len(self.grid_shape):
            raise DimensionError(f"the DCDM model is {getattr(model, 'dim', '?')}-D but the grid {self.grid_shape} "
                                 "is not; use method='multigrid'")
        self.model, self.solid = model, ~self.op.coupled().cpu().numpy().ravel()
        off = torch.cat([w[w != 0].reshape(-1) for w in self.op.off])
        if off.numel() and not bool(torch.allclose(off, off[:1].expand_as(off))):
            warnings.warn("the matrix has variable coefficients; the shipped DCDM model was trained on constant-"
                          "coefficient Poisson problems with obstacles, so it runs with its safeguard and may need "
                          "many iterations (method='multigrid' is robust here)", ConvergenceWarning, stacklevel=3)

    @property
    def n(self) -> int:
        return math.prod(self.grid_shape)

    def aspreconditioner(self):
        """The V-cycle as a ``scipy.sparse.linalg.LinearOperator`` (multigrid only)."""
        if self.method == "dcdm":
            raise ValueError("aspreconditioner() needs method='learned' or 'multigrid'")
        return self.mg.aslinearoperator()

    def solve(self, b, x0=None, rtol: float | None = None, atol: float | None = None, maxiter: int | None = None,
              callback=None, history: list | None = None):
        """``(x, info)`` for ``A x = b`` with scipy's semantics: stops when ``||r|| <= max(rtol ||b||,
        atol)``; ``info = 0`` converged, ``> 0`` the iterations spent otherwise (maxiter reached,
        stagnation or breakdown), with a ConvergenceWarning. ``b``: numpy (x is numpy) or torch (x is
        a torch tensor on ``b``'s device, float64). ``history``: a list that receives ``||r_k|| / ||b||``."""
        rtol = self.rtol if rtol is None else rtol
        atol = self.atol if atol is None else atol
        maxiter = check_solver_args(rtol, atol, maxiter, self.maxiter)
        as_torch = torch.is_tensor(b)
        bt = torch.as_tensor(as_real_vector(b), device=self.device)
        if bt.numel() != self.n:
            raise DimensionError(f"b has {bt.numel()} entries but the solver's grid {self.grid_shape} has {self.n}")
        if not bool(torch.isfinite(bt).all()):
            raise NonFiniteError("b has NaN/Inf entries")
        x0t = None if x0 is None else torch.as_tensor(as_real_vector(x0, "x0"), device=self.device)
        if x0t is not None and x0t.numel() != self.n:
            raise DimensionError(f"x0 has {x0t.numel()} entries but the grid has {self.n}")
        if self.method in ("learned", "multigrid"):
            name = "learned-V-cycle PCG" if self.method == "learned" else "multigrid-PCG"
            x, info = flexible_pcg(self.op.apply, bt, self.mg.vcycle, rtol, atol, maxiter, x0t, callback, history,
                                   name=name, window=STAGNATION[self.method])
        else:
            opts = {k: v for k, v in self.options.items() if k in ("levels", "k", "prolong", "safeguard")}
            x, info = dcdm_solve(self.op.apply, bt, model=self.model, grid_shape=self.grid_shape, rtol=rtol,
                                 atol=atol, maxiter=maxiter, x0=x0t, callback=callback, history=history,
                                 solid=self.solid, device=self.device, **opts)
            x = torch.as_tensor(x, device=self.device)
        return (x if as_torch else x.cpu().numpy()), info


def mg_solve(A, b, grid_shape: tuple[int, ...] | None = None, rtol: float = 1e-6, atol: float = 0.0,
             maxiter: int | None = None, x0=None, callback=None, history: list | None = None, device=None, **options):
    """One call: multigrid-preconditioned CG, ``(x, info)`` like ``scipy.sparse.linalg.cg``; see
    :class:`LearnedSolver` (use it directly to reuse the setup over many right-hand sides)."""
    solver = LearnedSolver(A, grid_shape, "multigrid", rtol, atol, maxiter, device, **options)
    return solver.solve(b, x0=x0, callback=callback, history=history)
