"""ICNN layers: convexity by construction, kept through training by clamping."""
import torch

from sciml.nn.icnn import ConvICNN, DenseICNN, attach_projection

torch.manual_seed(0)


def _midpoint_gap(psi, a, b):
    """psi((a+b)/2) - (psi(a)+psi(b))/2 <= 0 for a convex psi."""
    return psi(0.5 * (a + b)) - 0.5 * (psi(a) + psi(b))


def test_dense_icnn_is_convex_along_random_chords():
    psi = DenseICNN(dim=3, hidden=16, layers=3, beta=5.0, alpha=0.0).double()
    for w in psi.path_weights():  # make the path weights large so the check is not trivial
        w.data.uniform_(0, 1)
    a, b = torch.randn(500, 3, dtype=torch.float64) * 3, torch.randn(500, 3, dtype=torch.float64) * 3
    assert (_midpoint_gap(psi, a, b) <= 1e-10).all()


def test_conv_icnn_is_convex_and_negative_weights_break_it():
    psi = ConvICNN(1, hidden=8, layers=3, beta=5.0, alpha=0.0).double()
    for w in psi.path_weights():
        w.data.uniform_(0, 0.5)
    a, b = torch.randn(64, 1, 8, 8, dtype=torch.float64), torch.randn(64, 1, 8, 8, dtype=torch.float64)
    assert (_midpoint_gap(psi, a, b) <= 1e-10).all()
    for w in psi.path_weights():  # the constraint matters: negative path weights give non-convexity
        w.data.uniform_(-2, 0)
    assert not psi.is_convex()
    assert (_midpoint_gap(psi, a, b) > 1e-8).any()
    psi.project_()
    assert psi.is_convex()


def test_projection_keeps_convexity_during_training():
    psi = ConvICNN(1, hidden=8, layers=3)
    opt = torch.optim.SGD(psi.parameters(), lr=0.5)  # large steps push weights negative
    attach_projection(opt, psi)
    x = torch.randn(4, 1, 8, 8)
    for _ in range(5):
        opt.zero_grad()
        psi(x).sum().backward()  # minimising psi drives path weights below zero
        opt.step()
        assert psi.is_convex() and all(torch.isfinite(w).all() for w in psi.path_weights())
    assert any((w == 0).any() for w in psi.path_weights())  # the clamp was active
