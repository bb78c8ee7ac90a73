"""Two-layer QG model: Phillips growth rates, energy and enstrophy budgets, AB3 consistency."""
import math

import numpy as np
import pytest
import torch

from sciml.pde.qg import QGModel


def _smooth_state(m: QGModel, seed: int = 0, amp: float = 1e-5) -> torch.Tensor:
    """Random large-scale PV (spectrum confined to |k| <= 6 grid wavenumbers)."""
    g = torch.Generator().manual_seed(seed)
    qh = torch.randn(2, m.nx, m.nx // 2 + 1, dtype=torch.complex128, generator=g)
    kk = torch.sqrt(m.wv2) * m.L / (2 * math.pi)
    qh = qh * (kk <= 6) * (kk > 0)
    q = m.ifft(qh)
    return amp * q / q.std()


@pytest.mark.parametrize("rek", [0.0, 5.787e-7])
def test_linear_growth_rate_matches_phillips(rek):
    # L = 5e5 puts the most unstable pyqg-default wavelength at grid wavenumber 3 on a tiny grid.
    m = QGModel(nx=8, L=5e5, rek=rek, use_filter=False)
    k = 2 * math.pi / m.L * 3
    analytic = m.growth_rates(k).imag.max()
    assert analytic > 0
    q = torch.zeros(1, 2, 8, 8, dtype=torch.float64)
    q[0, 0] = 1e-9 * torch.cos(k * m.x)[None, :]
    q[0, 1] = 1e-9 * torch.sin(k * m.x + 0.3)[None, :]
    traj, _ = m.run(q, 6000, save_every=500)
    E = m.energy(traj).squeeze()
    numeric = 0.5 * (math.log(E[-1]) - math.log(E[-3])) / (1000 * m.dt)
    assert abs(numeric / analytic - 1) < 1e-3


def test_stable_mode_is_neutral_or_damped():
    m = QGModel(nx=8, L=5e5, rek=5.787e-7)
    assert m.growth_rates(2 * math.pi / m.L * 1).imag.max() < 0   # drag damps large scales


def test_instantaneous_energy_budget():
    # Dealiased, unfiltered: dE/dt = conversion + drag exactly (Jacobian conserves energy).
    m = QGModel(nx=32, dealias=True, use_filter=False)
    q = _smooth_state(m)
    dq = m.tendency(q)
    psi = m.psi(q)
    dEdt = -sum(m.Hfrac[k] * (psi[k] * dq[k]).mean() for k in range(2))
    b = m.energy_budget(q)
    expected = b["conversion"] + b["drag"]
    assert abs(b["drag"]) > 0 and abs(b["conversion"]) > 0
    assert abs(dEdt - expected) < 1e-9 * (abs(b["conversion"]) + abs(b["drag"]))


def test_energy_and_enstrophy_conserved_inviscid():
    # U1 = U2 and rek = 0: no source or sink; weighted enstrophy also conserved with beta.
    m = QGModel(nx=32, U1=0.0, U2=0.0, rek=0.0, dealias=True, use_filter=False, dt=3600.0)
    q0 = _smooth_state(m)
    dq = m.tendency(q0)
    dZdt = sum(m.Hfrac[k] * (q0[k] * dq[k]).mean() for k in range(2))
    scale = sum(m.Hfrac[k] * (q0[k] * q0[k]).mean() for k in range(2)) * dq.abs().max() / q0.abs().max()
    assert abs(dZdt) < 1e-10 * scale
    traj, _ = m.run(q0, 200)
    E, Z = m.energy(traj), m.enstrophy(traj)
    assert (q0 - traj[-1]).abs().max() > 0.05 * q0.abs().max()       # it actually evolved
    assert (E / m.energy(q0) - 1).abs().max() < 1e-3   # AB3 time error (Euler/AB2 start) only
    assert (Z / m.enstrophy(q0) - 1).abs().max() < 1e-3


def test_integrated_energy_budget_with_shear_and_drag():
    m = QGModel(nx=32, dealias=True, use_filter=False, dt=1800.0)
    q0 = _smooth_state(m)
    traj, _ = m.run(q0, 400)
    states = torch.cat([q0[None], traj])
    b = m.energy_budget(states)
    src = (b["conversion"] + b["drag"]).numpy()
    integral = np.trapezoid(src, dx=m.dt)
    dE = float(m.energy(states[-1]) - m.energy(q0))
    assert abs(integral - dE) < 1e-3 * abs(dE)


def test_filter_removes_energy_and_spinup_reaches_turbulence():
    m = QGModel(nx=32)
    q0 = _smooth_state(m, amp=2e-5)
    assert m.filtr.min() < 1e-3 and m.filtr.max() == 1.0


def test_step_from_history_matches_run_and_batch():
    m = QGModel(nx=16)
    q0 = torch.stack([_smooth_state(m, s) for s in range(3)])                  # (3, 2, 16, 16)
    traj, _ = m.run(q0, 6)                                                      # (6, 3, 2, 16, 16)
    nxt = m.step_from_history(torch.stack([traj[4], traj[3], traj[2]]))
    assert torch.allclose(nxt, traj[5], rtol=0, atol=1e-12 * traj.abs().max())
    single, _ = m.run(q0[1:2], 6)
    assert torch.allclose(single[:, 0], traj[:, 1], atol=1e-14 * traj.abs().max())


def test_psi_inversion_roundtrip():
    m = QGModel(nx=16)
    q = _smooth_state(m)
    ph = m.invert(m.fft(q))
    assert torch.allclose(m.ifft(m.pv_from_psi(ph)), q - q.mean((-2, -1), keepdim=True), atol=1e-12 * q.abs().max())


def test_qg_dataset_dims_and_units():
    from sciml.data.registry import make_dataset
    ds = make_dataset("qg", n=2, res=16, seed=1, spinup_steps=50, n_time=3)
    assert ds["q"].dims == ("sample", "time", "lev", "y", "x") and ds["q"].shape == (2, 3, 2, 16, 16)
    assert ds["q"].attrs["units"] == "1/s" and ds["psi"].attrs["units"] == "m^2/s"
    m = QGModel(nx=16)
    psi = m.psi(torch.as_tensor(ds["q"].values))
    assert np.allclose(psi.numpy(), ds["psi"].values)
    assert not np.allclose(ds["q"].values[0], ds["q"].values[1])      # samples differ by seed
