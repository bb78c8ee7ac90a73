"""Linear forward operators ``y = A x + noise`` for imaging inverse problems.

All act on batches of single-channel images ``x: (B, 1, H, W)`` (float, values about [0, 1])
and are device-agnostic (their buffers follow ``.to(device)``). Each provides ``A`` (``forward``),
its adjoint ``adjoint``, and ``data_prox(v, y, rho) = argmin_x 1/2 ||A x - y||^2 + rho/2 ||x - v||^2``,
exact in Fourier space for blur, pointwise for masks, and by batched conjugate gradients otherwise.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from sciml.errors import DimensionError, NonFiniteError
from sciml.utils.optional import require


def _bdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample inner product, shape (B, 1, ..., 1) broadcastable against a."""
    return (a * b).flatten(1).sum(1).view(-1, *([1] * (a.ndim - 1)))


def conjugate_gradient(apply, b: torch.Tensor, x0: torch.Tensor, iters: int = 50, tol: float = 1e-6) -> torch.Tensor:
    """Solve ``apply(x) = b`` per sample for a symmetric positive definite ``apply`` (batched CG)."""
    x = x0.clone()
    r = b - apply(x)
    p = r.clone()
    rs = _bdot(r, r)
    bnorm = _bdot(b, b).clamp_min(1e-30)
    for _ in range(iters):
        if bool((rs <= tol**2 * bnorm).all()):
            break
        ap = apply(p)
        step = rs / _bdot(p, ap).clamp_min(1e-30)
        x = x + step * p
        r = r - step * ap
        rs_new = _bdot(r, r)
        p = r + (rs_new / rs.clamp_min(1e-30)) * p
        rs = rs_new
    return x


class LinearOperator(nn.Module):
    """Base class. Subclasses set ``image_shape = (H, W)`` and implement ``_forward_op`` / ``_adjoint_op``."""

    image_shape: tuple[int, int]
    name = "operator"

    def _check(self, x: torch.Tensor, shape: tuple[int, ...], what: str) -> None:
        if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
            raise DimensionError(f"{self.name}: {what} must have shape (B, {', '.join(map(str, shape))}), "
                                 f"got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise NonFiniteError(f"{self.name}: {what} contains NaN or Inf")

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1, *self.image_shape)

    def out_shape(self) -> tuple[int, ...]:
        return self.in_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x, self.in_shape, "image x")
        return self._forward_op(x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        self._check(y, self.out_shape(), "measurement y")
        return self._adjoint_op(y)

    def _adjoint_op(self, y: torch.Tensor) -> torch.Tensor:  # generic: vjp of the linear map
        x0 = torch.zeros(y.shape[0], *self.in_shape, device=y.device, dtype=y.dtype, requires_grad=True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._forward_op(x0), x0, grad_outputs=y)
        return g

    def data_prox(self, v: torch.Tensor, y: torch.Tensor, rho: float, iters: int = 50) -> torch.Tensor:
        """``argmin_x 1/2 ||A x - y||^2 + rho/2 ||x - v||^2`` (CG on the normal equations)."""
        rhs = self._adjoint_op(y) + rho * v
        return conjugate_gradient(lambda x: self._adjoint_op(self._forward_op(x)) + rho * x, rhs, v, iters=iters)

    def measure(self, x: torch.Tensor, noise: float, seed: int = 0) -> torch.Tensor:
        """``A x + noise * N(0, 1)`` with a fixed seed."""
        y = self(x)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        return y + noise * torch.randn(y.shape, generator=gen).to(y)


class GaussianBlur(LinearOperator):
    """Periodic convolution with a normalised Gaussian kernel of std ``sigma`` pixels (symmetric: A^T = A)."""

    name = "GaussianBlur"

    def __init__(self, image_shape: tuple[int, int], sigma: float = 1.0):
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.image_shape, self.sigma = tuple(image_shape), float(sigma)
        h, w = self.image_shape
        dy = torch.fft.fftfreq(h, 1.0 / h).double()  # signed integer offsets 0, 1, ..., -1
        dx = torch.fft.fftfreq(w, 1.0 / w).double()
        k = torch.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * self.sigma**2))
        k = k / k.sum()
        self.register_buffer("transfer", torch.fft.rfft2(k))  # complex128; cast per call

    def _spec(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """FFT in float32 at least (bf16/half FFTs are unsupported or inaccurate) and the matching transfer."""
        xf = x if x.dtype == torch.float64 else x.float()
        h = self.transfer.to(torch.complex128 if xf.dtype == torch.float64 else torch.complex64)
        return torch.fft.rfft2(xf), h

    def _forward_op(self, x: torch.Tensor) -> torch.Tensor:
        fx, h = self._spec(x)
        return torch.fft.irfft2(fx * h, s=self.image_shape).to(x.dtype)

    def _adjoint_op(self, y: torch.Tensor) -> torch.Tensor:
        fy, h = self._spec(y)
        return torch.fft.irfft2(fy * h.conj(), s=self.image_shape).to(y.dtype)

    def data_prox(self, v, y, rho, iters=0):
        fy, h = self._spec(y)
        fv, _ = self._spec(v)
        return torch.fft.irfft2((fy * h.conj() + rho * fv) / (h.abs() ** 2 + rho), s=self.image_shape).to(v.dtype)


class Inpainting(LinearOperator):
    """Keep a random fraction ``keep`` of the pixels (the rest read as 0): A = A^T = diag(mask)."""

    name = "Inpainting"

    def __init__(self, image_shape: tuple[int, int], keep: float = 0.5, seed: int = 0):
        super().__init__()
        if not 0 < keep <= 1:
            raise ValueError(f"keep must be in (0, 1], got {keep}")
        self.image_shape = tuple(image_shape)
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("mask", (torch.rand(1, 1, *self.image_shape, generator=gen) < keep).float())

    def _forward_op(self, x):
        return x * self.mask

    def _adjoint_op(self, y):
        return y * self.mask

    def data_prox(self, v, y, rho, iters=0):
        return (self.mask * y + rho * v) / (self.mask + rho)


class CompressedSensing(LinearOperator):
    """``y = G x.flatten() / sqrt(m)`` with a fixed Gaussian ``G`` of ``m = ratio * H * W`` rows."""

    name = "CompressedSensing"

    def __init__(self, image_shape: tuple[int, int], ratio: float = 0.3, seed: int = 0):
        super().__init__()
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        self.image_shape = tuple(image_shape)
        n = self.image_shape[0] * self.image_shape[1]
        self.m = max(1, int(round(ratio * n)))
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("matrix", torch.randn(self.m, n, generator=gen) / math.sqrt(self.m))

    def out_shape(self):
        return (self.m,)

    def _forward_op(self, x):
        return x.flatten(1) @ self.matrix.T.to(x.dtype)

    def _adjoint_op(self, y):
        return (y @ self.matrix.to(y.dtype)).view(-1, *self.in_shape)


class Radon(LinearOperator):
    """Parallel-beam Radon transform, matching ``skimage.transform.radon(image, theta, circle=True)``.

    For each angle the image is rotated about pixel ``N // 2`` with bilinear interpolation (zeros
    outside), as skimage does, and summed over rows. Output ``(B, N, n_angles)``; square images only,
    and the image should vanish outside the inscribed circle (as for skimage's ``circle=True``).
    The adjoint (back-projection) is the exact vector-Jacobian product of this map.
    """

    name = "Radon"

    def __init__(self, image_shape: tuple[int, int], angles_deg=None, n_angles: int = 30):
        super().__init__()
        if image_shape[0] != image_shape[1]:
            raise DimensionError(f"Radon needs a square image, got {tuple(image_shape)}")
        self.image_shape = tuple(image_shape)
        n = self.image_shape[0]
        theta = np.linspace(0.0, 180.0, n_angles, endpoint=False) if angles_deg is None else np.asarray(angles_deg)
        self.theta = theta
        c = n // 2
        t = np.deg2rad(theta)[:, None, None]
        rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        src_x = np.cos(t) * (cols - c) + np.sin(t) * (rows - c) + c
        src_y = -np.sin(t) * (cols - c) + np.cos(t) * (rows - c) + c
        grid = np.stack([2 * src_x / (n - 1) - 1, 2 * src_y / (n - 1) - 1], axis=-1)  # (A, n, n, 2)
        self.register_buffer("grid", torch.tensor(grid, dtype=torch.float32))

    def out_shape(self):
        return (self.image_shape[0], len(self.theta))

    def _forward_op(self, x):
        b, a = x.shape[0], self.grid.shape[0]
        img = x.expand(b, a, *self.image_shape).reshape(b * a, 1, *self.image_shape)
        grid = self.grid.to(x.dtype).repeat(b, 1, 1, 1)
        rot = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return rot.view(b, a, *self.image_shape).sum(2).transpose(1, 2)  # (B, N, A)

    def fbp(self, y: torch.Tensor) -> torch.Tensor:
        """Filtered back-projection through skimage (a classical baseline / initial guess)."""
        iradon = require("skimage.transform", extra="bench", package="scikit-image").iradon

        out = [iradon(s.detach().cpu().double().numpy(), theta=self.theta, circle=True, filter_name="ramp")
               for s in y]
        return torch.tensor(np.stack(out), dtype=y.dtype, device=y.device)[:, None]
