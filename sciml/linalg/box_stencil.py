"""A 2-D symmetric 5x5 (25-point) grid operator: the Galerkin coarse operators of the 2-D multigrid.

The multigrid's operator-dependent prolongation ``P`` reaches one coarse cell to each side, so a coarse
cell's basis function covers 4 x 4 fine cells, and the Galerkin product ``P^T A P`` of a 5-point operator
couples coarse cells up to two apart along each axis: a 5x5 stencil. ``P^T A P`` of a 5x5 operator is
5x5 again, so one storage serves every coarse level. The Galerkin product makes each coarse correction
the A-orthogonal projection onto the coarse space, which the rediscretised 5-point operators are not at
high contrast (docs/adr/0106).

Storage: the diagonal, and the matrix entries towards the 12 neighbours of :data:`OFFSETS` (the half of
the stencil after the cell in row-major order): ``coef[k][i] = A[i, i + OFFSETS[k]]``, 0 where that
neighbour is outside the grid; ``A[i, i - o]`` is the entry stored at ``i - o`` (symmetry). Entries are
matrix entries (couplings are negative), unlike :class:`~sciml.linalg.stencil.GridOperator`'s face
conductances: Galerkin operators of high-contrast problems have positive off-diagonal entries too.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from sciml.linalg import stencil_kernels
from sciml.linalg.stencil import GridStencil

OFFSETS = ((0, 1), (0, 2), (1, -2), (1, -1), (1, 0), (1, 1), (1, 2), (2, -2), (2, -1), (2, 0), (2, 1), (2, 2))
_OFFSETS = np.array(OFFSETS, dtype=np.int64)
_FACE_OFFSETS = np.array(((1, 0), (0, 1)), dtype=np.int64)  # a GridOperator's faces along axis 0, axis 1
BLOCK = 64  # coarse columns per block of the Galerkin kernel: its work array (12 x 12 x 64 doubles) fits L1
PAD = 4  # zero cells around the fine arrays of :func:`galerkin_box`: a support (2m - 1 .. 2m + 2) plus the reach (2)


def _pair(t: torch.Tensor, o: tuple[int, int]):
    """Index tuples (src, dst): ``t[src]`` are the cells whose neighbour ``+o`` is in the grid, ``t[dst]``
    those neighbours."""
    (n0, n1), (d0, d1) = t.shape[-2:], o
    lo = (slice(max(0, -d0), n0 - max(0, d0)), slice(max(0, -d1), n1 - max(0, d1)))
    hi = (slice(max(0, d0), n0 - max(0, -d0)), slice(max(0, d1), n1 - max(0, -d1)))
    return lo, hi


class BoxOperator(GridStencil):
    """``diag`` (ny, nx), ``coef`` (12, ny, nx): see the module docstring. Rows whose diagonal is 0 (a
    coarse cell whose basis function is zero, inside a solid) get diagonal 1 and no couplings."""

    def __init__(self, diag: torch.Tensor, coef: torch.Tensor):
        if diag.ndim != 2 or coef.shape != (len(OFFSETS), *diag.shape):
            raise ValueError(f"BoxOperator needs diag (ny, nx) and coef (12, ny, nx), got {tuple(diag.shape)} "
                             f"and {tuple(coef.shape)}")
        self.diag = torch.where(diag > 0, diag, torch.ones_like(diag)).contiguous()
        self.coef = coef.contiguous()

    def to(self, device=None, dtype=None) -> BoxOperator:
        return BoxOperator(self.diag.to(device=device, dtype=dtype), self.coef.to(device=device, dtype=dtype))

    def apply(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``A x`` for ``x`` (ny, nx); torch (differentiable in ``x``) or the fused CPU kernel."""
        if out is not None and stencil_kernels.available(x, self.diag):
            self.pass_into(stencil_kernels.APPLY, x, out)
            return out
        y = self.diag * x
        for c, o in zip(self.coef, OFFSETS):
            lo, hi = _pair(x, o)
            y[lo] = y[lo] + c[lo] * x[hi]
            y[hi] = y[hi] + c[lo] * x[lo]
        if out is None:
            return y
        return out.copy_(y)

    def pass_into(self, mode: int, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor | None = None,
                  winv: torch.Tensor | None = None) -> None:
        """One fused CPU pass into ``y`` (not ``x``): ``A x``, ``b - A x`` or the Jacobi step
        ``x + winv (b - A x)`` (``mode``: :data:`~sciml.linalg.stencil_kernels.APPLY`, ``RESIDUAL``, ``JACOBI``)."""
        x_ = x.numpy()
        b_ = x_ if b is None else b.numpy()
        w_ = x_ if winv is None else winv.numpy()
        box_pass(self.diag.numpy(), self.coef.numpy(), _OFFSETS, x_, b_, w_, y.numpy(), mode)

    def smoothing_diagonal(self) -> torch.Tensor:
        """``max(a_ii, (a_ii + sum_j |a_ij|) / 2)``: with it, ``D^-1 A``'s spectrum lies in [0, 2]
        (Gershgorin), as for an M-matrix, so the Chebyshev-Jacobi weights stay valid; rows without
        positive off-diagonal entries keep ``a_ii`` exactly (a zero-row-sum M-matrix row has
        ``sum |a_ij| = a_ii``)."""
        off = torch.zeros_like(self.diag)
        for c, o in zip(self.coef, OFFSETS):
            lo, hi = _pair(off, o)
            off[lo] += c[lo].abs()
            off[hi] += c[lo].abs()
        return torch.maximum(self.diag, 0.5 * (self.diag + off))

    def to_csr(self) -> sp.csr_matrix:
        ny, nx = self.shape
        idx = np.arange(ny * nx).reshape(ny, nx)
        rows, cols, vals = [idx.ravel()], [idx.ravel()], [self.diag.detach().cpu().double().numpy().ravel()]
        coef = self.coef.detach().cpu().double().numpy()
        for c, o in zip(coef, OFFSETS):
            lo, hi = _pair(self.diag, o)
            i, j, v = idx[lo].ravel(), idx[hi].ravel(), c[lo].ravel()
            rows += [i, j]
            cols += [j, i]
            vals += [v, v]
        n = ny * nx
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def basis_patches(transfer, coarse_shape: tuple[int, int]) -> np.ndarray:
    """(C0, 4, 4, C1) float64: each coarse cell's column of ``P`` on its 4 x 4 support, fine cells
    ``2 m - 1 + (0..3)`` per axis (0 outside the fine grid); the coarse column index last, so the
    Galerkin kernel's innermost loops run along contiguous rows. ``P`` interpolates along axis 0, then
    axis 1, then multiplies the fine-side mask (``_Transfer.prolong_functional``), so a column is
    ``mask(f) * w0(f0 <- m0 | m1) * w1(f1 <- m1 | f0)``, the child weights of the two stages."""
    def arr(t: torch.Tensor) -> np.ndarray:
        return t.detach().double().cpu().numpy()

    (tl0, th0), (tl1, th1) = (tuple(arr(t) for t in pair) for pair in transfer.theta)
    (kl0, kh0), (kl1, kh1) = (tuple(arr(t) for t in pair) for pair in transfer.keep)
    out = np.zeros((coarse_shape[0], 4, 4, coarse_shape[1]))
    patches_from_weights(tl0, th0, kl0, kh0, tl1, th1, kl1, kh1, arr(transfer.active), out)
    return out


def _padded_split(t: torch.Tensor) -> np.ndarray:
    """(..., F0, F1) -> (..., 2, F0 + 2 PAD, W) float64: padded by :data:`PAD` zero cells on each side (and
    one more column if needed for an even width), then split into even and odd columns, so the Galerkin
    kernel reads every other fine column as a contiguous row."""
    a = t.detach().double().cpu().numpy()
    width = a.shape[-1] + 2 * PAD
    a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(PAD, PAD), (PAD, PAD + width % 2)])
    return np.ascontiguousarray(np.stack([a[..., 0::2], a[..., 1::2]], axis=-3))


def galerkin(fine: GridStencil, transfer, coarse_shape: tuple[int, int], dtype: torch.dtype) -> BoxOperator:
    """``P^T A P`` as a :class:`BoxOperator`: ``fine`` a 2-D :class:`~sciml.linalg.stencil.GridOperator`
    or :class:`BoxOperator`, ``P`` the prolongation of ``transfer`` (its fine-side mask included). A fused
    kernel applies ``A`` to each coarse cell's basis function (:func:`basis_patches`) on its patch and
    takes the 13 products with its neighbours' (CPU, float64)."""
    c0, c1 = coarse_shape
    if isinstance(fine, BoxOperator):
        diag, coef, offsets = fine.diag, fine.coef, _OFFSETS
    else:
        diag, offsets = fine.diag, _FACE_OFFSETS
        coef = torch.zeros(2, *fine.shape, dtype=fine.diag.dtype, device=fine.diag.device)
        coef[0, :-1].copy_(-fine.off[0])
        coef[1, :, :-1].copy_(-fine.off[1])
    out_diag = np.zeros((c0, c1))
    out_coef = np.zeros((len(OFFSETS), c0, c1))
    galerkin_box(_padded_split(diag), _padded_split(coef), offsets, basis_patches(transfer, coarse_shape), _OFFSETS,
                 out_diag, out_coef)
    dev = transfer.active.device
    return BoxOperator(torch.from_numpy(out_diag).to(dev, dtype), torch.from_numpy(out_coef).to(dev, dtype))


if stencil_kernels.numba is not None:
    from numba import njit

    @njit(fastmath=True, cache=True)
    def box_pass(diag, coef, offsets, x, b, winv, y, mode):  # pragma: no cover - compiled
        """``y = A x`` (mode 0), ``b - A x`` (1) or ``x + winv (b - A x)`` (2) for a 5x5 operator; 2-D arrays."""
        ny, nx = x.shape
        t = np.empty(nx, dtype=x.dtype)
        for i in range(ny):
            for j in range(nx):
                t[j] = diag[i, j] * x[i, j]
            for k in range(offsets.shape[0]):
                d0, d1 = offsets[k, 0], offsets[k, 1]
                lo, hi = max(0, -d1), min(nx, nx - d1)  # cells j whose neighbour j + d1 is in the row
                # aligned views, so every index is the loop's own (it vectorises)
                if i + d0 < ny:  # forward neighbour: A[i, i + o] stored at i
                    tv, cv, xv = t[lo:hi], coef[k, i, lo:hi], x[i + d0, lo + d1:hi + d1]
                    for j in range(hi - lo):
                        tv[j] += cv[j] * xv[j]
                if i - d0 >= 0:  # backward neighbour: A[i, i - o] stored at i - o
                    tv, cv, xv = t[lo + d1:hi + d1], coef[k, i - d0, lo:hi], x[i - d0, lo:hi]
                    for j in range(hi - lo):
                        tv[j] += cv[j] * xv[j]
            if mode == 0:
                for j in range(nx):
                    y[i, j] = t[j]
            elif mode == 1:
                for j in range(nx):
                    y[i, j] = b[i, j] - t[j]
            else:
                for j in range(nx):
                    y[i, j] = x[i, j] + winv[i, j] * (b[i, j] - t[j])

    @njit(cache=True)
    def patches_from_weights(tl0, th0, kl0, kh0, tl1, th1, kl1, kh1, mask, out):  # pragma: no cover - compiled
        """:func:`basis_patches`: stage 0 arrays (C0, C1), stage 1 arrays (2 C0, C1), ``mask`` the fine grid."""
        c0n, c1n = out.shape[0], out.shape[3]
        f0n, f1n = mask.shape
        w0 = np.zeros(4)
        w1 = np.zeros(4)
        for m0 in range(c0n):
            for m1 in range(c1n):
                # stage 0: fine rows 2m0 - 1 (upper child of block m0 - 1), 2m0, 2m0 + 1, 2m0 + 2
                w0[0] = th0[m0 - 1, m1] if m0 > 0 else 0.0
                w0[1], w0[2] = kl0[m0, m1], kh0[m0, m1]
                w0[3] = tl0[m0 + 1, m1] if m0 + 1 < c0n else 0.0
                for a in range(4):
                    f0 = 2 * m0 - 1 + a
                    if f0 < 0 or f0 >= f0n or w0[a] == 0.0:
                        continue
                    w1[0] = th1[f0, m1 - 1] if m1 > 0 else 0.0
                    w1[1], w1[2] = kl1[f0, m1], kh1[f0, m1]
                    w1[3] = tl1[f0, m1 + 1] if m1 + 1 < c1n else 0.0
                    for e in range(4):
                        f1 = 2 * m1 - 1 + e
                        if 0 <= f1 < f1n:
                            out[m0, a, e, m1] = mask[f0, f1] * w0[a] * w1[e]

    @njit(fastmath=True, cache=True)
    def galerkin_box(diag, coef, offsets, phi, out_offsets, out_diag, out_coef):  # pragma: no cover - compiled
        """``P^T A P`` into ``out_diag`` (C0, C1) and ``out_coef`` (12, C0, C1). ``A``: ``diag`` and ``coef``
        (K, ...) entries towards ``offsets`` (K, 2), padded and split into even and odd columns
        (:func:`_padded_split`); ``phi`` (C0, 4, 4, C1): each coarse cell's basis function on its support, fine cells
        2m - 1 .. 2m + 2 per axis (:func:`basis_patches`). One row of coarse cells at a time, every
        innermost loop along that row (it vectorises)."""
        c0n, c1n = out_diag.shape
        reach = 0
        for k in range(offsets.shape[0]):
            reach = max(reach, abs(offsets[k, 0]), abs(offsets[k, 1]))
        # u[., ., m1] = A phi_m on the fine cells 2m - 5 .. 2m + 6 per axis (index 4 = the support's
        # first cell): the support, the stencil's reach around it, and the supports of the neighbours
        # two coarse cells away; nonzero only on indices lo .. hi - 1, which bounds every loop below
        u = np.zeros((12, 12, BLOCK))
        acc = np.zeros(BLOCK)
        lo, hi = 4 - reach, 8 + reach
        for m0 in range(c0n):
            for b0 in range(0, c1n, BLOCK):  # a block of coarse columns: u stays in the L1 cache
                nb = min(BLOCK, c1n - b0)
                u[lo:hi, lo:hi, :] = 0.0
                for a in range(4):
                    g0 = 2 * m0 - 1 + a + PAD  # padded fine row
                    for e in range(4):
                        ph = phi[m0, a, e, b0:]
                        # padded fine column of coarse column m1: 2 m1 + first, in the split arrays
                        # [first % 2][m1 + first // 2]
                        first = e - 1 + PAD + 2 * b0
                        ut, row = u[a + 4, e + 4], diag[first % 2, g0, first // 2:]
                        for m1 in range(nb):
                            ut[m1] += row[m1] * ph[m1]
                        for k in range(offsets.shape[0]):
                            d0, d1 = offsets[k, 0], offsets[k, 1]
                            ut, row = u[a + 4 + d0, e + 4 + d1], coef[k, first % 2, g0, first // 2:]  # A[g, g + o] at g
                            for m1 in range(nb):
                                ut[m1] += row[m1] * ph[m1]
                            back = first - d1  # A[g, g - o] stored at g - o
                            ut, row = u[a + 4 - d0, e + 4 - d1], coef[k, back % 2, g0 - d0, back // 2:]
                            for m1 in range(nb):
                                ut[m1] += row[m1] * ph[m1]
                for q in range(out_offsets.shape[0] + 1):  # (phi_n, A phi_m) for n = m and its 12 forward neighbours
                    q0, q1 = 0, 0
                    if q > 0:
                        q0, q1 = out_offsets[q - 1, 0], out_offsets[q - 1, 1]
                    n0 = m0 + q0
                    if n0 >= c0n:
                        continue
                    # block-local m1 with n1 = b0 + m1 + q1 inside the grid
                    m1lo, m1hi = max(0, -q1 - b0), min(nb, c1n - q1 - b0)
                    acc[:] = 0.0
                    # phi_n's cell (a, e) sits at u[2 q + (a, e) + 4]: only where u can be nonzero
                    for a in range(max(0, lo - 4 - 2 * q0), min(4, hi - 4 - 2 * q0)):
                        for e in range(max(0, lo - 4 - 2 * q1), min(4, hi - 4 - 2 * q1)):
                            ph, ut = phi[n0, a, e], u[2 * q0 + a + 4, 2 * q1 + e + 4]
                            for m1 in range(m1lo, m1hi):
                                acc[m1] += ph[b0 + m1 + q1] * ut[m1]
                    target = out_diag[m0] if q == 0 else out_coef[q - 1, m0]
                    for m1 in range(m1lo, m1hi):
                        target[b0 + m1] = acc[m1]
