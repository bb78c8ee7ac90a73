"""Fused CPU kernels (numba) for the hot loops of the grid solvers: the 5/7-point stencil, the Jacobi
sweep, the residual, the multigrid transfers along one axis, and reading a grid operator from CSR.

Why: in torch each face of the stencil is a separate pass over the grid (a multiply, then an
``addcmul`` per face), so one 7-point product reads and writes the output seven times; a fused
loop reads each input once and writes once, and keeps a row of the grid in the L1 cache. On one
core at 128^3 this makes a float32 stencil pass ~1.3x and a float64 one ~1.6x faster, and the
restriction ~2x. The torch code stays the implementation on other devices and under autograd (the
learned V-cycle's training); the tests hold the two equal.

Every kernel works on 3-D arrays; a 2-D grid is a (1, ny, nx) view. They run on the calling thread:
numba's threaded loops keep OpenMP workers spinning after each loop, which starved torch's own
thread pool on the same cores (a 2-core test run took 3x longer), and a serial loop is
deterministic. Kernels compile on first use and are cached on disk (``cache=True``).
"""
from __future__ import annotations

import numpy as np
import torch

try:
    import numba
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; without it the torch loops run
    numba = None

APPLY, RESIDUAL, JACOBI = 0, 1, 2


def available(*tensors: torch.Tensor) -> bool:
    """True when the kernels can serve these tensors: numba present, all on the CPU, float32 or
    float64 alike, and none taking part in autograd. With no tensors: whether numba is present."""
    if numba is None:
        return False
    if not tensors:
        return True
    dt = tensors[0].dtype
    if dt not in (torch.float32, torch.float64):
        return False
    grad = torch.is_grad_enabled()
    return all(t.device.type == "cpu" and t.dtype == dt and not (grad and t.requires_grad) for t in tensors)


def as3d(t: torch.Tensor) -> np.ndarray:
    """A numpy view of a contiguous 2-D/3-D CPU tensor as 3-D (a 2-D grid gets a leading axis of 1)."""
    a = t.detach().numpy()
    return a if a.ndim == 3 else a.reshape((1,) + a.shape)


def faces3d(off: tuple[torch.Tensor, ...], shape3: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """The face arrays (wz, wy, wx) of a 2-D or 3-D operator as 3-D arrays; a 2-D grid has no z faces."""
    arrs = [as3d(w) for w in off]
    if len(arrs) == 2:
        arrs.insert(0, np.zeros((0,) + shape3[1:], dtype=arrs[0].dtype))
    return tuple(arrs)


if numba is not None:

    @njit(fastmath=True, cache=True)
    def stencil_pass(diag, wz, wy, wx, x, b, winv, y, mode):  # pragma: no cover - compiled
        """``y = A x`` (mode 0), ``y = b - A x`` (1) or ``y = x + winv (b - A x)`` (2); ``y`` must not be ``x``.
        All arrays (nz, ny, nx) except the faces (one shorter along their axis); ``b``/``winv`` are
        read only by the modes that use them."""
        nz, ny, nx = x.shape
        zero = np.zeros(nx, dtype=x.dtype)
        t = np.empty(nx, dtype=x.dtype)
        for k in range(nz):
            for j in range(ny):
                xc, d = x[k, j], diag[k, j]
                xm, wm = (x[k, j - 1], wy[k, j - 1]) if j > 0 else (zero, zero)
                xp, wp = (x[k, j + 1], wy[k, j]) if j < ny - 1 else (zero, zero)
                xl, wl = (x[k - 1, j], wz[k - 1, j]) if k > 0 else (zero, zero)
                xh, wh = (x[k + 1, j], wz[k, j]) if k < nz - 1 else (zero, zero)
                for i in range(nx):
                    t[i] = d[i] * xc[i] - wm[i] * xm[i] - wp[i] * xp[i] - wl[i] * xl[i] - wh[i] * xh[i]
                # the x faces through shifted views, so every index is the loop's own (no negative-index
                # checks in the loop: it vectorises)
                wr, x0, x1, t0, t1 = wx[k, j], xc[:-1], xc[1:], t[:-1], t[1:]
                for i in range(nx - 1):
                    t0[i] -= wr[i] * x1[i]
                for i in range(nx - 1):
                    t1[i] -= wr[i] * x0[i]
                yr = y[k, j]
                if mode == 0:
                    for i in range(nx):
                        yr[i] = t[i]
                elif mode == 1:
                    br = b[k, j]
                    for i in range(nx):
                        yr[i] = br[i] - t[i]
                else:
                    br, wv = b[k, j], winv[k, j]
                    for i in range(nx):
                        yr[i] = xc[i] + wv[i] * (br[i] - t[i])

    @njit(fastmath=True, cache=True)
    def prolong_axis(c, kp_lo, kp_hi, th_lo, th_hi, dst):  # pragma: no cover - compiled
        """Interpolate along the middle axis: ``c`` (P, M, Q) -> ``dst`` (P, 2M, Q); child ``2m`` is
        ``kp_lo c[m] + th_lo c[m-1]``, child ``2m+1`` is ``kp_hi c[m] + th_hi c[m+1]`` (weights (P, M, Q))."""
        P, M, Q = c.shape
        for p in range(P):
            for m in range(M):
                for q in range(Q):
                    v = kp_lo[p, m, q] * c[p, m, q]
                    if m > 0:
                        v += th_lo[p, m, q] * c[p, m - 1, q]
                    dst[p, 2 * m, q] = v
                    v = kp_hi[p, m, q] * c[p, m, q]
                    if m < M - 1:
                        v += th_hi[p, m, q] * c[p, m + 1, q]
                    dst[p, 2 * m + 1, q] = v

    @njit(fastmath=True, cache=True)
    def restrict_axis(f, kp_lo, kp_hi, th_lo, th_hi, c):  # pragma: no cover - compiled
        """The transpose of :func:`prolong_axis`: ``f`` (P, 2M, Q) -> ``c`` (P, M, Q)."""
        P, M, Q = c.shape
        for p in range(P):
            for m in range(M):
                for q in range(Q):
                    v = kp_lo[p, m, q] * f[p, 2 * m, q] + kp_hi[p, m, q] * f[p, 2 * m + 1, q]
                    if m < M - 1:
                        v += th_lo[p, m + 1, q] * f[p, 2 * m + 2, q]
                    if m > 0:
                        v += th_hi[p, m - 1, q] * f[p, 2 * m - 1, q]
                    c[p, m, q] = v

    @njit(fastmath=True, cache=True)
    def prolong_add_last(c, kp_lo, kp_hi, th_lo, th_hi, active, x):  # pragma: no cover - compiled
        """The last transfer stage fused with the correction: ``x += active * (c interpolated along the
        last axis)``. ``c`` and the weights (Z, Y, M) on the padded stage grid, ``active`` and ``x``
        (nz, ny, nx) with nz <= Z, ny <= Y, M = ceil(nx / 2). The weights reaching past either end
        are zero by construction, so the clamped neighbour indices below add nothing there."""
        nz, ny, nx = x.shape
        M = c.shape[2]
        for k in range(nz):
            for j in range(ny):
                cr, a, b, tl, th = c[k, j], kp_lo[k, j], kp_hi[k, j], th_lo[k, j], th_hi[k, j]
                ar, xr = active[k, j], x[k, j]
                for m in range(nx // 2):
                    mm = m - 1 if m > 0 else 0
                    mp = m + 1 if m < M - 1 else m
                    xr[2 * m] += ar[2 * m] * (a[m] * cr[m] + tl[m] * cr[mm])
                    xr[2 * m + 1] += ar[2 * m + 1] * (b[m] * cr[m] + th[m] * cr[mp])
                if nx % 2:
                    m = M - 1
                    mm = m - 1 if m > 0 else 0
                    xr[2 * m] += ar[2 * m] * (a[m] * cr[m] + tl[m] * cr[mm])

    @njit(fastmath=True, cache=True)
    def restrict_last(f, active, kp_lo, kp_hi, th_lo, th_hi, c):  # pragma: no cover - compiled
        """The first restriction stage, the transpose of :func:`prolong_add_last` without the add:
        ``active * f`` (nz, ny, nx) -> ``c`` (Z, Y, M), padded rows and cells are zero."""
        nz, ny, nx = f.shape
        Z, Y, M = c.shape
        for k in range(Z):
            g = np.zeros(2 * M + 2, dtype=c.dtype)  # the masked fine row, zero-padded at both ends
            for j in range(Y):
                cr = c[k, j]
                if k >= nz or j >= ny:
                    for m in range(M):
                        cr[m] = 0.0
                    continue
                fr, ar = f[k, j], active[k, j]
                for i in range(nx):
                    g[i + 1] = fr[i] * ar[i]
                a, b, tl, th = kp_lo[k, j], kp_hi[k, j], th_lo[k, j], th_hi[k, j]
                for m in range(M):  # fine cell i lives at g[i + 1]
                    mp = m + 1 if m < M - 1 else m
                    mm = m - 1 if m > 0 else 0
                    cr[m] = a[m] * g[2 * m + 1] + b[m] * g[2 * m + 2] + tl[mp] * g[2 * m + 3] + th[mm] * g[2 * m]

    @njit(cache=True)
    def distinct_rows(bits, limit):  # pragma: no cover - compiled
        """Group equal rows of ``bits`` (N, C) unsigned ints (the bit patterns of float features):
        returns ``(inverse, first, count)`` with ``inverse[i]`` the group of row ``i`` and ``first[g]``
        a row of group ``g``; ``count = -1`` (and the outputs unusable) once more than ``limit`` groups
        appear. An open-addressing hash table; rows are compared exactly, so a hash collision only costs
        a probe."""
        n, c = bits.shape
        size = 2
        while size < 2 * limit:
            size *= 2
        mask = np.uint64(size - 1)
        table = np.full(size, -1, np.int64)
        inverse = np.empty(n, np.int64)
        first = np.empty(limit, np.int64)
        count = 0
        for i in range(n):
            h = np.uint64(14695981039346656037)  # FNV-1a over the row's words
            for k in range(c):
                h = (h ^ np.uint64(bits[i, k])) * np.uint64(1099511628211)
            slot = h & mask
            while True:
                g = table[slot]
                if g < 0:
                    if count == limit:
                        return inverse, first, -1
                    table[slot], first[count], inverse[i] = count, i, count
                    count += 1
                    break
                j = first[g]
                same = True
                for k in range(c):
                    if bits[i, k] != bits[j, k]:
                        same = False
                        break
                if same:
                    inverse[i] = g
                    break
                slot = (slot + np.uint64(1)) & mask
        return inverse, first[:count], count

    @njit(cache=True)
    def cell_features(diag, wz, wy, wx, inv, act, dim, out):  # pragma: no cover - compiled
        """The learned V-cycle's per-cell features into ``out`` (nz, ny, nx, 2 dim + 2), channels-last:
        per axis the coupling to the lower and to the upper neighbour, then the row excess (diagonal
        minus the couplings), each times ``inv`` (1 / diag on active cells, 0 elsewhere), then ``act``
        (the active mask as 0/1). ``out`` may be float32 for float64 inputs (each value is rounded
        once, when stored). The same arithmetic in the same order as the torch construction
        (:func:`sciml.linalg.smoother_weights.level_features`), so the bits agree: no fastmath, and a
        zero typed like the grid (a literal 0 would promote float32 sums to float64)."""
        nz, ny, nx = diag.shape
        zero = diag[0, 0, 0] - diag[0, 0, 0]
        c = 0 if dim == 3 else -2  # channels of the z faces (2-D grids have none)
        for k in range(nz):
            for j in range(ny):
                for i in range(nx):
                    s, e = inv[k, j, i], diag[k, j, i]
                    if dim == 3:
                        up = wz[k, j, i] if k < nz - 1 else zero
                        lo = wz[k - 1, j, i] if k > 0 else zero
                        e = e - up
                        e = e - lo
                        out[k, j, i, c] = lo * s
                        out[k, j, i, c + 1] = up * s
                    up = wy[k, j, i] if j < ny - 1 else zero
                    lo = wy[k, j - 1, i] if j > 0 else zero
                    e = e - up
                    e = e - lo
                    out[k, j, i, c + 2] = lo * s
                    out[k, j, i, c + 3] = up * s
                    up = wx[k, j, i] if i < nx - 1 else zero
                    lo = wx[k, j, i - 1] if i > 0 else zero
                    e = e - up
                    e = e - lo
                    out[k, j, i, c + 4] = lo * s
                    out[k, j, i, c + 5] = up * s
                    out[k, j, i, 2 * dim] = e * s
                    out[k, j, i, 2 * dim + 1] = act[k, j, i]

    @njit(cache=True)
    def _close(up, lo):  # pragma: no cover - compiled
        """``np.allclose(up, lo, rtol=1e-12, atol=0)`` for one pair of entries."""
        return up == lo or (abs(up - lo) <= 1e-12 * abs(lo) and np.isfinite(lo))

    @njit(cache=True)
    def csr_grid_operator(indptr, indices, data, diag, wz, wy, wx):  # pragma: no cover - compiled
        """Read a CSR matrix on the grid (nz, ny, nx) (C order, strides ``ny nx``, ``nx``, 1) in one pass
        over its rows: ``diag`` (nz, ny, nx) gets ``A[i, i]``, and the faces ``wz``/``wy``/``wx`` (one
        shorter along their axis) ``-A[i, i + stride]``. Entries repeating a column are summed.

        Returns ``(flags, outside)``. Along axis ``a`` (0: z, 1: y, 2: x), bit ``2 a`` of ``flags``
        marks a pair with ``|A[i, j] - A[j, i]| > 1e-12 |A[j, i]|`` (j = i + stride, every i, as
        ``np.allclose``), bit ``2 a + 1`` a nonzero ``A[i, i + stride]`` from the last layer of ``a``
        (a coupling that wraps around the grid). ``outside``: nonzeros at no stencil offset. An axis of
        length 1 has no stencil offset: its stride belongs to the axis above it (or lies past the matrix)."""
        nz, ny, nx = diag.shape
        sy, sz = nx, ny * nx
        uy_prev = np.zeros(nx)  # A[i, i + nx] of the previous grid line, the partner of this line's A[i, i - nx]
        ux_prev = 0.0
        flags = outside = 0
        r = 0
        for k in range(nz):
            for j in range(ny):
                for i in range(nx):
                    dv = ux = uy = uz = lx = ly = lz = 0.0
                    for p in range(indptr[r], indptr[r + 1]):
                        d, v = indices[p] - r, data[p]
                        if d == 0:
                            dv += v
                        elif d == 1 and nx > 1:
                            ux += v
                        elif d == -1 and nx > 1:
                            lx += v
                        elif d == sy and ny > 1:
                            uy += v
                        elif d == -sy and ny > 1:
                            ly += v
                        elif d == sz and nz > 1:
                            uz += v
                        elif d == -sz and nz > 1:
                            lz += v
                        elif v != 0:
                            outside += 1
                    diag[k, j, i] = dv
                    if nx > 1:
                        if r > 0 and not _close(ux_prev, lx):
                            flags |= 16
                        if i < nx - 1:
                            wx[k, j, i] = -ux
                        elif ux != 0:
                            flags |= 32
                        ux_prev = ux
                    if ny > 1:
                        if r >= sy and not _close(uy_prev[i], ly):
                            flags |= 4
                        if j < ny - 1:
                            wy[k, j, i] = -uy
                        elif uy != 0:
                            flags |= 8
                        uy_prev[i] = uy
                    if nz > 1:
                        if k > 0 and not _close(-wz[k - 1, j, i], lz):
                            flags |= 1
                        if k < nz - 1:
                            wz[k, j, i] = -uz
                    r += 1
        return flags, outside


def along(t: torch.Tensor, axis: int, length: int) -> np.ndarray:
    """A contiguous tensor as a (P, ``length``, Q) numpy view around ``axis``."""
    s = t.shape
    return t.detach().numpy().reshape(int(np.prod(s[:axis], dtype=np.int64)), length,
                                       int(np.prod(s[axis + 1:], dtype=np.int64)))
