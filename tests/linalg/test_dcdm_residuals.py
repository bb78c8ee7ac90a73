"""The solver's own residuals as training data (ADR 0096)."""
import numpy as np
import torch

from sciml.linalg.residuals import make_dcdm_residuals, solve_residuals
from sciml.linalg.dcdm_training import train_dcdm
from sciml.models import build_model, load_model
from sciml.pde.poisson import poisson_matrix, rhs_blobs, sphere_obstacles
from sciml.train.checkpoint import save_checkpoint


def test_solve_residuals_are_the_solvers_normalised_residuals():
    solid = sphere_obstacles((8, 8, 8), 1, rng=2)
    A, b = poisson_matrix(solid), rhs_blobs(solid, 1).ravel()
    R = solve_residuals("identity", A, b, solid, maxiter=5, rtol=1e-12)  # identity net: CG's residuals
    assert R.shape == (6, 512)
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(R[0], b / np.linalg.norm(b))
    np.testing.assert_allclose(R[1:] @ R[1:].T, np.eye(5), atol=1e-8)  # CG residuals are mutually orthogonal


def test_residual_data_mix_into_a_fine_tune(tmp_path):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "base.pt", build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1))
    ds = make_dcdm_residuals(str(tmp_path / "base.pt"), problems=2, res=8, per_problem=3, maxiter=6)
    b, solid = ds["b"].values.reshape(len(ds["b"]), -1), ds["solid"].values.reshape(len(ds["b"]), -1).astype(bool)
    assert len(b) == 6 and np.all(b[solid] == 0)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
    best = train_dcdm(out_dir=str(tmp_path / "run"), n=8, res=8, geometries=2, epochs=1, batch_size=4,
                      lanczos_steps=30, init=str(tmp_path / "base.pt"), device="cpu",
                      residuals={"problems": 2, "res": 8, "per_problem": 3, "maxiter": 6})
    assert (tmp_path / "run" / "residuals.nc").exists() and load_model(str(best)).dim == 3


def test_zero_offset_net_maps_zero_to_zero_and_the_solver_caches_its_offset():
    torch.manual_seed(0)
    net = build_model("dcdm", dim=3, channels=4, blocks=1, coarse_blocks=1, zero_offset=True).eval()
    x = torch.randn(2, 2, 8, 8, 8)
    with torch.no_grad():
        zero = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:]], 1)
        assert float(net(zero).abs().max()) == 0.0 and float(net.body(zero).abs().max()) > 0
        torch.testing.assert_close(net(x), net.body(x) - net.offset(x))
    solid = sphere_obstacles((8, 8, 8), 1, rng=2)
    A, b = poisson_matrix(solid), rhs_blobs(solid, 1).ravel()
    fluid = torch.as_tensor(~solid, dtype=torch.float32).reshape(1, 1, 8, 8, 8)

    def plain(r):  # the full forward (body and offset every call), as a generic callable
        inp = torch.cat([(r / r.norm()).float().reshape(1, 1, 8, 8, 8), fluid], 1)
        return net(inp).double().reshape(-1) * fluid.double().reshape(-1)

    h_net, h_plain = [], []
    from sciml.linalg import dcdm_solve

    dcdm_solve(A, b, model=net, rtol=1e-8, maxiter=8, history=h_net, safeguard=False)
    dcdm_solve(A, b, model=plain, rtol=1e-8, maxiter=8, history=h_plain, safeguard=False)
    np.testing.assert_allclose(h_net, h_plain, rtol=1e-4)
