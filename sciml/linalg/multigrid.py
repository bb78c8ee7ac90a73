"""A geometric multigrid V-cycle for :class:`~sciml.linalg.stencil.GridOperator`, matrix-free in torch.

Hierarchy (built once, :class:`Multigrid`): each level halves every axis (ceil: an odd axis gets a
padding cell that is treated as solid, so any grid size works). Coarse operators are rediscretised
from the fine face couplings as series/parallel conductances: along each fine "lane" crossing a
coarse face, half of each block's internal face and the shared face are in series; the lanes
crossing the face add in parallel. For a constant coefficient this is the operator
rediscretised on the coarse grid; with jumps it keeps the harmonic (series) behaviour that plain
averaging loses. Row excesses (Dirichlet faces) are summed over the block and halved, which is
also the rediscretised value. Transfers: operator-dependent prolongation P by the same
series-resistance rule (:func:`_weights`; multilinear, 3/4 and 1/4 per axis, for constant
coefficients), applied one axis at a time, and restriction R = P^T (so the cycle is symmetric);
ADR 0101 says why multilinear interpolation diverged at high contrast. Where a 2-D operator's
coefficients jump (:func:`coefficient_jump` above :data:`JUMP_GALERKIN`), the smoother and the
residual of every coarse level use the Galerkin operator ``P^T A P`` instead (a 5x5 stencil,
:mod:`sciml.linalg.box_stencil`, ADR 0106): at sharp jumps the rediscretised operators are not
consistent with P and the iteration count grows with the grid. The rediscretised operators stay the
basis of the transfers and of the learned V-cycle's features. In 3-D the Galerkin stencils would
have 125 points, so the rediscretised operators are the coarse operators. Smoother: Chebyshev-Jacobi,
``sweeps`` Jacobi steps before and after, weighted by the reciprocal roots of the Chebyshev
polynomial of that degree on the high-frequency part of D^-1 A's spectrum (:func:`chebyshev_weights`;
one step is the classical damped Jacobi, 0.8 in 2-D and 6/7 in 3-D; ADR 0104). Coarsest grid: the
Galerkin product P^T A P of the last transfer, solved by a dense Cholesky factor (a pseudo-inverse if
it is singular). The cycle runs in ``dtype`` (float32 by default) while the outer Krylov loop stays
in float64. On the CPU the smoothing, residual and transfer passes run as fused kernels
(:mod:`sciml.linalg.stencil_kernels`, ADR 0103); elsewhere, and as their reference, in torch.
"""
from __future__ import annotations

import math

import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.linalg import stencil_kernels
from sciml.linalg.box_stencil import galerkin
from sciml.linalg.smoother_weights import predict_weights
from sciml.linalg.stencil import GridOperator, GridStencil

COARSEST_CELLS = 512  # the dense coarse solve: 512 unknowns, a 1 MB Cholesky factor


def _every_other(t: torch.Tensor, axis: int, start: int) -> torch.Tensor:
    idx = [slice(None)] * t.ndim
    idx[axis] = slice(start, None, 2)
    return t[tuple(idx)]


def _pad_even(t: torch.Tensor, value: float, skip_axis: int | None = None) -> torch.Tensor:
    """Pad at the end of each axis so the cell count is even. ``skip_axis``: ``t`` is a face array
    along that axis (n - 1 entries for n cells), padded to N - 1 for the even N."""
    pads = []
    for a in reversed(range(t.ndim)):
        cells = t.shape[a] + (1 if a == skip_axis else 0)
        pads += [0, cells % 2]
    return torch.nn.functional.pad(t, pads, value=value) if any(pads) else t


def _block_sum(t: torch.Tensor, axes) -> torch.Tensor:
    for a in axes:
        t = _every_other(t, a, 0) + _every_other(t, a, 1)
    return t


def _shifted(v: torch.Tensor, axis: int, down: bool) -> torch.Tensor:
    """``v`` moved one cell along ``axis`` (down: out[i] = v[i - 1]), zero-filled; a new tensor."""
    m = v.shape[axis]
    z = torch.zeros_like(v.narrow(axis, 0, 1))
    return torch.cat([z, v.narrow(axis, 0, m - 1)], axis) if down else torch.cat([v.narrow(axis, 1, m - 1), z], axis)


def _half(c: torch.Tensor) -> torch.Tensor:
    """Half a face's resistance, 0.5 / c, and 0 where the face is closed (c = 0)."""
    return torch.where(c > 0, 0.5 / c.clamp_min(torch.finfo(c.dtype).tiny), torch.zeros_like(c))


def coarsen(op: GridOperator, active: torch.Tensor) -> tuple[GridOperator, torch.Tensor]:
    """The coarse operator and its active mask (see the module docstring). ``active``: (*grid) bool."""
    d = len(op.shape)
    excess = _pad_even(op.row_excess() * active, 0.0)
    act = _pad_even(active, False)
    off = []
    for a, w in enumerate(op.off):
        w = _pad_even(w, 0.0, skip_axis=a)  # (N_a - 1) faces along a
        inner = _every_other(w, a, 0)  # internal face of each block: N_a / 2
        n_c = inner.shape[a]
        shared = _every_other(w, a, 1)  # faces between blocks: N_a / 2 - 1
        lo, hi = inner.narrow(a, 0, n_c - 1), inner.narrow(a, 1, n_c - 1)
        resist = 1.0 / shared.clamp_min(torch.finfo(w.dtype).tiny) + _half(lo) + _half(hi)
        lane = torch.where(shared > 0, 1.0 / resist, torch.zeros_like(shared))
        off.append(_block_sum(lane, [b for b in range(d) if b != a]))
    active_c = _block_sum(act.to(op.diag.dtype), range(d)) > 0
    diag = 0.5 * _block_sum(excess, range(d))
    for a, w in enumerate(off):
        diag.narrow(a, 0, w.shape[a]).add_(w)
        diag.narrow(a, 1, w.shape[a]).add_(w)
    active_c &= diag > 0
    diag = torch.where(active_c, diag, torch.ones_like(diag))
    return GridOperator(diag, tuple(off)), active_c


def _stages(coarse: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shapes during a separable transfer: entry ``a`` is fine along axes < ``a`` and coarse along the
    others (the input of the axis-``a`` interpolation); the last entry is the fine (even) grid."""
    out, cur = [tuple(coarse)], list(coarse)
    for a in range(len(coarse)):
        cur[a] = 2 * coarse[a]
        out.append(tuple(cur))
    return out


def _weights(w: torch.Tensor, a: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Operator-dependent interpolation weights along axis ``a`` from the padded fine couplings ``w``.

    A fine child takes ``(1 - theta)`` of its own block's value and ``theta`` of the neighbouring
    block's, where theta is the share of the resistance path between the two block centres that
    lies between its own block's centre and the child: half the block's internal face, then the
    shared face, then half the neighbour's internal face. Constant coefficients give theta = 1/4
    (multilinear interpolation); a child inside a high-conductivity inclusion, or behind a closed
    face, follows its own block (theta -> 0). Couplings are summed (in parallel) over the axes
    that are still coarse at this stage. Returns (theta_lo, theta_hi) on :func:`_stages` ``[a]``."""
    w = _block_sum(w, range(a + 1, d))
    inner, shared = _half(_every_other(w, a, 0)), _every_other(w, a, 1)
    m = inner.shape[a]
    theta_lo, theta_hi = torch.zeros_like(inner), torch.zeros_like(inner)
    if m > 1:
        resist = inner.narrow(a, 0, m - 1) + 1.0 / shared.clamp_min(torch.finfo(w.dtype).tiny) + inner.narrow(a, 1, m - 1)
        open_ = shared > 0
        theta_hi.narrow(a, 0, m - 1).copy_(torch.where(open_, inner.narrow(a, 0, m - 1) / resist, 0.0))
        theta_lo.narrow(a, 1, m - 1).copy_(torch.where(open_, inner.narrow(a, 1, m - 1) / resist, 0.0))
    return theta_lo, theta_hi


class _Transfer:
    """Prolongation (operator-dependent, see :func:`_weights`) between a fine level and the next
    coarser one, and its exact transpose as the restriction, with preallocated stage buffers.
    ``active``: the fine-grid factor of both (the active mask, times the learned V-cycle's
    coarse-correction weights where it has them)."""

    def __init__(self, fine_op: GridOperator, fine_active: torch.Tensor, coarse_shape: tuple[int, ...]):
        d = len(coarse_shape)
        self.stages = _stages(coarse_shape)
        dt, dev = fine_op.diag.dtype, fine_op.diag.device
        self.theta = [tuple(t.contiguous() for t in _weights(_pad_even(w, 0.0, skip_axis=a), a, d))
                      for a, w in enumerate(fine_op.off)]
        self.keep = [(1 - lo, 1 - hi) for lo, hi in self.theta]
        self.bufs = [torch.empty(s, dtype=dt, device=dev) for s in self.stages]
        self.padded = torch.zeros(self.stages[-1], dtype=dt, device=dev)  # restriction input; its pad stays 0
        self.crop = tuple(slice(0, s) for s in fine_op.shape)
        self.active = fine_active.to(dt)

    def prolong(self, c: torch.Tensor) -> torch.Tensor:
        """Coarse (*coarse) -> fine (*fine), a view of a work buffer."""
        if stencil_kernels.available(c, self.active):
            fine = self.padded[self.crop].zero_()
            self.prolong_add(c, fine)
            return fine
        for a, (th, kp) in enumerate(zip(self.theta, self.keep)):
            dst, m = self.bufs[a + 1], c.shape[a]
            lo, hi = _every_other(dst, a, 0), _every_other(dst, a, 1)
            torch.mul(c, kp[0], out=lo), torch.mul(c, kp[1], out=hi)
            if m > 1:
                lo.narrow(a, 1, m - 1).addcmul_(th[0].narrow(a, 1, m - 1), c.narrow(a, 0, m - 1))
                hi.narrow(a, 0, m - 1).addcmul_(th[1].narrow(a, 0, m - 1), c.narrow(a, 1, m - 1))
            c = dst
        return c[self.crop].mul_(self.active)

    def prolong_add(self, c: torch.Tensor, x: torch.Tensor) -> None:
        """``x += P c`` (the coarse-grid correction), ``x`` (*fine) contiguous. On the CPU the last
        stage is fused with the mask and the add (:func:`~sciml.linalg.stencil_kernels.prolong_add_last`)."""
        if not stencil_kernels.available(c, self.active):
            x.add_(self.prolong(c))
            return
        last = len(self.theta) - 1
        for a in range(last):
            m = c.shape[a]
            c = c.contiguous()
            stencil_kernels.prolong_axis(*(stencil_kernels.along(t, a, m) for t in (c, *self.keep[a], *self.theta[a])),
                                         stencil_kernels.along(self.bufs[a + 1], a, 2 * m))
            c = self.bufs[a + 1]
        as3d = stencil_kernels.as3d
        stencil_kernels.prolong_add_last(*(as3d(t) for t in (c.contiguous(), *self.keep[last], *self.theta[last],
                                                               self.active, x)))

    def prolong_functional(self, c: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`prolong` without work buffers or in-place steps: differentiable, and batched over
        any leading axes of ``c`` (*batch, *coarse). ``mask``: the fine-grid factor (default: the
        transfer's own, the active mask times any correction weights)."""
        d = len(self.theta)
        for a, ((th_lo, th_hi), (kp_lo, kp_hi)) in enumerate(zip(self.theta, self.keep)):
            ax = a - d  # counted from the end, past any batch axes
            lo = kp_lo * c + th_lo * _shifted(c, ax, True)
            hi = kp_hi * c + th_hi * _shifted(c, ax, False)
            c = torch.stack([lo, hi], ax).flatten(ax - 1, ax)  # children 2m, 2m + 1 interleaved along the axis
        return c[(Ellipsis, *self.crop)] * (self.active if mask is None else mask)

    def restrict_functional(self, f: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`restrict` without work buffers or in-place steps (differentiable; one grid)."""
        f = f * (self.active if mask is None else mask)
        f = torch.nn.functional.pad(f, [p for s, t in zip(reversed(f.shape), reversed(self.stages[-1]))
                                        for p in (0, t - s)])
        for a in reversed(range(len(self.theta))):
            (th_lo, th_hi), (kp_lo, kp_hi) = self.theta[a], self.keep[a]
            fe, fo = _every_other(f, a, 0), _every_other(f, a, 1)
            f = kp_lo * fe + kp_hi * fo + _shifted(th_lo * fe, a, False) + _shifted(th_hi * fo, a, True)
        return f

    def restrict(self, f: torch.Tensor) -> torch.Tensor:
        """Fine -> coarse, the transpose of :meth:`prolong` (a work buffer)."""
        last = len(self.theta) - 1
        if stencil_kernels.available(f, self.active):  # the first stage fused with the mask, then one pass per axis
            as3d = stencil_kernels.as3d
            stencil_kernels.restrict_last(*(as3d(t) for t in (f.contiguous(), self.active, *self.keep[last],
                                                                *self.theta[last], self.bufs[last])))
            f = self.bufs[last]
            for a in reversed(range(last)):
                c, m = self.bufs[a], self.bufs[a].shape[a]
                stencil_kernels.restrict_axis(stencil_kernels.along(f, a, 2 * m),
                                              *(stencil_kernels.along(t, a, m) for t in (*self.keep[a], *self.theta[a], c)))
                f = c
            return f
        torch.mul(f, self.active, out=self.padded[self.crop])
        f = self.padded
        for a in reversed(range(len(self.theta))):
            (th_lo, th_hi), (kp_lo, kp_hi) = self.theta[a], self.keep[a]
            c = self.bufs[a]
            fe, fo = _every_other(f, a, 0), _every_other(f, a, 1)
            m = c.shape[a]
            torch.mul(fe, kp_lo, out=c).addcmul_(fo, kp_hi)
            if m > 1:
                c.narrow(a, 0, m - 1).addcmul_(th_lo.narrow(a, 1, m - 1), fe.narrow(a, 1, m - 1))
                c.narrow(a, 1, m - 1).addcmul_(th_hi.narrow(a, 0, m - 1), fo.narrow(a, 0, m - 1))
            f = c
        return f


class _Level:
    """One grid of the hierarchy: operator, active mask, the cycle's work buffers (preallocated: on
    the CPU a fresh large tensor costs more in page faults than a stencil pass) and ``winv``, the
    scaled inverse diagonal of each smoothing step (:func:`step_inverse_diagonals`, set by
    :class:`Multigrid`). ``op``: the rediscretised operator (transfers, features); ``cycle_op``: the
    operator the smoother and the residual apply (``op``, or the Galerkin operator, set by
    :class:`Multigrid`)."""

    def __init__(self, op: GridOperator, active: torch.Tensor):
        self.op, self.active = op, active
        self.cycle_op = op
        self.x, self.t = torch.empty_like(op.diag), torch.empty_like(op.diag)


def step_inverse_diagonals(op: GridStencil, active: torch.Tensor, weights: torch.Tensor,
                           schedule: list[float]) -> list[torch.Tensor]:
    """Step ``k`` of a smoothing pass is ``x += schedule[k] weights / D (b - A x)``, ``D`` the
    operator's ``smoothing_diagonal()``: one (*grid) factor per step (steps with equal factors share
    one tensor); decoupled (solid) rows get ``1 / D``, which solves them exactly. Differentiable in
    ``weights``."""
    inv = 1.0 / op.smoothing_diagonal()
    by_factor = {f: torch.where(active, f * weights * inv, inv) for f in dict.fromkeys(schedule)}
    return [by_factor[f] for f in schedule]


# Lower end of the high-frequency part of D^-1 A's spectrum for the Laplacian (modes with some
# |theta_i| >= pi / 2: (1/d) sum (1 - cos theta_i) >= 1/d); the upper end is 2 (Gershgorin).
HIGH_FREQUENCY_LOW = {2: 1 / 2, 3: 1 / 3}


def chebyshev_weights(dim: int, sweeps: int) -> list[float]:
    """Jacobi weights of one smoothing pass of ``sweeps`` steps: the reciprocal roots of the
    degree-``sweeps`` Chebyshev polynomial on ``[lo, 2]`` (``lo`` = :data:`HIGH_FREQUENCY_LOW`), which
    minimises the worst high-frequency error left after the pass. One step gives the classical
    damped-Jacobi weight ``2 / (lo + 2)`` (0.8 in 2-D, 6/7 in 3-D); two steps in 3-D give 0.57 and
    1.73, which leave at most 0.34 of any high-frequency error against 0.51 for two steps of 6/7.
    The pass's polynomial stays within [-1, 1] on ``[0, lo + 2]``, which holds the spectrum of
    ``s D^-1 A`` for any per-cell scale ``0 < s <= (lo + 2) / 2`` (Gershgorin), so the V-cycle stays
    an SPD preconditioner, also with the learned V-cycle's weights (see :class:`Multigrid`)."""
    lo = HIGH_FREQUENCY_LOW[dim]
    centre, half = (2 + lo) / 2, (2 - lo) / 2
    return [1 / (centre + half * math.cos((2 * k - 1) * math.pi / (2 * sweeps))) for k in range(1, sweeps + 1)]


COARSE_OPERATORS = ("galerkin", "rediscretised")
JUMP_GALERKIN = 10.0  # coefficient jump above which a 2-D hierarchy takes Galerkin coarse operators


def coefficient_jump(op: GridOperator) -> float:
    """The largest ratio between two open couplings of one cell: 1 for constant coefficients (any
    obstacles and walls), ~1.1-3 for the smooth log-normal fields, 5e7 at the 1e8-contrast inclusions'
    interfaces."""
    hi, lo = torch.zeros_like(op.diag), torch.full_like(op.diag, math.inf)
    for a, w in enumerate(op.off):
        w_open = torch.where(w > 0, w, math.inf)
        for side in (slice(0, -1), slice(1, None)):  # the cells below and above each face
            cells = (slice(None),) * a + (side,)
            torch.maximum(hi[cells], w, out=hi[cells])
            torch.minimum(lo[cells], w_open, out=lo[cells])
    return float((hi / lo).max()) if op.n else 1.0


def coarse_operators(op: GridOperator, coarse: str | None) -> str:
    """The coarse operators of ``op``'s hierarchy: ``coarse`` (checked), or by default ``"galerkin"``
    for a 2-D operator whose :func:`coefficient_jump` exceeds :data:`JUMP_GALERKIN` and
    ``"rediscretised"`` otherwise. The Galerkin product is a fused CPU kernel (numba, a dependency)."""
    dim = len(op.shape)
    if coarse is None:
        jumps = dim == 2 and stencil_kernels.available() and coefficient_jump(op) > JUMP_GALERKIN
        return "galerkin" if jumps else "rediscretised"
    if coarse not in COARSE_OPERATORS:
        raise ValueError(f"coarse must be one of {COARSE_OPERATORS}, got {coarse!r}")
    if coarse == "galerkin" and dim != 2:
        raise ValueError("Galerkin coarse operators are 2-D only (in 3-D their stencils have 125 points); "
                         "use coarse='rediscretised'")
    if coarse == "galerkin" and not stencil_kernels.available():
        raise ValueError("Galerkin coarse operators need numba, a dependency of sciml; use coarse='rediscretised'")
    return coarse


CONTRAST_FLOAT64 = 1e6  # coupling contrast above which the cycle runs in float64


def cycle_dtype(op: GridOperator) -> torch.dtype:
    """float32 unless the couplings span more than :data:`CONTRAST_FLOAT64` (e.g. 1e8-contrast
    inclusions, where float32 rounding doubled MG-PCG's iterations at 1024^2: 151 against 90)."""
    hi = max([float(w.max()) for w in op.off if w.numel()] + [0.0])
    lo = min([float(torch.where(w > 0, w, math.inf).min()) for w in op.off if w.numel()] + [math.inf])
    return torch.float64 if hi > 0 and hi / lo > CONTRAST_FLOAT64 else torch.float32


class Multigrid:
    """V-cycle hierarchy of a grid operator; ``mg.vcycle(r)`` approximates ``A^-1 r``.

    ``op``: a :class:`GridOperator` (float64 is fine: the hierarchy is stored in ``dtype``, by default
    float32, or float64 for extreme coefficient contrast, see :func:`cycle_dtype`).
    ``sweeps``: Jacobi steps before and after the coarse correction, with the Chebyshev weights of
    :func:`chebyshev_weights` (``omega``: the same weight for every step instead, classical damped
    Jacobi). ``smoother``: an ``mg_smoother`` network giving a weight ``w`` in (0, 1) per cell and
    level (the learned V-cycle, :mod:`sciml.linalg.learned_vcycle`); step ``k`` then uses
    ``w * chebyshev_weights[k] / omega``, which is the fixed cycle where ``w = omega`` and keeps it SPD
    for any ``w < 1``; a two-output network also gives a coarse-correction weight ``alpha`` per
    cell (``corrections``), which multiplies every transfer but the last on its fine side, in the
    prolongation and the restriction alike (rediscretised hierarchies only: a Galerkin hierarchy's
    coarse corrections are already A-orthogonal projections, ADR 0106). ``coarse``: the coarse
    levels' operators, ``"galerkin"`` (``P^T A P``; 2-D only) or ``"rediscretised"`` (default:
    :func:`coarse_operators`; the learned V-cycle's training differentiates rediscretised
    hierarchies). Device: that of ``op``.
    """

    def __init__(self, op: GridOperator, dtype: torch.dtype | None = None, sweeps: int = 2,
                 omega: float | None = None, coarsest: int = COARSEST_CELLS, smoother: torch.nn.Module | None = None,
                 coarse: str | None = None):
        if sweeps < 1:
            raise ValueError(f"sweeps must be >= 1, got {sweeps}")
        dim = len(op.shape)
        dtype = dtype or cycle_dtype(op)
        self.dtype, self.sweeps, self.coarse = dtype, sweeps, coarse_operators(op, coarse)
        self._fused = False  # set per cycle: the fused CPU kernels serve this hierarchy's tensors
        if omega is None:  # Chebyshev steps, relative to the one-step weight the network is scaled by
            self.omega = chebyshev_weights(dim, 1)[0]
            self.schedule = [w / self.omega for w in chebyshev_weights(dim, sweeps)]
        else:
            self.omega, self.schedule = omega, [1.0] * sweeps
        op = op.to(dtype=dtype)
        active = op.coupled()
        self.levels = [_Level(op, active)]
        while math.prod(op.shape) > coarsest and max(op.shape) > 2:
            op, active = coarsen(op, active)
            self.levels.append(_Level(op, active))
        for fine, coarse_lv in zip(self.levels[:-1], self.levels[1:]):
            fine.transfer = _Transfer(fine.op, fine.active, coarse_lv.op.shape)
        self.corrections = None  # per-cell coarse-correction weights of the learned V-cycle
        if smoother is None:
            self.weights = [torch.full_like(lv.op.diag, self.omega) for lv in self.levels[:-1]]
        else:  # the learned V-cycle: per-cell weights from the network, once per matrix
            out = predict_weights(smoother, self.levels)
            self.weights = [o[0] for o in out]
            # every transfer but the last: the coarsest correction is already the exact Galerkin projection,
            # and so is every one of a Galerkin hierarchy (the weights were learned to repair rediscretised
            # operators; on Galerkin ones they cost 11-12 iterations against 8 on the 2-D inclusions)
            if out and out[0].shape[0] > 1 and self.coarse == "rediscretised":
                self.corrections = [o[1] for o in out[:-1]]
                for lv, a in zip(self.levels, self.corrections):
                    lv.transfer.active = (lv.transfer.active * a).contiguous()
        if self.coarse == "galerkin":
            for fine, coarse_lv in zip(self.levels[:-1], self.levels[1:]):
                coarse_lv.cycle_op = galerkin(fine.cycle_op, fine.transfer, coarse_lv.op.shape, dtype)
        for lv, w in zip(self.levels, self.weights):
            lv.winv = step_inverse_diagonals(lv.cycle_op, lv.active, w, self.schedule)
        self._factor(self.levels[-1])

    def _coarsest_matrix(self) -> torch.Tensor:
        """The coarsest grid's matrix (dense float64, at most :data:`COARSEST_CELLS` square): the
        Galerkin product ``P^T A P`` of the last transfer, which makes the coarsest correction the
        A-orthogonal projection onto the coarse space. The rediscretised coarsest operator
        over-corrected some smooth modes (MG-PCG's spectrum reached 2.4 at 48^3 on constant
        coefficients, 1.7 with the Galerkin matrix: 1-2 iterations fewer). Coarse cells whose
        prolongation is zero (inside solids) keep an identity row."""
        if len(self.levels) == 1 or self.coarse == "galerkin":  # a Galerkin hierarchy's last operator is it
            return torch.as_tensor(self.levels[-1].cycle_op.to_csr().toarray())
        fine, coarse = self.levels[-2], self.levels[-1]
        nc = coarse.op.n
        basis = torch.eye(nc, dtype=self.dtype, device=coarse.op.diag.device).reshape(nc, *coarse.op.shape)
        with torch.no_grad():
            P_t = sp.csr_matrix(fine.transfer.prolong_functional(basis).reshape(nc, -1).double().cpu().numpy())
        dense = torch.as_tensor((P_t @ fine.op.to_csr() @ P_t.T).toarray())
        empty = dense.diagonal() == 0
        dense[empty, empty] = 1.0
        return dense

    def _factor(self, level: _Level) -> None:
        # the coarse matrix is assembled on the host (scipy) and factored where the hierarchy lives
        dense = self._coarsest_matrix().to(level.op.diag.device)
        L, info = torch.linalg.cholesky_ex(dense)
        if int(info) == 0:
            self._coarse = lambda r: torch.cholesky_solve(r.reshape(-1, 1).double(), L).reshape(r.shape).to(r.dtype)
        else:  # singular (e.g. pure Neumann): least-squares solution
            pinv = torch.linalg.pinv(dense, hermitian=True).to(self.dtype)
            self._coarse = lambda r: (pinv @ r.reshape(-1)).reshape(r.shape)
        self._coarse_device = level.op.diag.device

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [lv.op.shape for lv in self.levels]

    def prolong(self, i: int, u: torch.Tensor) -> torch.Tensor:
        """Level ``i + 1`` -> level ``i`` (a view of a work buffer: use it before the next cycle)."""
        return self.levels[i].transfer.prolong(u)

    def restrict(self, i: int, r: torch.Tensor) -> torch.Tensor:
        """Level ``i`` -> level ``i + 1``, the transpose of :meth:`prolong` (a work buffer)."""
        return self.levels[i].transfer.restrict(r)

    def _smooth(self, lv: _Level, b: torch.Tensor, steps: range) -> None:
        """The smoothing ``steps`` (indices into the schedule) on ``x``, in place."""
        if self._fused:  # one pass per step, ping-ponging between x and t (Jacobi reads the old x)
            for k in steps:
                lv.cycle_op.pass_into(stencil_kernels.JACOBI, lv.x, lv.t, b, lv.winv[k])
                lv.x, lv.t = lv.t, lv.x
            return
        for k in steps:  # x += w_k (b - A x)
            lv.cycle_op.apply(lv.x, out=lv.t)
            lv.x.addcmul_(lv.winv[k], lv.t.neg_().add_(b))

    def _residual(self, lv: _Level, b: torch.Tensor) -> torch.Tensor:
        """``b - A x`` into the level's buffer ``t``."""
        if self._fused:
            lv.cycle_op.pass_into(stencil_kernels.RESIDUAL, lv.x, lv.t, b)
            return lv.t
        lv.cycle_op.apply(lv.x, out=lv.t)
        return lv.t.neg_().add_(b)

    def _cycle(self, i: int, b: torch.Tensor) -> torch.Tensor:
        """V-cycle from zero on level ``i``; the result lives in level ``i``'s buffer ``x``."""
        if i == len(self.levels) - 1:
            return self._coarse(b)
        lv = self.levels[i]
        torch.mul(lv.winv[0], b, out=lv.x)  # the first step from x = 0
        self._smooth(lv, b, range(1, self.sweeps))
        ec = self._cycle(i + 1, self.restrict(i, self._residual(lv, b)))
        lv.transfer.prolong_add(ec, lv.x)
        self._smooth(lv, b, range(self.sweeps))  # the same steps: they commute, so the cycle is symmetric
        return lv.x

    @torch.no_grad()
    def vcycle(self, r: torch.Tensor) -> torch.Tensor:
        """One V-cycle from a zero guess: ``z ~ A^-1 r``; ``r`` flat (n,) or (*grid), any float dtype
        (returned in that dtype and shape)."""
        shape0, dt = r.shape, r.dtype
        r = r.reshape(self.levels[0].op.shape).to(self.dtype).contiguous()
        self._fused = stencil_kernels.available(r, self.levels[0].op.diag) and r.ndim in (2, 3)
        z = self._cycle(0, r)
        return z.to(dt, copy=True).reshape(shape0)

    __call__ = vcycle

    def aslinearoperator(self) -> spla.LinearOperator:
        """The V-cycle as a ``scipy.sparse.linalg.LinearOperator`` (numpy in and out), e.g. ``M=`` for
        ``scipy.sparse.linalg.cg``."""
        import numpy as np

        n, dev = self.levels[0].op.n, self.levels[0].op.diag.device
        mv = lambda v: self.vcycle(torch.as_tensor(np.asarray(v, dtype=np.float64).ravel(), device=dev)).cpu().numpy()  # noqa: E731
        return spla.LinearOperator((n, n), matvec=mv, rmatvec=mv, dtype=np.float64)
