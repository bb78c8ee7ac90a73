"""Shared QG trajectories for the discovery tests (spun up once per session and shape)."""
from functools import lru_cache

from sciml.pde.qg import QGModel, spin_up


@lru_cache(maxsize=None)
def qg_trajectory(nx: int, spinup: int, steps: int, seed: int):
    """``(model, states (steps, 2, nx, nx))``: the pyqg-default model at ``nx``, spun up ``spinup`` steps
    from ``seed``'s initial condition, then run ``steps`` more (the AB3 history carried over)."""
    m = QGModel(nx=nx)
    q0, hist = spin_up(m, spinup, seed=seed)
    traj, _ = m.run(q0, steps, history=hist)
    return m, traj[:, 0]
