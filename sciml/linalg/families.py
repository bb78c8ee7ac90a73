"""Families of SPD grid systems for the solvers' tests and benchmark, 2-D and 3-D, any grid size.

Each :func:`make_system` returns ``(A, b, solid)``: ``A`` a scipy CSR matrix with the 5/7-point
pattern of the grid, ``b`` a unit-norm right-hand side (zero in solid cells), ``solid`` the
obstacle mask. Families:

- ``constant``: the Laplacian, no obstacles, Dirichlet on the top face (y+), Neumann elsewhere;
- ``obstacles``: spheres and boxes as solid cells with no-flux walls (the pressure projection of
  a fluid code; :func:`sciml.pde.poisson.poisson_matrix`), open top;
- ``obstacles_dirichlet``: the same shapes held at u = 0 on their surface, open top;
- ``lognormal``: ``k = exp(2 g)`` with ``g`` a Gaussian-smoothed unit-variance field (width 1/16
  of the domain; contrast ~1e3), Dirichlet on x- and x+;
- ``inclusions``: background k = 1 with box and ball inclusions of k = 1e-4 and 1e4 (contrast
  1e8), Dirichlet on x- and x+.

:func:`shipped_family_system` draws from the family the shipped DCDM network was trained on (3-D
spheres and boxes) or, with ``unseen=True``, from shapes it never saw (pillars and a porous medium).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from sciml.linalg.stencil import from_coefficients
from sciml.pde.poisson import (box_obstacles, cylinder_obstacles, fill_enclosed, poisson_matrix, porous_obstacles,
                               rhs_divergence, sphere_obstacles)

FAMILIES = ("constant", "obstacles", "obstacles_dirichlet", "lognormal", "inclusions")


def _shapes(shape, rng) -> np.ndarray:
    solid = sphere_obstacles(shape, 2, rng=rng) | box_obstacles(shape, 2, rng=rng)
    return fill_enclosed(solid, ("y+",))


def lognormal_field(shape, rng, sigma: float = 2.0, width: float = 1 / 16) -> np.ndarray:
    g = ndimage.gaussian_filter(rng.standard_normal(shape), [max(width * s, 1.0) for s in shape], mode="wrap")
    return np.exp(sigma * (g - g.mean()) / g.std())


def inclusion_field(shape, rng, low: float = 1e-4, high: float = 1e4) -> np.ndarray:
    k = np.ones(shape)
    for value in (low, high):
        k[sphere_obstacles(shape, 3, radius=(0.05, 0.15), rng=rng)] = value
        k[box_obstacles(shape, 2, size=(0.05, 0.25), rng=rng)] = value
    return k


def make_system(family: str, shape: tuple[int, ...], seed: int = 0):
    """``(A, b, solid)`` of ``family`` on ``shape`` (2-D or 3-D); see the module docstring."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    rng = np.random.default_rng(seed)
    solid = np.zeros(shape, dtype=bool)
    if family == "constant":
        A = poisson_matrix(solid, ("y+",))
    elif family == "obstacles":
        solid = _shapes(shape, rng)
        A = poisson_matrix(solid, ("y+",))
    elif family == "obstacles_dirichlet":
        solid = _shapes(shape, rng)
        A = from_coefficients(np.ones(shape), solid, dirichlet=("y+",), solid_wall="dirichlet").to_csr()
    else:
        k = lognormal_field(shape, rng) if family == "lognormal" else inclusion_field(shape, rng)
        A = from_coefficients(k, dirichlet=("x-", "x+")).to_csr()
    b = rhs_divergence(solid, rng).ravel()
    return A, b, solid


def shipped_family_system(n: int, seed: int = 0, unseen: bool = False):
    """``(A, b, solid)`` on an ``n``^3 grid with no-flux obstacles and an open top (y+), ``b`` the unit-norm
    divergence of a random velocity field. ``unseen=False``: spheres and boxes, the shapes the shipped
    DCDM network was trained on; ``unseen=True``: pillars and a porous medium (12 % solid, smoothed over
    ``n``/16 cells), shapes it never saw. The random stream starts at ``1000 + seed``, a range the
    training recipe never draws from, so every instance is held out."""
    shape = (n, n, n)
    rng = np.random.default_rng(1000 + seed)
    if unseen:
        solid = cylinder_obstacles(shape, 3, rng=rng) | porous_obstacles(shape, 0.12, smooth=n / 16, rng=rng)
    else:
        solid = sphere_obstacles(shape, 2, rng=rng) | box_obstacles(shape, 2, rng=rng)
    solid = fill_enclosed(solid)
    return poisson_matrix(solid), rhs_divergence(solid, rng).ravel(), solid
