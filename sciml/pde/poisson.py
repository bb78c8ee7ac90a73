"""Cell-centred Poisson operators with obstacles: the pressure solve of a fluid simulation.

On a grid of ``shape`` cells (2-D or 3-D) with a boolean ``solid`` mask, fluid cell i satisfies
``sum_{fluid neighbours j} (x_i - x_j) + n_open_i x_i = b_i`` (unit spacing): faces to solid
cells and to the domain walls are Neumann (no flux), faces listed in ``open_faces`` are
Dirichlet (x = 0 outside, e.g. the open top of a smoke box). Solid cells get identity rows and
``b = 0`` there, so the matrix stays SPD and the size stays ``prod(shape)``, which lets a CNN
see the unknowns as a grid. The same operator is available matrix-free in torch
(:func:`apply_poisson`), batched over geometries and on any device.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

FACES = {"x-": (-1, 0), "x+": (-1, 1), "y-": (-2, 0), "y+": (-2, 1), "z-": (-3, 0), "z+": (-3, 1)}


def _open_count(shape: tuple[int, ...], open_faces: tuple[str, ...]) -> np.ndarray:
    """Number of open (Dirichlet) domain faces touching each cell."""
    cnt = np.zeros(shape)
    for face in open_faces:
        axis, side = FACES[face]
        if -axis > len(shape):
            raise ValueError(f"face {face!r} does not exist on a {len(shape)}-D grid")
        idx = [slice(None)] * len(shape)
        idx[axis] = -1 if side else 0
        cnt[tuple(idx)] += 1
    return cnt


def poisson_matrix(solid: np.ndarray, open_faces: tuple[str, ...] = ("y+",)) -> sp.csr_matrix:
    """SPD CSR matrix of size prod(shape) (C-order: the last axis is x). See the module docstring."""
    solid = np.asarray(solid, dtype=bool)
    shape, n = solid.shape, solid.size
    fluid = ~solid
    idx = np.arange(n).reshape(shape)
    rows, cols, vals = [], [], []
    diag = _open_count(shape, open_faces) * fluid
    for axis in range(solid.ndim):
        a = [slice(None)] * solid.ndim
        b = [slice(None)] * solid.ndim
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        both = fluid[tuple(a)] & fluid[tuple(b)]  # fluid-fluid faces along this axis
        i, j = idx[tuple(a)][both], idx[tuple(b)][both]
        rows += [i, j]
        cols += [j, i]
        vals += [-np.ones(i.size), -np.ones(i.size)]
        np.add.at(diag, np.unravel_index(i, shape), 1.0)
        np.add.at(diag, np.unravel_index(j, shape), 1.0)
    diag = np.where(solid, 1.0, diag)
    rows.append(idx.ravel()), cols.append(idx.ravel()), vals.append(diag.ravel())
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    _check_every_region_is_open(fluid, _open_count(shape, open_faces) > 0)
    return A


def _check_every_region_is_open(fluid: np.ndarray, open_cells: np.ndarray) -> None:
    """A fluid region enclosed by walls and solids has only Neumann faces: its block is singular."""
    from scipy import ndimage

    labels, count = ndimage.label(fluid)
    touching = np.unique(labels[open_cells & fluid])
    closed = sorted(set(range(1, count + 1)) - set(touching.tolist()))
    if closed:
        raise ValueError(
            f"{len(closed)} fluid region(s) touch no open (Dirichlet) face, so the Poisson matrix is singular "
            "(pressure defined up to a constant); add an open face (open_faces=...) or fill the enclosed region")


def apply_poisson(x: torch.Tensor, solid: torch.Tensor, open_faces: tuple[str, ...] = ("y+",)) -> torch.Tensor:
    """Matrix-free product ``A x`` for a batch: ``x, solid: (B, *shape)`` -> ``(B, *shape)``; equals
    :func:`poisson_matrix` row for row (tested)."""
    fluid = (~solid.bool()).to(x.dtype)
    d = x.ndim - 1
    xf = x * fluid
    out = torch.zeros_like(x)
    pad = [0, 0] * d
    for axis in range(d):
        dim = x.ndim - 1 - axis  # axis 0 = last dim (x)
        for shift in (1, -1):
            p = list(pad)
            p[2 * axis + (0 if shift == 1 else 1)] = 1
            # neighbour value and neighbour fluid flag, zero outside the domain (walls: Neumann via flag)
            nb = F.pad(xf.unsqueeze(1), p[::1]).squeeze(1)
            nf = F.pad(fluid.unsqueeze(1), p).squeeze(1)
            sl = [slice(None)] * x.ndim
            sl[dim] = slice(0, -1) if shift == 1 else slice(1, None)
            nb, nf = nb[tuple(sl)], nf[tuple(sl)]
            out = out + nf * (x - nb)
    opened = torch.as_tensor(_open_count(tuple(x.shape[1:]), open_faces), dtype=x.dtype, device=x.device)
    out = (out + opened * x) * fluid
    return out + x * (1 - fluid)


def box_obstacles(shape: tuple[int, ...], n_boxes: int = 2, size: tuple[float, float] = (0.1, 0.3),
                  rng: np.random.Generator | int = 0) -> np.ndarray:
    """Random axis-aligned boxes (fractions of the domain) as a boolean solid mask."""
    rng = np.random.default_rng(rng)
    solid = np.zeros(shape, dtype=bool)
    for _ in range(n_boxes):
        lo = [int(rng.uniform(0.1, 0.7) * s) for s in shape]
        ext = [max(1, int(rng.uniform(*size) * s)) for s in shape]
        solid[tuple(slice(l, min(l + e, s - 1)) for l, e, s in zip(lo, ext, shape))] = True
    return solid


def sphere_obstacles(shape: tuple[int, ...], n_spheres: int = 2, radius: tuple[float, float] = (0.08, 0.2),
                     rng: np.random.Generator | int = 0) -> np.ndarray:
    """Random balls (discs in 2-D) as a boolean solid mask."""
    rng = np.random.default_rng(rng)
    grids = np.meshgrid(*[(np.arange(s) + 0.5) / s for s in shape], indexing="ij")
    solid = np.zeros(shape, dtype=bool)
    for _ in range(n_spheres):
        c, r = rng.uniform(0.25, 0.75, len(shape)), rng.uniform(*radius)
        solid |= sum((g - ci) ** 2 for g, ci in zip(grids, c)) < r**2
    return solid


def random_obstacles(shape, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Boxes or spheres, chosen at random."""
    rng = np.random.default_rng(rng)
    kind = rng.integers(3)
    if kind == 0:
        return np.zeros(shape, dtype=bool)
    return box_obstacles(shape, int(rng.integers(1, 4)), rng=rng) if kind == 1 else sphere_obstacles(shape, int(rng.integers(1, 4)), rng=rng)


def rhs_divergence(solid: np.ndarray, rng: np.random.Generator | int = 0, smooth: int = 2) -> np.ndarray:
    """The pressure-projection case: minus the divergence of a random smooth velocity field, zero in solids."""
    rng = np.random.default_rng(rng)
    d = solid.ndim
    div = np.zeros(solid.shape)
    for axis in range(d):
        v = rng.standard_normal(solid.shape)
        for _ in range(smooth):  # cheap smoothing by neighbour averaging
            v = sum(np.roll(v, s, ax) for ax in range(d) for s in (-1, 1)) / (2 * d) * 0.5 + 0.5 * v
        div += np.gradient(v, axis=axis)
    b = -div * ~solid
    return b / np.linalg.norm(b)


def rhs_blobs(solid: np.ndarray, rng: np.random.Generator | int = 0, n: int = 3) -> np.ndarray:
    """Smooth Gaussian blobs of random sign, zero in solids, unit norm."""
    rng = np.random.default_rng(rng)
    grids = np.meshgrid(*[(np.arange(s) + 0.5) / s for s in solid.shape], indexing="ij")
    b = np.zeros(solid.shape)
    for _ in range(n):
        c, w = rng.uniform(0.1, 0.9, solid.ndim), rng.uniform(0.05, 0.15)
        b += rng.choice([-1, 1]) * np.exp(-sum((g - ci) ** 2 for g, ci in zip(grids, c)) / (2 * w**2))
    b = b * ~solid
    return b / np.linalg.norm(b)


def rhs_noise(solid: np.ndarray, rng: np.random.Generator | int = 0) -> np.ndarray:
    """White noise, zero in solids, unit norm."""
    b = np.random.default_rng(rng).standard_normal(solid.shape) * ~solid
    return b / np.linalg.norm(b)


def fill_enclosed(solid: np.ndarray, open_faces: tuple[str, ...] = ("y+",)) -> np.ndarray:
    """``solid`` with every fluid pocket that touches no open face filled in (such a pocket would make
    the matrix singular: its pressure is defined only up to a constant)."""
    from scipy import ndimage

    solid = np.asarray(solid, dtype=bool)
    labels, _ = ndimage.label(~solid)
    reach = np.unique(labels[(_open_count(solid.shape, open_faces) > 0) & ~solid])
    return solid | ~np.isin(labels, reach[reach > 0])


def cylinder_obstacles(shape: tuple[int, ...], n_cylinders: int = 3, radius: tuple[float, float] = (0.04, 0.1),
                       rng: np.random.Generator | int = 0) -> np.ndarray:
    """Pillars: 3-D cylinders along a random axis spanning the domain (in 2-D: discs). Not in the
    DCDM training distribution (boxes/spheres): unseen shapes for held-out checks."""
    rng = np.random.default_rng(rng)
    grids = np.meshgrid(*[(np.arange(s) + 0.5) / s for s in shape], indexing="ij")
    solid = np.zeros(shape, dtype=bool)
    for _ in range(n_cylinders):
        axis = int(rng.integers(len(shape)))
        c, r = rng.uniform(0.15, 0.85, len(shape)), rng.uniform(*radius)
        solid |= sum((g - ci) ** 2 for a, (g, ci) in enumerate(zip(grids, c)) if a != axis) < r**2
    return fill_enclosed(solid)


def porous_obstacles(shape: tuple[int, ...], fraction: float = 0.2, smooth: float = 2.0,
                     rng: np.random.Generator | int = 0, open_faces: tuple[str, ...] = ("y+",)) -> np.ndarray:
    """Irregular porous medium: the top ``fraction`` of a Gaussian-smoothed noise field (width ``smooth``
    cells) is solid; enclosed pockets are filled. Unseen in training (boxes/spheres)."""
    from scipy import ndimage

    rng = np.random.default_rng(rng)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), smooth, mode="wrap")
    return fill_enclosed(field > np.quantile(field, 1.0 - fraction), open_faces)
