"""The V-cycle block is wired like multigrid: with classical operators it solves Poisson."""
import numpy as np
import pytest
import torch

from sciml.nn.multigrid import MgConv, Prolongation, default_levels, default_smoothing

LAP = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


def _operator(stencil) -> torch.nn.Conv2d:
    A = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False, padding_mode="circular").double()
    _set(A, stencil)
    return A


def _set(conv, kernel):
    with torch.no_grad():
        conv.weight.zero_()
        k = torch.as_tensor(kernel, dtype=conv.weight.dtype)
        kh, kw = k.shape
        conv.weight[0, 0, :kh, :kw] = k


def classical_vcycle(n: int, levels: int, omega: float = 0.8) -> MgConv:
    """Cell-centred geometric multigrid on the periodic unit square with n cells per side:
    A = 5-point Laplacian on the finest level and its Galerkin product R A P (a 3x3 stencil) on the
    coarser ones, S = damped Jacobi, R = average of the 4 child cells, Pi = 0 (the coarse correction
    starts at zero), P = bilinear interpolation ([1,3,3,1]/4 per axis)."""
    smoothing = [[1, 1]] * (levels - 1) + [[30, 0]]
    mg = MgConv(1, 1, smoothing, padding_mode="circular", use_res=True).double()
    w = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 4
    for level in range(levels - 1):
        _set(mg.R[level], [[0, 0, 0], [0, 0.25, 0.25], [0, 0.25, 0.25]])
        _set(mg.Pi[level], torch.zeros(3, 3))
        with torch.no_grad():
            mg.P[level].conv.weight.zero_()
            mg.P[level].conv.weight[0, 0] = torch.outer(w, w).double()
    stencil = LAP.double() * n**2
    for level in range(levels):
        for A in [*mg.pre_A[level], *mg.post_A[level]] + ([mg.res_A[level]] if level < levels - 1 else []):
            _set(A, stencil)
        for S in [*mg.pre_S[level], *mg.post_S[level]]:
            _set(S, [[0, 0, 0], [0, omega / float(stencil[1, 1]), 0], [0, 0, 0]])
        if level < levels - 1:  # Galerkin coarse stencil R A P, read off an impulse far from the walls
            A = _operator(stencil)
            delta = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
            delta[0, 0, 4, 4] = 1
            with torch.no_grad():
                stencil = mg.R[level](A(mg.P[level](delta, (18, 18))))[0, 0, 3:6, 3:6].clone()
    return mg


@pytest.mark.parametrize("n", [32, 48])
def test_repeated_vcycles_solve_poisson(n):
    levels = 4
    mg = classical_vcycle(n, levels)
    A = _operator(LAP.double() * n**2)
    x = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    f = (torch.sin(2 * np.pi * x)[:, None] * torch.cos(6 * np.pi * x)[None, :] + torch.rand(n, n, dtype=torch.float64))
    f = (f - f.mean()).reshape(1, 1, n, n)  # periodic Poisson: solvable for zero-mean f
    u = torch.zeros_like(f)
    norms = []
    with torch.no_grad():
        for _ in range(20):
            r = f - A(u)
            norms.append(float(r.norm()))
            u = u + mg(r)
    factors = np.array(norms[1:]) / np.array(norms[:-1])
    assert factors.max() < 0.4, factors  # the same contraction on both grids: multigrid, not a smoother
    assert norms[-1] < 1e-7 * norms[0]


def test_wrong_wiring_does_not_converge():
    """Control: without the coarse correction, the same smoother stalls (the test can fail)."""
    n, levels = 32, 4
    mg = classical_vcycle(n, levels)
    for P in mg.P:
        torch.nn.init.zeros_(P.conv.weight)
    A = _operator(LAP.double() * n**2)
    f = torch.rand(1, 1, n, n, dtype=torch.float64)
    f = f - f.mean()
    u = torch.zeros_like(f)
    with torch.no_grad():
        for _ in range(15):
            u = u + mg(f - A(u))
    assert float((f - A(u)).norm()) > 1e-2 * float(f.norm())


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("n", [7, 16, 27, 53, 106])
def test_prolongation_round_trips_any_size(mode, n):
    coarse = torch.randn(1, 2, (n + 1) // 2, (n + 1) // 2)
    assert Prolongation(2, mode)(coarse, (n, n)).shape == (1, 2, n, n)


def test_circular_prolongation_is_translation_equivariant():
    p = Prolongation(1, "circular")
    c = torch.randn(1, 1, 8, 8)
    out, shifted = p(c, (16, 16)), p(torch.roll(c, 1, -1), (16, 16))
    torch.testing.assert_close(torch.roll(out, 2, -1), shifted)


def test_default_levels_and_smoothing():
    assert default_levels(211) == 6 and default_levels(64) == 5 and default_levels(32) == 4
    assert default_smoothing(3) == [[1, 0], [1, 0], [2, 0]]
