"""2-D buoyant smoke in a closed box [0, 1]^2 (free-slip walls), batched in torch (CPU or GPU).

Stable-fluids splitting per step of length dt:

1. semi-Lagrangian advection of smoke density s and velocity (u, v) (bilinear back-trace);
2. a smoke inflow: s = max(s, source) in a disc near the floor;
3. buoyancy ``v += dt * buoyancy * s``;
4. an exact pressure projection onto divergence-free fields with zero normal velocity at the walls.

The projection works in the eigenbasis of the Neumann Laplacian on the cell-centred grid: u is
expanded in sin(k pi x) cos(l pi y) (DST-II along x, DCT-II along y), v in cos(k pi x) sin(l pi y),
the pressure in cos(k pi x) cos(l pi y). Each (k, l) mode's gradient part is removed in closed
form, so the result is divergence-free to round-off in that basis: the DCT form of the Neumann
Poisson solve, with no iteration. The transforms are orthonormal matrices (exact, device-agnostic).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from sciml.data.params import Int, Real
from sciml.data.registry import register_dataset


def cosine_sine_matrices(n: int, device=None, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal DCT-II ``C`` (row k: cos(pi k (i + 1/2) / n)) and DST-II ``S`` (row k: sin(pi (k+1) (i + 1/2) / n))."""
    i = (torch.arange(n, device=device, dtype=dtype) + 0.5) / n
    k = torch.arange(n, device=device, dtype=dtype)[:, None]
    c = torch.cos(math.pi * k * i) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    s = torch.sin(math.pi * (k + 1) * i) * math.sqrt(2.0 / n)
    s[-1] /= math.sqrt(2.0)
    return c, s


class SmokeBox:
    """Solver on ``res x res`` cells of the unit box; fields are (B, res, res) tensors indexed [y, x]."""

    def __init__(self, res: int, dt: float = 0.01, buoyancy: float = 1.0, device=None, dtype=torch.float64):
        self.res, self.dt, self.buoyancy = res, dt, buoyancy
        self.C, self.S = cosine_sine_matrices(res, device, dtype)
        k = torch.arange(res, device=device, dtype=dtype)
        # u coefficients: rows l = 0..n-1 (cos in y), cols k = 1..n (sin in x); v: rows l = 1..n, cols k = 0..n-1
        K, L = torch.meshgrid(k[1:], k[1:], indexing="xy")  # paired interior modes (k, l), 1..n-1, indexed [l, k]
        self.K, self.L, self.KL2 = K, L, K**2 + L**2
        x = (k + 0.5) / res
        self.xc, self.yc = x[None, :].expand(res, res), x[:, None].expand(res, res)

    def project(self, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Divergence-free part of (u, v) with u = 0 on the x walls and v = 0 on the y walls."""
        uh, vh = self.C @ u @ self.S.T, self.S @ v @ self.C.T
        pu, pv = uh[..., 1:, :-1], vh[..., :-1, 1:]  # the modes with a partner: (l, k) both in 1..n-1
        phi = (self.K * pu + self.L * pv) / self.KL2  # gradient-part coefficient per mode
        out_u, out_v = torch.zeros_like(uh), torch.zeros_like(vh)  # unpaired modes are pure gradients (or Nyquist)
        out_u[..., 1:, :-1] = pu - self.K * phi
        out_v[..., :-1, 1:] = pv - self.L * phi
        return self.C.T @ out_u @ self.S, self.S.T @ out_v @ self.C

    def divergence_modes(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Coefficients of div(u, v) / pi on the cos-cos basis for the paired modes (zero after :meth:`project`)."""
        uh, vh = self.C @ u @ self.S.T, self.S @ v @ self.C.T
        return self.K * uh[..., 1:, :-1] + self.L * vh[..., :-1, 1:]

    def advect(self, q: torch.Tensor, u: torch.Tensor, v: torch.Tensor, dt: float) -> torch.Tensor:
        """Semi-Lagrangian: q at the departure points x - dt u (clamped inside the box), bilinear."""
        px = (self.xc - dt * u).clamp(0.5 / self.res, 1 - 0.5 / self.res)
        py = (self.yc - dt * v).clamp(0.5 / self.res, 1 - 0.5 / self.res)
        grid = torch.stack([2 * px - 1, 2 * py - 1], dim=-1).to(q.dtype)
        return F.grid_sample(q[:, None], grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0]

    def step(self, s, u, v, source: torch.Tensor | None = None):
        s, u, v = (self.advect(q, u, v, self.dt) for q in (s, u, v))
        if source is not None:
            s = torch.maximum(s, source)
        return (s, *self.project(u, v + self.dt * self.buoyancy * s))

    def solve(self, s, u, v, t_out: float, frames: int, source: torch.Tensor | None = None) -> torch.Tensor:
        """Integrate; returns (B, frames + 1, 3, res, res) with fields (s, u, v) at t = k t_out / frames."""
        n = max(1, math.ceil(t_out / frames / self.dt - 1e-9))
        dt0, self.dt = self.dt, t_out / frames / n  # equal sub-steps landing exactly on frame times
        out = [torch.stack([s, u, v], 1)]
        for _ in range(frames):
            for _ in range(n):
                s, u, v = self.step(s, u, v, source)
            out.append(torch.stack([s, u, v], 1))
        self.dt = dt0
        return torch.stack(out, 1)


@register_dataset("smoke_box", res=Int(ge=8), frames=Int(ge=1), frame_dt=Real(gt=0), burn_in=Real(ge=0),
                  dt=Real(gt=0), buoyancy=Real())
def make_smoke_box(n: int = 20, res: int = 32, seed: int = 0, frames: int = 20, frame_dt: float = 0.1,
                   burn_in: float = 1.0, dt: float = 0.025, buoyancy: float = 2.0, device: str | None = None) -> xr.Dataset:
    """Rising smoke plumes: (sample, time, y, x) smoke density ``s``, velocity ``u``, ``v``.

    Each sample has a random inflow disc near the floor (centre x in [0.25, 0.75], radius
    0.05-0.1) and a weak random initial velocity; the first ``burn_in`` time units are dropped.
    """
    dev = torch.device(device) if device else torch.device("cpu")
    gen = torch.Generator().manual_seed(int(seed))
    solver = SmokeBox(res, dt, buoyancy, device=dev)
    cx = (0.25 + 0.5 * torch.rand(n, 1, 1, generator=gen, dtype=torch.float64)).to(dev)
    rad = (0.05 + 0.05 * torch.rand(n, 1, 1, generator=gen, dtype=torch.float64)).to(dev)
    source = ((solver.xc - cx) ** 2 + (solver.yc - 0.15) ** 2 < rad**2).to(torch.float64)
    u0, v0 = solver.project(*(0.2 * torch.randn(2, n, res, res, generator=gen, dtype=torch.float64).to(dev)))
    s0 = torch.zeros(n, res, res, dtype=torch.float64, device=dev)
    if burn_in > 0:
        s0, u0, v0 = solver.solve(s0, u0, v0, burn_in, 1, source)[:, -1].unbind(1)
    traj = solver.solve(s0, u0, v0, frames * frame_dt, frames, source).cpu().numpy().astype(np.float32)
    x = (np.arange(res) + 0.5) / res
    dims = ("sample", "time", "y", "x")
    return xr.Dataset(
        {"s": (dims, traj[:, :, 0], {"units": "1", "long_name": "smoke density"}),
         "u": (dims, traj[:, :, 1], {"units": "m s-1", "long_name": "x velocity"}),
         "v": (dims, traj[:, :, 2], {"units": "m s-1", "long_name": "y velocity (up)"})},
        coords={"time": ("time", np.arange(frames + 1) * frame_dt, {"units": "s"}),
                "y": ("y", x, {"units": "m"}), "x": ("x", x, {"units": "m"})},
        attrs={"title": "buoyant smoke in a closed free-slip box (semi-Lagrangian + exact cosine-basis projection)",
               "buoyancy": buoyancy, "dt": dt},
    )
