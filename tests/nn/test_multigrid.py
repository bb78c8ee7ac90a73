"""The V-cycle block is wired like multigrid: with classical operators it solves Poisson."""
import numpy as np
import pytest
import torch

from sciml.nn.multigrid import MgConv, Prolongation, default_levels, default_smoothing

LAP = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]], dtype=torch.float64)
FULL_WEIGHTING = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])).double() / 16
# bilinear interpolation as a 4x4 stride-2 transposed conv (padding 1): tap 1 lands on the coincident fine
# node 2i, taps 0 and 2 on its neighbours 2i -+ 1; tap 3 is unused
BILINEAR = torch.outer(torch.tensor([0.5, 1.0, 0.5, 0.0]), torch.tensor([0.5, 1.0, 0.5, 0.0])).double()


def _set(conv, kernel):
    with torch.no_grad():
        conv.weight.zero_()
        k = torch.as_tensor(kernel, dtype=conv.weight.dtype)
        kh, kw = k.shape
        conv.weight[0, 0, :kh, :kw] = k


def _laplacian(n: int) -> torch.nn.Conv2d:
    A = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False, padding_mode="circular").double()
    _set(A, LAP * n**2)
    return A


def classical_vcycle(n: int, levels: int, pre: int = 1, post: int = 1, omega: float = 0.8,
                     coarse_steps: int = 30, prolongation: str = "transposed") -> MgConv:
    """Textbook geometric multigrid on the periodic unit square (n x n nodes, h = 1/n): on level l, A is
    the 5-point Laplacian with spacing 2^l h, S is damped Jacobi (omega / diag A), R is full weighting,
    P bilinear interpolation (``prolongation="bilinear"``: the fixed interpolation, its 3x3 conv the
    identity), and Pi = 0 (the coarse correction starts from zero). ``use_res=True``
    restricts the residual, which turns the block into a correction scheme."""
    smoothing = [[pre, post]] * (levels - 1) + [[coarse_steps, 0]]
    mg = MgConv(1, 1, smoothing, padding_mode="circular", use_res=True, prolongation=prolongation).double()
    for level in range(levels):
        stencil = LAP * (n / 2**level) ** 2
        res_A = [mg.res_A[level]] if level < levels - 1 else []
        for A in [*mg.pre_A[level], *mg.post_A[level], *res_A]:
            _set(A, stencil)
        for S in [*mg.pre_S[level], *mg.post_S[level]]:
            _set(S, [[0, 0, 0], [0, omega / float(stencil[1, 1]), 0], [0, 0, 0]])
        if level < levels - 1:
            _set(mg.R[level], FULL_WEIGHTING)
            _set(mg.Pi[level], torch.zeros(3, 3))
            _set(mg.P[level].conv, BILINEAR if prolongation == "transposed" else [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    return mg


def _vcycle_residuals(mg, n, cycles, seed=0):
    """Residual norms of u <- u + V(f - A u) on a zero-mean random right-hand side."""
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(n, dtype=torch.float64) / n
    f = torch.sin(2 * np.pi * x)[:, None] * torch.cos(6 * np.pi * x)[None, :] + torch.rand(n, n, generator=g,
                                                                                           dtype=torch.float64)
    f = (f - f.mean()).reshape(1, 1, n, n)  # periodic Poisson is solvable for zero-mean f
    A, u, norms = _laplacian(n), torch.zeros_like(f), []
    with torch.no_grad():
        for _ in range(cycles):
            r = f - A(u)
            norms.append(float(r.norm()))
            u = u + mg(r)
    return np.array(norms)


@pytest.mark.parametrize("n, levels, prolongation", [(32, 4, "transposed"), (48, 4, "transposed"),
                                                     (64, 5, "transposed"), (48, 4, "bilinear")])
def test_repeated_vcycles_solve_poisson(n, levels, prolongation):
    norms = _vcycle_residuals(classical_vcycle(n, levels, prolongation=prolongation), n, 18)
    factors = norms[1:] / norms[:-1]
    # V(1,1) with omega = 0.8 Jacobi contracts by about 0.35 per cycle on every grid: multigrid, not a smoother
    assert factors.max() < 0.45, factors
    assert norms[-1] < 1e-7 * norms[0]


def test_paper_smoothing_without_post_steps_still_converges():
    """The paper's default wiring (1 pre-smoothing step, none after) is a V(1,0) cycle: slower, still convergent."""
    norms = _vcycle_residuals(classical_vcycle(48, 4, pre=1, post=0), 48, 15)
    factors = norms[1:] / norms[:-1]
    assert 0.35 < factors[2:].max() < 0.7, factors  # after a transient, the V(1,0) contraction rate
    assert norms[-1] < 1e-3 * norms[0]


def test_wrong_wiring_does_not_converge():
    """Control: without the coarse correction, the same smoother stalls (the test can fail)."""
    n = 32
    mg = classical_vcycle(n, 4)
    for P in mg.P:
        torch.nn.init.zeros_(P.conv.weight)
    norms = _vcycle_residuals(mg, n, 15)
    assert norms[-1] > 1e-2 * norms[0]


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("n", [7, 16, 27, 53, 106])
def test_prolongation_round_trips_any_size(mode, n):
    coarse = torch.randn(1, 2, (n + 1) // 2, (n + 1) // 2)
    assert Prolongation(2, mode)(coarse, (n, n)).shape == (1, 2, n, n)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("shape", [(7, 7), (27, 27), (53, 53), (106, 106), (50, 37)])
def test_bilinear_prolongation_any_size(mode, shape):
    coarse = torch.randn(1, 2, (shape[0] + 1) // 2, (shape[1] + 1) // 2)
    assert Prolongation(2, mode, "bilinear")(coarse, shape).shape == (1, 2, *shape)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("shape", [(27, 27), (53, 45), (50, 37), (12, 20)])
def test_bilinear_interpolation_puts_coarse_i_on_fine_2i(mode, shape):
    """The restriction (3x3, stride 2, padding 1) centres coarse point i on fine point 2i. Injection by such
    a conv followed by the bilinear interpolation reproduces a linear field exactly: everywhere at odd sizes,
    and everywhere but the last row/column (which needs the padded coarse point) at even sizes."""
    H, W = shape
    j, l = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    fine = (1 + 0.5 * j - 0.75 * l).reshape(1, 1, H, W)
    inject = torch.nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False, padding_mode=mode).double()
    _set(inject, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    coarse = inject(fine)
    assert coarse.shape[-2:] == ((H + 1) // 2, (W + 1) // 2)
    up = Prolongation(1, mode, "bilinear").interpolate(coarse, (H, W))
    h, w = H - (H % 2 == 0), W - (W % 2 == 0)  # the exact part
    torch.testing.assert_close(up[..., :h, :w], fine[..., :h, :w])
    assert not torch.allclose(up, torch.roll(fine, 1, -1)[..., :H, :W])  # control: a shifted mapping fails


def test_unknown_prolongation_raises():
    with pytest.raises(ValueError, match="prolongation"):
        Prolongation(1, "zeros", "nearest")


def test_circular_prolongation_is_translation_equivariant():
    p = Prolongation(1, "circular")
    c = torch.randn(1, 1, 8, 8)
    out, shifted = p(c, (16, 16)), p(torch.roll(c, 1, -1), (16, 16))
    torch.testing.assert_close(torch.roll(out, 2, -1), shifted)


def test_default_levels_and_smoothing():
    assert default_levels(211) == 6 and default_levels(64) == 5 and default_levels(32) == 4
    assert default_smoothing(3) == [[1, 0], [1, 0], [2, 0]]
