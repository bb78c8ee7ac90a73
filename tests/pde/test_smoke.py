import math

import numpy as np
import torch

from sciml.data import make_dataset
from sciml.pde.smoke import SmokeBox, cosine_sine_matrices


def _grid(n):
    x = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return x[None, :].expand(n, n), x[:, None].expand(n, n)  # X, Y indexed [y, x]


def test_transforms_are_orthonormal():
    c, s = cosine_sine_matrices(12)
    torch.testing.assert_close(c @ c.T, torch.eye(12, dtype=torch.float64))
    torch.testing.assert_close(s @ s.T, torch.eye(12, dtype=torch.float64))


def test_projection_keeps_solenoidal_removes_gradients_and_is_idempotent():
    n, box = 24, SmokeBox(24)
    X, Y = _grid(n)
    # solenoidal with free-slip walls: psi = sin(2 pi x) sin(3 pi y), (u, v) = (psi_y, -psi_x)
    u = 3 * math.pi * torch.sin(2 * math.pi * X) * torch.cos(3 * math.pi * Y)
    v = -2 * math.pi * torch.cos(2 * math.pi * X) * torch.sin(3 * math.pi * Y)
    pu, pv = box.project(u[None], v[None])
    torch.testing.assert_close((pu[0], pv[0]), (u, v))
    # a pure gradient, grad cos(4 pi x) cos(pi y), plus x- and y-only gradients: removed entirely
    gu = -4 * math.pi * torch.sin(4 * math.pi * X) * torch.cos(math.pi * Y) + torch.sin(math.pi * X)
    gv = -math.pi * torch.cos(4 * math.pi * X) * torch.sin(math.pi * Y) + Y**2
    zu, zv = box.project(gu[None], gv[None])
    assert float(zu.abs().max()) < 1e-12 and float(zv.abs().max()) < 1e-12
    # random fields: divergence-free to round-off, and projecting twice changes nothing
    r = torch.randn(2, 3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pu, pv = box.project(r[0], r[1])
    assert float(box.divergence_modes(pu, pv).abs().max()) < 1e-9 * float(box.divergence_modes(r[0], r[1]).abs().max())
    torch.testing.assert_close(box.project(pu, pv), (pu, pv))


def test_stratified_smoke_at_rest_stays_at_rest():
    """Buoyancy of a horizontally uniform s(y) is a pure gradient: the projection cancels it exactly."""
    n, box = 16, SmokeBox(16, dt=0.05, buoyancy=3.0)
    _, Y = _grid(n)
    s = torch.exp(-Y * 3)[None].clone()
    z = torch.zeros_like(s)
    s1, u1, v1 = box.step(s, z, z)
    assert float(u1.abs().max()) < 1e-12 and float(v1.abs().max()) < 1e-12
    torch.testing.assert_close(s1, s)


def test_semi_lagrangian_moves_one_cell_exactly():
    n, box = 16, SmokeBox(16)
    q = torch.randn(1, n, n, dtype=torch.float64)
    u = torch.full_like(q, 2.0)  # 2 m/s for dt = 1/32 s: exactly one cell of 1/16
    out = box.advect(q, u, torch.zeros_like(q), dt=1 / 32)
    torch.testing.assert_close(out[..., 1:], q[..., :-1])


def test_dataset_plume_rises_and_is_solenoidal():
    ds = make_dataset("smoke_box", n=2, res=16, frames=4, burn_in=0.2)
    assert ds["s"].dims == ("sample", "time", "y", "x") and ds.sizes["time"] == 5
    assert all(np.isfinite(ds[v].values).all() for v in ("s", "u", "v"))
    s = ds.s.values
    height = (s * ds.y.values[None, None, :, None]).sum((-2, -1)) / s.sum((-2, -1))
    assert np.all(height[:, -1] > height[:, 0])  # buoyant smoke rises
    box = SmokeBox(16)
    u, v = (torch.as_tensor(ds[k].values[:, -1], dtype=torch.float64) for k in ("u", "v"))
    assert float(box.divergence_modes(u, v).abs().max()) < 1e-5 * float(u.abs().max() + 1e-30) * 16
