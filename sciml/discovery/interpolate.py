"""Interpolating sparse observations onto the grid: RFF-MLP (trained through the Trainer), cubic, RBF.

The RFF-MLP fits one small network per field to the observed points: inputs (x, y) rescaled to
[-pi, pi), Gaussian random Fourier features of scale ``sigma`` (rounded to integer wavenumbers, so
the fit is exactly periodic), tanh layers, loss MSE / mean(target^2). Several fields (time levels,
layers as output channels) are trained at once as a batch of independent networks.
``depth=0`` is the same random-feature model with no hidden layer: its linear readout is solved
exactly by ridge regression (in the dual, through the features' kernel; ADR 0098), with ``sigma``
optionally chosen by cross-validation on the observed points.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from sciml.train import TrainConfig, Trainer


class RFFMLP(nn.Module):
    """``n_nets`` independent MLPs on Gaussian Fourier features. Input (n_nets, P, 2) in [-pi, pi),
    output (n_nets, P, out_dim)."""

    def __init__(self, n_nets: int = 1, out_dim: int = 2, n_freq: int = 64, sigma: float = 10.0,
                 width: int = 128, depth: int = 2, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("B", torch.round(sigma * torch.randn(2, n_freq, generator=g)))
        dims = [2 * n_freq] + [width] * depth + [out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, o in zip(dims[:-1], dims[1:]):
            w = torch.randn(n_nets, i, o, generator=g) * math.sqrt(1.0 / i)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n_nets, 1, o)))

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        z = xy @ self.B
        h = torch.cat([torch.cos(z), torch.sin(z)], -1)
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights) - 1:
                h = torch.tanh(h)
        return h


def _grid_coords(n: int) -> torch.Tensor:
    c = -math.pi + 2 * math.pi * (torch.arange(n, dtype=torch.float32) + 0.5) / n
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy], -1).reshape(-1, 2)


def rff_interpolate(values: torch.Tensor, mask: torch.Tensor, steps: int = 1500, lr: float = 2e-3,
                    width: int = 128, depth: int = 2, n_freq: int = 64, sigma: float = 10.0,
                    seed: int = 0, device: str = "cpu", shared: bool = True) -> torch.Tensor:
    """Fill fields ``values`` (F, C, ny, nx) observed where ``mask`` (F, ny, nx) is True.

    One network per field F (C channels out, e.g. the two layers), all with the same number of
    observed points. With ``shared`` and one mask for all fields (fixed sensors), a single
    network with F*C outputs is trained instead: F times cheaper, and its errors are correlated
    across time, so they largely cancel in increments. Trained full batch with Adam (amsgrad)
    through :class:`sciml.train.Trainer`. Returns the fields (F, C, ny, nx) evaluated on the full
    grid (same dtype as ``values``). ``depth=0``: no hidden layer, the linear readout on ``n_freq``
    features is solved exactly (:func:`rff_ridge_interpolate`; use many features, e.g. 2**20).
    """
    F, C, ny, nx = values.shape
    if depth == 0:
        return rff_ridge_interpolate(values, mask, sigma, n_freq, seed=seed)
    if shared and F > 1 and bool((mask == mask[:1]).all()):
        out = rff_interpolate(values.reshape(1, F * C, ny, nx), mask[:1], steps, lr, width, depth, n_freq,
                              sigma, seed, device, shared=False)
        return out.reshape(F, C, ny, nx)
    grid = _grid_coords(nx)
    idx = [torch.nonzero(mask[f].reshape(-1)).squeeze(1) for f in range(F)]
    if len({len(i) for i in idx}) != 1:
        raise ValueError("rff_interpolate needs the same number of observed points in every field")
    flat = values.reshape(F, C, -1).float()
    scale = flat.std(-1, keepdim=True).mean(0, keepdim=True)                  # per-channel scale
    x = torch.stack([grid[i] for i in idx])                                     # (F, P, 2)
    y = torch.stack([(flat[f] / scale[0])[:, idx[f]].T for f in range(F)])      # (F, P, C)
    model = RFFMLP(F, C, n_freq, sigma, width, depth, seed)
    norm = y.pow(2).mean((1, 2))

    def loss(net: nn.Module, _batch) -> torch.Tensor:
        return ((net(x.to(_dev(net))) - y.to(_dev(net))).pow(2).mean((1, 2)) / norm.to(_dev(net))).sum()

    cfg = TrainConfig(epochs=1, steps_per_epoch=steps, lr=lr, optimizer="adam",
                      optimizer_kwargs={"amsgrad": True}, scheduler="cosine", grad_clip=None,
                      amp=False, device=device, seed=seed, progress=False)
    Trainer(model, cfg, train_data=None, compute_loss=loss).fit()
    with torch.no_grad():
        trained = model.to(device)
        out = trained(grid.expand(F, -1, -1).to(device)).cpu()                # (F, ny*nx, C)
    return (out.permute(0, 2, 1) * scale[0]).reshape(F, C, ny, nx).to(values.dtype)


def rff_kernel(n: int, sigma: float, n_freq: int, seed: int = 0) -> torch.Tensor:
    """k(d) = sum_j cos(b_j . d 2 pi / n) on grid offsets d (n, n): the inner product of the features
    [cos(b_j . x), sin(b_j . x)] of ``n_freq`` Gaussian frequencies b_j ~ round(N(0, sigma^2 I)) at two
    grid points (x in [-pi, pi)). Integer frequencies alias onto an (n, n) histogram, so any number
    of features costs one FFT."""
    g = torch.Generator().manual_seed(seed)
    B = torch.round(sigma * torch.randn(n_freq, 2, generator=g, dtype=torch.float64)).long() % n
    hist = torch.zeros(n * n, dtype=torch.float64).index_add_(0, B[:, 0] * n + B[:, 1],
                                                               torch.ones(n_freq, dtype=torch.float64))
    return torch.fft.ifft2(hist.reshape(n, n).to(torch.complex128)).real * (n * n)


def _gram(kern: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kernel matrix between flat grid indices ``a`` and ``b`` of the periodic kernel field ``kern`` (n, n)."""
    n = kern.shape[0]
    return kern[(a[:, None] // n - b[None] // n) % n, (a[:, None] % n - b[None] % n) % n]


def ridge_factor(kern: torch.Tensor, idx: torch.Tensor, ridge: float) -> torch.Tensor:
    """Cholesky factor of ``K_obs,obs + ridge mean(diag) I`` for the observed flat indices ``idx``."""
    K = _gram(kern, idx, idx)
    return torch.linalg.cholesky(K + ridge * K.diagonal().mean() * torch.eye(len(idx), dtype=K.dtype))


def _ridge_fit(kern: torch.Tensor, idx: torch.Tensor, Y: torch.Tensor, ridge: float, out_idx: torch.Tensor):
    """Ridge readout in the dual: K_out,obs (K_obs,obs + ridge mean(diag) I)^-1 Y."""
    return _gram(kern, out_idx, idx) @ torch.cholesky_solve(Y, ridge_factor(kern, idx, ridge))


class RidgeFill:
    """The ``rff`` interpolator (Gaussian RFF, exact ridge readout, ADR 0098) as a reusable operator.

    ``fill(values (C, n, n), mask (n, n)) -> (C, n, n)``: the Cholesky factor of the observed
    points' kernel matrix is cached for the last mask (fixed sensors factor once), and the readout
    is extended to the grid by one circular convolution with the kernel (FFT), not a dense
    grid-by-points kernel matrix.
    """

    def __init__(self, n: int, sigma: float = 6.0, n_freq: int = 2 ** 20, ridge: float = 1e-6, seed: int = 0):
        self.n, self.sigma, self.ridge = n, sigma, ridge
        self.kern = rff_kernel(n, sigma, n_freq, seed)
        self.kern_hat = torch.fft.rfft2(self.kern)
        self._idx, self._chol = None, None

    def _factor(self, idx: torch.Tensor) -> torch.Tensor:
        if self._idx is None or len(self._idx) != len(idx) or not torch.equal(self._idx, idx):
            self._idx, self._chol = idx, ridge_factor(self.kern, idx, self.ridge)
        return self._chol

    def __call__(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = self.n
        lead = values.shape[:-2]
        idx = torch.nonzero(mask.reshape(-1).cpu()).squeeze(1)
        Y = values.reshape(-1, n * n).to(torch.float64).cpu()[:, idx]                # (C, P)
        alpha = torch.cholesky_solve(Y.T, self._factor(idx)).T                      # (C, P)
        A = torch.zeros(Y.shape[0], n * n, dtype=torch.float64).index_copy_(1, idx, alpha)
        out = torch.fft.irfft2(torch.fft.rfft2(A.reshape(-1, n, n)) * self.kern_hat, s=(n, n))
        return out.reshape(*lead, n, n).to(values)


def rff_ridge_interpolate(values: torch.Tensor, mask: torch.Tensor, sigma: float | tuple = 6.0,
                          n_freq: int = 2 ** 20, ridge: float = 1e-6, seed: int = 0, folds: int = 5) -> torch.Tensor:
    """Gaussian RFF model with a linear readout fitted by ridge regression, for fields ``values``
    (F, C, n, n) observed where ``mask`` (F, n, n) is True (periodic square grid).

    Exactly the ridge solution on ``n_freq`` random Fourier features (integer wavenumbers of scale
    ``sigma``), computed in the dual through :func:`rff_kernel` by :class:`RidgeFill`: one Cholesky
    solve per mask for all fields that share it. A tuple ``sigma`` is chosen by ``folds``-fold
    cross-validation of the relative error on the observed points (no truth used;
    :func:`rff_select_sigma` returns it).
    """
    F, C, ny, nx = values.shape
    if ny != nx:
        raise ValueError("rff_ridge_interpolate needs a square grid")
    flat = values.reshape(F, C, -1).to(torch.float64).cpu()
    masks = mask.reshape(F, -1).cpu()
    out = torch.empty(F, C, ny, nx, dtype=torch.float64)
    done = torch.zeros(F, dtype=torch.bool)
    fills: dict[float, RidgeFill] = {}
    for f in range(F):
        if done[f]:
            continue
        group = (masks == masks[f]).all(1) & ~done
        if isinstance(sigma, (tuple, list)):
            idx = torch.nonzero(masks[f]).squeeze(1)
            Y = flat[group][:, :, idx].reshape(-1, len(idx)).T                   # (P, G*C)
            s = rff_select_sigma(Y, idx, nx, sigma, n_freq, ridge, seed, folds)
        else:
            s = sigma
        if s not in fills:                                   # the kernel FFT and features are built once per scale
            fills[s] = RidgeFill(nx, s, n_freq, ridge, seed)
        fill = fills[s]
        out[group] = fill(flat[group].reshape(-1, ny, nx), masks[f].reshape(ny, nx)).reshape(-1, C, ny, nx)
        done |= group
    return out.to(values.dtype).to(values.device)


def rff_select_sigma(Y: torch.Tensor, idx: torch.Tensor, n: int, sigmas, n_freq: int = 2 ** 20,
                     ridge: float = 1e-6, seed: int = 0, folds: int = 5) -> float:
    """The ``sigma`` of ``sigmas`` with the smallest ``folds``-fold cross-validated error of the
    ridge RFF fit on the observed points ``idx`` (values ``Y`` (P, fields), columns scaled to unit RMS)."""
    Ys = Y / Y.pow(2).mean(0, keepdim=True).sqrt().clamp(min=1e-300)
    fold = torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed)) % folds
    errs = []
    for s in sigmas:
        kern = rff_kernel(n, s, n_freq, seed)
        e = 0.0
        for k in range(folds):
            tr, te = fold != k, fold == k
            e += float((_ridge_fit(kern, idx[tr], Ys[tr], ridge, idx[te]) - Ys[te]).pow(2).sum())
        errs.append(e)
    return float(sigmas[int(np.argmin(errs))])


def spectral_interpolate(values: torch.Tensor, mask: torch.Tensor, kmax: float | None = None,
                         fill: float = 0.96, ridge: float = 0.0, rcond: float | None = None) -> torch.Tensor:
    """Band-limited least-squares Fourier fit of fields ``values`` (F, C, ny, nx) to the points
    where ``mask`` (F, ny, nx) is True (periodic square grid).

    The unknowns are the real Fourier coefficients of all integer wavenumbers with |k| <= ``kmax``
    (default: the largest radius whose number of unknowns is at most ``fill`` times the number of
    observed points). Fields that share a mask share one least-squares solve (vectorised over
    channels). ``ridge`` > 0 adds Tikhonov damping ``ridge * (n_points / 2) * |c|^2`` (near the
    critical fill the plain solve is ill-conditioned); ``rcond`` truncates small singular values
    of the plain solve instead. Exact for fields band-limited to ``kmax``; a diagnostic of how accurate an
    interpolator without spectral bias can be at a given density.
    """
    F, C, ny, nx = values.shape
    if ny != nx:
        raise ValueError("spectral_interpolate needs a square grid")
    dt = torch.float64
    k1 = torch.fft.fftfreq(nx, 1.0 / nx, dtype=dt)
    ks = torch.stack(torch.meshgrid(k1, k1, indexing="ij"), -1).reshape(-1, 2)      # (ky, kx)
    ks = ks[(ks[:, 1] > 0) | ((ks[:, 1] == 0) & (ks[:, 0] >= 0))]                    # half plane
    kabs = ks.norm(dim=1)
    grid = torch.stack(torch.meshgrid(torch.arange(ny, dtype=dt), torch.arange(nx, dtype=dt), indexing="ij"),
                       -1).reshape(-1, 2) * (2 * math.pi / nx)
    out = torch.empty(F, C, ny * nx, dtype=dt)
    flat = values.reshape(F, C, -1).to(dt).cpu()
    masks = mask.reshape(F, -1).cpu()
    done = torch.zeros(F, dtype=torch.bool)
    for f in range(F):
        if done[f]:
            continue
        group = (masks == masks[f]).all(1) & ~done
        idx = torch.nonzero(masks[f]).squeeze(1)
        if kmax is None:                          # n unknowns = 2 * n_modes - 1 (k = 0 has no sine)
            order = kabs.sort().values
            n_ok = int(((2 * torch.arange(1, len(order) + 1) - 1) <= fill * len(idx)).sum())
            radius = float(order[max(n_ok - 1, 0)])
            sel = ks[kabs <= radius]
        else:
            sel = ks[kabs <= kmax]
        def basis(pts: torch.Tensor) -> torch.Tensor:
            ph = pts @ sel.T
            return torch.cat([torch.cos(ph), torch.sin(ph[:, 1:])], 1)   # sel[0] is k = 0
        A = basis(grid[idx])
        Y = flat[group][:, :, idx].reshape(-1, len(idx)).T                     # (P, G*C)
        if ridge > 0:
            M = A.T @ A + ridge * len(idx) / 2 * torch.eye(A.shape[1], dtype=dt)
            sol = torch.cholesky_solve(A.T @ Y, torch.linalg.cholesky(M))
        else:
            sol = torch.linalg.lstsq(A, Y, rcond=rcond, driver="gelsd").solution
        out[group] = (basis(grid) @ sol).T.reshape(-1, C, ny * nx)
        done |= group
    return out.reshape(F, C, ny, nx).to(values.dtype).to(values.device)


def _dev(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def _periodic_points(mask: np.ndarray, pad: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Observed points of a periodic grid plus their images within ``pad`` of the domain edges."""
    n = mask.shape[-1]
    iy, ix = np.nonzero(mask)
    pts, src = [], []
    for sy in (-1, 0, 1):
        for sx in (-1, 0, 1):
            py, px = iy + sy * n, ix + sx * n
            keep = (py > -pad * n) & (py < (1 + pad) * n) & (px > -pad * n) & (px < (1 + pad) * n)
            pts.append(np.stack([py[keep], px[keep]], 1))
            src.append(np.flatnonzero(keep))
    return np.concatenate(pts).astype(float), np.concatenate(src)


class CubicFill:
    """Periodic cubic (Clough-Tocher) interpolation as a ``fill``; the triangulation is cached per mask."""

    def __init__(self):
        self._mask, self._tri, self._src = None, None, None

    def __call__(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from scipy.interpolate import CloughTocher2DInterpolator
        from scipy.spatial import Delaunay
        m = mask.cpu().numpy()
        n = m.shape[-1]
        if self._mask is None or not np.array_equal(self._mask, m):
            pts, src = _periodic_points(m)
            self._mask, self._tri, self._src = m, Delaunay(pts), src
        lead = values.shape[:-2]
        v = values.reshape(-1, n, n).cpu().numpy()[:, m][:, self._src].T               # (points, C)
        gy, gx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        out = CloughTocher2DInterpolator(self._tri, v)(np.stack([gy.ravel(), gx.ravel()], 1).astype(float))
        return torch.as_tensor(out.T.reshape(*lead, n, n)).to(values)


def scipy_interpolate(values: torch.Tensor, mask: torch.Tensor, method: str = "cubic") -> torch.Tensor:
    """Periodic ``scipy`` interpolation of fields (F, C, ny, nx) from ``mask`` (F, ny, nx):
    ``cubic`` (Clough-Tocher griddata) or ``rbf`` (thin-plate RBF, 64 nearest neighbours)."""
    from scipy.interpolate import RBFInterpolator
    if method not in ("cubic", "rbf"):
        raise ValueError(f"method must be 'cubic' or 'rbf', got {method!r}")
    F, C, ny, nx = values.shape
    if method == "cubic":  # one triangulation per distinct mask, all channels at once
        cubic = CubicFill()
        return torch.stack([cubic(values[f].cpu(), mask[f]) for f in range(F)]).to(values.dtype)
    gy, gx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    targets = np.stack([gy.ravel(), gx.ravel()], 1).astype(float)
    out = np.empty(values.shape)
    for f in range(F):
        m = mask[f].cpu().numpy()
        pts, src = _periodic_points(m)
        for c in range(C):
            v = values[f, c].cpu().numpy()[m][src]
            out[f, c] = RBFInterpolator(pts, v, neighbors=64, kernel="thin_plate_spline")(targets).reshape(ny, nx)
    return torch.as_tensor(out, dtype=values.dtype)
