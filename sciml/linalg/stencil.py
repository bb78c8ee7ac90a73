"""Matrix-free symmetric 5-point (2-D) and 7-point (3-D) operators on cell-centred grids, in torch.

A :class:`GridOperator` stores a symmetric matrix with the grid's nearest-neighbour sparsity as

- ``diag``: (*grid), the diagonal;
- ``off[a]``: (*grid with axis ``a`` one shorter), the coupling ``w`` of each face along axis ``a``:
  ``A[i, i + e_a] = A[i + e_a, i] = -w``.

so ``(A x)_i = diag_i x_i - sum_faces w (x_neighbour)``. Grids are C order (the last axis is x).
Solid cells are rows with no couplings (an identity row, as :mod:`sciml.pde.poisson` stores
obstacles). Build one from coefficients (:func:`from_coefficients`: face or cell coefficients,
solid cells with Neumann or Dirichlet walls, Dirichlet/Neumann domain faces) or detect it in a CSR
matrix (:meth:`GridOperator.from_csr`). Device- and dtype-agnostic: ``op.to(device, dtype)``; on the
CPU :meth:`GridOperator.apply` is one fused pass (:mod:`sciml.linalg.stencil_kernels`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from sciml.errors import DimensionError, LinearSystemError
from sciml.linalg import stencil_kernels

FACES = {"x-": (-1, 0), "x+": (-1, 1), "y-": (-2, 0), "y+": (-2, 1), "z-": (-3, 0), "z+": (-3, 1)}


def _side(t: torch.Tensor, axis: int, lo: bool) -> torch.Tensor:
    """All but the last (``lo``) or all but the first entry of ``t`` along ``axis``."""
    n = t.shape[axis]
    return t.narrow(axis, 0, n - 1) if lo else t.narrow(axis, 1, n - 1)


class GridStencil:
    """What every grid operator of the multigrid holds: its diagonal ``diag`` (*grid), from which the
    grid's shape and the unknowns' count follow. :class:`GridOperator` (5/7 points) and
    :class:`~sciml.linalg.box_stencil.BoxOperator` (5x5, the 2-D Galerkin coarse operators) add their
    couplings, ``apply``, ``pass_into``, ``smoothing_diagonal`` and ``to_csr``."""

    diag: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.diag.shape)

    @property
    def n(self) -> int:
        return self.diag.numel()


@dataclass
class GridOperator(GridStencil):
    """A symmetric nearest-neighbour operator on a grid; see the module docstring."""

    diag: torch.Tensor
    off: tuple[torch.Tensor, ...]

    def to(self, device=None, dtype=None) -> "GridOperator":
        return GridOperator(self.diag.to(device, dtype), tuple(w.to(device, dtype) for w in self.off))

    def apply(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``A x`` for ``x`` of shape (*grid) (or flat (n,), returned flat). ``out``: a (*grid) buffer
        to write into (not ``x``), which saves an allocation in hot loops."""
        flat = x.ndim == 1
        x = x.reshape(self.shape)
        if (stencil_kernels.available(x, self.diag) and len(self.shape) in (2, 3)
                and (out is None or out.is_contiguous())):  # one fused pass on the CPU
            y = torch.empty_like(self.diag) if out is None else out
            self.pass_into(stencil_kernels.APPLY, x.contiguous(), y)
            return y.reshape(-1) if flat else y
        y = torch.mul(self.diag, x, out=out) if out is not None else self.diag * x
        for a, w in enumerate(self.off):  # two fused passes per axis: the upper and the lower neighbour
            _side(y, a, True).addcmul_(w, _side(x, a, False), value=-1.0)
            _side(y, a, False).addcmul_(w, _side(x, a, True), value=-1.0)
        return y.reshape(-1) if flat else y

    __call__ = apply

    def pass_into(self, mode: int, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor | None = None,
                  winv: torch.Tensor | None = None) -> None:
        """One fused CPU stencil pass into ``y`` (contiguous, not ``x``): ``A x``, ``b - A x`` or the
        Jacobi step ``x + winv (b - A x)`` (``mode``: :data:`~sciml.linalg.stencil_kernels.APPLY`,
        ``RESIDUAL``, ``JACOBI``). Only where :func:`~sciml.linalg.stencil_kernels.available` holds."""
        x3 = stencil_kernels.as3d(x)
        k = self.kernel_arrays()
        stencil_kernels.stencil_pass(k[0], *k[1], x3, x3 if b is None else stencil_kernels.as3d(b),
                                     x3 if winv is None else stencil_kernels.as3d(winv), stencil_kernels.as3d(y), mode)

    def kernel_arrays(self):
        """(diag, (wz, wy, wx)) as 3-D numpy views of contiguous copies, the CPU kernels' arguments,
        made once per operator (the cache is keyed on the diagonal tensor, so an operator given a new
        one rebuilds it)."""
        cached = self.__dict__.get("_kargs")
        if cached is None or cached[0] is not self.diag:
            d3 = stencil_kernels.as3d(self.diag.contiguous())
            faces = stencil_kernels.faces3d(tuple(w.contiguous() for w in self.off), d3.shape)
            cached = (self.diag, (d3, faces))
            self.__dict__["_kargs"] = cached
        return cached[1]

    def smoothing_diagonal(self) -> torch.Tensor:
        """The diagonal a Jacobi step divides by: ``diag`` itself, since the couplings are conductances
        (``sum_j |a_ij| <= a_ii``), so ``D^-1 A``'s spectrum lies in [0, 2] (Gershgorin); see
        :meth:`sciml.linalg.box_stencil.BoxOperator.smoothing_diagonal` for operators without that sign."""
        return self.diag

    def coupled(self) -> torch.Tensor:
        """Boolean (*grid): cells with at least one nonzero coupling (the others are decoupled rows,
        e.g. solid cells)."""
        m = torch.zeros(self.shape, dtype=torch.bool, device=self.diag.device)
        for a, w in enumerate(self.off):
            nz = w != 0
            _side(m, a, True).logical_or_(nz)
            _side(m, a, False).logical_or_(nz)
        return m

    def row_excess(self) -> torch.Tensor:
        """``diag - sum of couplings`` per cell: the Dirichlet/reaction part of each row (0 for a pure
        Neumann Laplacian row)."""
        e = self.diag.clone()
        for a, w in enumerate(self.off):
            _side(e, a, True).sub_(w)
            _side(e, a, False).sub_(w)
        return e

    def to_csr(self) -> sp.csr_matrix:
        """The same matrix as scipy CSR (float64)."""
        shape, n = self.shape, self.n
        diags, offsets = [self.diag.detach().cpu().double().numpy().ravel()], [0]
        for a, w in enumerate(self.off):
            if shape[a] == 1:
                continue
            stride = math.prod(shape[a + 1:])
            pad = [(0, 0)] * len(shape)
            pad[a] = (0, 1)
            v = -np.pad(w.detach().cpu().double().numpy(), pad).ravel()[: n - stride]
            diags += [v, v]
            offsets += [stride, -stride]
        return sp.diags(diags, offsets, shape=(n, n), format="csr")

    @classmethod
    def from_csr(cls, A, grid_shape: tuple[int, ...], device=None, dtype=torch.float64) -> "GridOperator":
        """Detect the operator in a symmetric CSR matrix on ``grid_shape`` (C order). Raises
        :class:`~sciml.errors.LinearSystemError` when A has entries outside the 5/7-point pattern
        (including couplings that wrap around a grid row) or is not symmetric. Stored zeros count as
        absent and repeated entries are summed (on a copy: A stays as given). On the CPU with numba, a
        float32/float64 A is read in one pass (:func:`~sciml.linalg.stencil_kernels.csr_grid_operator`)."""
        grid_shape = tuple(int(s) for s in grid_shape)
        A = sp.csr_matrix(A)
        n = math.prod(grid_shape)
        if A.shape != (n, n):
            raise DimensionError(f"grid_shape {grid_shape} holds {n} cells but A is {A.shape[0]} x {A.shape[1]}")
        if not A.has_canonical_format:
            A = A.copy()
            A.sum_duplicates()
        nd = len(grid_shape)
        if not (stencil_kernels.available() and A.dtype in (np.float32, np.float64) and nd <= 3):
            return cls._from_csr_numpy(A, grid_shape, dtype).to(device)
        shape3 = (1,) * (3 - nd) + grid_shape
        diag = np.empty(shape3)
        faces = [np.empty(shape3[:a] + (max(shape3[a] - 1, 0),) + shape3[a + 1:]) for a in range(3)]
        flags, outside = stencil_kernels.csr_grid_operator(A.indptr, A.indices, A.data, diag, *faces)
        for a in range(nd):
            bits = flags >> 2 * (a + 3 - nd)  # the kernel's axes are those of the (1,)-padded 3-D grid
            if bits & 1:
                raise _not_symmetric()
            if bits & 2:
                raise _wraps_around(a, grid_shape)
        if outside:
            raise _outside_pattern(outside, grid_shape)
        off = tuple(torch.as_tensor(w.reshape(tuple(s - (b == a) for b, s in enumerate(grid_shape))), dtype=dtype)
                    for a, w in enumerate(faces[3 - nd:]))
        return cls(torch.as_tensor(diag.reshape(grid_shape), dtype=dtype), off).to(device)

    @classmethod
    def _from_csr_numpy(cls, A: sp.csr_matrix, grid_shape: tuple[int, ...], dtype=torch.float64) -> "GridOperator":
        """:meth:`from_csr` on a canonical CSR ``A`` of the right size, one diagonal of A at a time
        (numpy): the path without numba, and the reference for the kernel."""
        n = math.prod(grid_shape)
        main = A.diagonal()
        off, found = [], int(np.count_nonzero(main))
        for a in range(len(grid_shape)):
            stride = math.prod(grid_shape[a + 1:])
            if grid_shape[a] == 1:
                off.append(torch.zeros(*grid_shape[:a], 0, *grid_shape[a + 1:], dtype=dtype))
                continue
            up, lo = A.diagonal(stride), A.diagonal(-stride)
            if not (np.array_equal(up, lo) or np.allclose(up, lo, rtol=1e-12, atol=0)):
                raise _not_symmetric()
            full = np.zeros(n)
            full[: n - stride] = -up
            full = full.reshape(grid_shape)
            inner = [slice(None)] * len(grid_shape)
            inner[a] = slice(None, -1)
            edge = np.delete(full, np.s_[:-1], axis=a)  # couplings leaving the grid: wrap-around entries
            if np.any(edge != 0):
                raise _wraps_around(a, grid_shape)
            w = full[tuple(inner)]
            found += 2 * int(np.count_nonzero(w))
            off.append(torch.as_tensor(np.ascontiguousarray(w), dtype=dtype))
        if found != A.count_nonzero():
            raise _outside_pattern(A.count_nonzero() - found, grid_shape)
        diag = torch.as_tensor(main.reshape(grid_shape), dtype=dtype)
        return cls(diag, tuple(off))


def _not_symmetric() -> LinearSystemError:
    return LinearSystemError("A is not symmetric; the multigrid and CG solvers need an SPD matrix")


def _wraps_around(axis: int, grid_shape: tuple[int, ...]) -> LinearSystemError:
    return LinearSystemError(f"A couples cells across the grid edge along axis {axis}; is grid_shape "
                             f"{grid_shape} right (C order, last axis fastest)?")


def _outside_pattern(count: int, grid_shape: tuple[int, ...]) -> LinearSystemError:
    return LinearSystemError(f"A has {count} nonzeros outside the {2 * len(grid_shape) + 1}-point pattern of grid "
                             f"{grid_shape}; the multigrid needs a nearest-neighbour grid operator (pass grid_shape, "
                             "or use pcg/amg for general matrices)")


def _open_count(shape: tuple[int, ...], faces) -> np.ndarray:
    cnt = np.zeros(shape)
    for face in faces:
        if face not in FACES or -FACES[face][0] > len(shape):
            raise ValueError(f"face {face!r} is not a face of a {len(shape)}-D grid ({', '.join(FACES)})")
        axis, side = FACES[face]
        idx = [slice(None)] * len(shape)
        idx[axis] = -1 if side else 0
        cnt[tuple(idx)] += 1
    return cnt


def from_coefficients(k, solid=None, dirichlet: tuple[str, ...] = (), solid_wall: str = "neumann",
                      device=None, dtype=torch.float64) -> GridOperator:
    """The finite-volume operator of ``-div(k grad u)`` on unit cells (scaled by the cell size).

    ``k``: cell coefficients (*grid), > 0 (faces take the harmonic mean of their two cells), or a
    tuple of face coefficients per axis (``k[a]`` with axis ``a`` one shorter). ``solid``: boolean
    (*grid) cells outside the domain (identity rows); their faces are no-flux walls
    (``solid_wall="neumann"``) or held at u = 0 (``"dirichlet"``). ``dirichlet``: domain faces
    ("x-", "x+", "y-", "y+", "z-", "z+") held at u = 0; the others are no-flux. A Dirichlet face
    adds ``2 k`` to its cell's diagonal (the boundary value sits half a cell away)."""
    if solid_wall not in ("neumann", "dirichlet"):
        raise ValueError(f"solid_wall must be 'neumann' or 'dirichlet', got {solid_wall!r}")
    if isinstance(k, (tuple, list)):
        faces = [np.asarray(w, dtype=float) for w in k]
        shape = tuple(s + (a == 0) for a, s in enumerate(faces[0].shape))
        kc = None
    else:
        kc = np.asarray(k, dtype=float)
        shape = kc.shape
        faces = [2 * _side_np(kc, a, True) * _side_np(kc, a, False) / (_side_np(kc, a, True) + _side_np(kc, a, False))
                 for a in range(kc.ndim)]
    if any(not np.all(np.isfinite(w)) or np.any(w < 0) for w in faces):
        raise ValueError("coefficients must be finite and >= 0")
    solid = np.zeros(shape, dtype=bool) if solid is None else np.asarray(solid, dtype=bool)
    fluid = ~solid
    diag = np.zeros(shape)
    off = []
    for a, w in enumerate(faces):
        lo, hi = _side_np(fluid, a, True), _side_np(fluid, a, False)
        w = w * (lo & hi)
        off.append(w)
        _side_np(diag, a, True)[...] += w
        _side_np(diag, a, False)[...] += w
        if solid_wall == "dirichlet":  # a fluid cell facing a solid one: u = 0 half a cell away
            k_lo = faces[a] if kc is None else _side_np(kc, a, True)
            k_hi = faces[a] if kc is None else _side_np(kc, a, False)
            _side_np(diag, a, True)[...] += 2 * k_lo * (lo & ~hi)
            _side_np(diag, a, False)[...] += 2 * k_hi * (hi & ~lo)
    if dirichlet:
        kcell = kc if kc is not None else _cell_from_faces(faces, shape)
        diag += 2 * kcell * _open_count(shape, dirichlet)
    diag = np.where(solid, 1.0, diag)
    op = GridOperator(torch.as_tensor(diag, dtype=dtype), tuple(torch.as_tensor(w, dtype=dtype) for w in off))
    return op.to(device)


def _side_np(x: np.ndarray, axis: int, lo: bool) -> np.ndarray:
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(None, -1) if lo else slice(1, None)
    return x[tuple(idx)]


def _cell_from_faces(faces, shape) -> np.ndarray:
    """A cell coefficient for Dirichlet domain faces when only face coefficients are given: the
    largest coefficient of the cell's faces."""
    k = np.zeros(shape)
    for a, w in enumerate(faces):
        np.maximum(_side_np(k, a, True), w, out=_side_np(k, a, True))
        np.maximum(_side_np(k, a, False), w, out=_side_np(k, a, False))
    return k
