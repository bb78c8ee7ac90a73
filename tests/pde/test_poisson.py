import numpy as np
import pytest
import torch

from sciml.pde.poisson import (apply_poisson, box_obstacles, poisson_matrix, rhs_blobs, rhs_divergence, rhs_noise,
                               sphere_obstacles)


@pytest.mark.parametrize("shape,faces", [((12, 10), ("y+",)), ((8, 9, 10), ("y+",)), ((6, 6, 6), ("x-", "z+"))])
def test_matrix_free_equals_csr(shape, faces):
    solid = sphere_obstacles(shape, 2, rng=3) | box_obstacles(shape, 1, rng=4)
    A = poisson_matrix(solid, faces)
    x = np.random.default_rng(0).standard_normal((2, *shape))
    ref = np.stack([(A @ xi.ravel()).reshape(shape) for xi in x])
    out = apply_poisson(torch.as_tensor(x), torch.as_tensor(np.stack([solid, solid])), faces).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_spd_and_neumann_walls():
    solid = box_obstacles((10, 10, 10), 2, rng=1)
    A = poisson_matrix(solid).toarray()
    np.testing.assert_array_equal(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0
    # without an open face the fluid block annihilates constants: pure Neumann (singular, refused)
    with pytest.raises(ValueError, match="1 fluid region"):
        poisson_matrix(np.zeros((4, 4), dtype=bool), ())
    # a pocket sealed off by solid cells is singular too, even when the rest of the box is open
    sealed = np.zeros((7, 7), dtype=bool)
    sealed[1:4, 1:4] = True
    sealed[2, 2] = False
    with pytest.raises(ValueError, match="1 fluid region"):
        poisson_matrix(sealed, ("y+",))


def test_rows_sum_to_open_faces():
    """Row sums of a fluid cell = number of open (Dirichlet) faces: fluxes through walls/solids vanish."""
    solid = sphere_obstacles((8, 8, 8), 1, rng=2)
    A = poisson_matrix(solid, ("y+",))
    rows = np.asarray(A.sum(1)).ravel().reshape(solid.shape)
    expected = np.zeros(solid.shape)
    expected[:, -1, :] = 1
    np.testing.assert_allclose(rows[~solid], expected[~solid])


def test_rhs_generators():
    solid = sphere_obstacles((16, 16, 16), 1, rng=0)
    for gen in (rhs_divergence, rhs_blobs, rhs_noise):
        b = gen(solid, 1)
        assert b.shape == solid.shape and np.all(b[solid] == 0) and abs(np.linalg.norm(b) - 1) < 1e-12


def test_unseen_obstacle_generators_give_nonsingular_systems():
    from sciml.pde.poisson import cylinder_obstacles, fill_enclosed, porous_obstacles

    shape = (12, 12, 12)
    for solid in (cylinder_obstacles(shape, 3, rng=0), porous_obstacles(shape, 0.3, rng=1)):
        assert solid.any() and (~solid).any()
        A = poisson_matrix(solid)  # raises if a fluid pocket touches no open face
        np.linalg.cholesky(A.toarray())  # raises unless SPD
    sealed = np.zeros((7, 7), dtype=bool)
    sealed[1:4, 1:4] = True
    sealed[2, 2] = False
    filled = fill_enclosed(sealed, ("y+",))
    assert filled[2, 2] and filled.sum() == sealed.sum() + 1
