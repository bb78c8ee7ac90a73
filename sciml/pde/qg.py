"""Doubly periodic two-layer quasi-geostrophic model (the equations of pyqg's ``QGModel``).

Layer ``k`` (1 = upper, 2 = lower) carries potential vorticity (1/s)::

    q1 = lap psi1 + F1 (psi2 - psi1),  q2 = lap psi2 + F2 (psi1 - psi2),
    F1 = rd^-2 / (1 + delta),  F2 = delta F1,  delta = H1 / H2,
    d_t q_k + J(psi_k, q_k) + U_k d_x q_k + Qy_k d_x psi_k = -rek delta_k2 lap psi2,
    Qy1 = beta + F1 (U1 - U2),  Qy2 = beta - F2 (U1 - U2).

Pseudospectral (real FFT), Jacobian in flux form ``d_x(u q) + d_y(v q)`` with
``u = -d_y psi, v = d_x psi`` (not dealiased, as pyqg; ``dealias=True`` applies the 2/3 rule),
the exponential spectral filter ``exp(-filterfac (k* - cphi)^4)`` for ``k* > cphi`` applied after
every step, and third-order Adams-Bashforth (Euler, then AB2 for the first steps). Parameter
names and defaults are pyqg's: ``L`` (m), ``nx``, ``beta`` (1/(m s)), ``rd`` (m), ``delta``,
``U1, U2`` (m/s), ``rek`` (1/s), ``dt`` (s). ``jacobian_scale`` and ``extra_tendency`` exist to
build imperfect / corrected models. States are tensors ``q`` of shape ``(..., 2, nx, nx)``
(any batch dims; float64 recommended), on any device.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import xarray as xr

from sciml.config import check_kwargs
from sciml.data.params import Choice, Int, Real
from sciml.data.registry import register_dataset

AB3 = (23.0 / 12.0, -16.0 / 12.0, 5.0 / 12.0)


class QGModel:
    """Two-layer QG model on an ``nx x nx`` grid of side ``L``; see the module docstring."""

    def __init__(self, nx: int = 64, L: float = 1e6, beta: float = 1.5e-11, rd: float = 15000.0,
                 delta: float = 0.25, U1: float = 0.025, U2: float = 0.0, rek: float = 5.787e-7,
                 dt: float = 7200.0, filterfac: float = 23.6, use_filter: bool = True,
                 dealias: bool = False, jacobian_scale: float = 1.0,
                 extra_tendency: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64):
        self.params = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.nx, self.L, self.beta, self.rd, self.delta = nx, L, beta, rd, delta
        self.U1, self.U2, self.rek, self.dt = U1, U2, rek, dt
        self.jacobian_scale, self.extra_tendency, self.dealias = jacobian_scale, extra_tendency, dealias
        self.device, self.dtype = torch.device(device), dtype
        self.F1 = rd ** -2 / (1.0 + delta)
        self.F2 = delta * self.F1
        self.Qy = (beta + self.F1 * (U1 - U2), beta - self.F2 * (U1 - U2))
        self.Hfrac = (delta / (1.0 + delta), 1.0 / (1.0 + delta))   # H_k / H
        self.dx = L / nx
        self.x = (torch.arange(nx, dtype=dtype, device=self.device) + 0.5) * self.dx
        kx = 2 * math.pi / L * torch.arange(nx // 2 + 1, dtype=dtype, device=self.device)
        ky = 2 * math.pi / L * torch.fft.fftfreq(nx, d=1.0 / nx, dtype=dtype, device=self.device)
        self.k, self.l = kx[None, :], ky[:, None]                       # (1, nk), (ny, 1)
        self.ik, self.il = 1j * self.k, 1j * self.l
        self.wv2 = self.k ** 2 + self.l ** 2
        wvx = torch.sqrt((self.k * self.dx) ** 2 + (self.l * self.dx) ** 2)
        cphi = 0.65 * math.pi
        filt = torch.exp(-filterfac * (wvx - cphi).clamp(min=0) ** 4)
        self.filtr = filt if use_filter else torch.ones_like(filt)
        kmax = 2.0 / 3.0 * (nx // 2) * 2 * math.pi / L
        self.dealias_mask = ((self.k.abs() < kmax) & (self.l.abs() < kmax)).to(dtype)
        U = torch.tensor([self.U1, self.U2], dtype=dtype, device=self.device)[:, None, None]
        Qy = torch.tensor(self.Qy, dtype=dtype, device=self.device)[:, None, None]
        self._ikU = self.ik * U
        self._lin_psi = -self.ik * Qy + torch.stack([0.0 * self.wv2, rek * self.wv2])
        det = self.wv2 * (self.wv2 + self.F1 + self.F2)
        self.inv_det = torch.where(det > 0, 1.0 / torch.where(det > 0, det, torch.ones_like(det)),
                                   torch.zeros_like(det))

    def replace(self, **changes) -> "QGModel":
        """A copy of this model with some constructor arguments changed (e.g. ``rek=0``)."""
        return QGModel(**{**self.params, **changes})

    # ---- spectral helpers (all act on the last two dims; layer axis is -3) ----
    def fft(self, f: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft2(f)

    def ifft(self, fh: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft2(fh, s=(self.nx, self.nx))

    def invert(self, qh: torch.Tensor) -> torch.Tensor:
        """Streamfunction spectrum ``psi_hat`` (m^2/s) from PV spectrum ``q_hat`` (..., 2, ny, nk)."""
        q1, q2 = qh[..., 0, :, :], qh[..., 1, :, :]
        p1 = (-(self.wv2 + self.F2) * q1 - self.F1 * q2) * self.inv_det
        p2 = (-self.F2 * q1 - (self.wv2 + self.F1) * q2) * self.inv_det
        return torch.stack([p1, p2], dim=-3)

    def pv_from_psi(self, ph: torch.Tensor) -> torch.Tensor:
        p1, p2 = ph[..., 0, :, :], ph[..., 1, :, :]
        return torch.stack([-self.wv2 * p1 + self.F1 * (p2 - p1), -self.wv2 * p2 + self.F2 * (p1 - p2)], -3)

    def psi(self, q: torch.Tensor) -> torch.Tensor:
        """Streamfunction (m^2/s) of PV ``q`` (1/s), shape (..., 2, nx, nx)."""
        return self.ifft(self.invert(self.fft(q)))

    def pv(self, psi: torch.Tensor) -> torch.Tensor:
        """PV (1/s) of streamfunction ``psi`` (m^2/s), shape (..., 2, nx, nx): the inverse of :meth:`psi`."""
        return self.ifft(self.pv_from_psi(self.fft(psi)))

    def jacobian_hat(self, ph: torch.Tensor, qh: torch.Tensor) -> torch.Tensor:
        """Spectrum of J(psi, q) = d_x(u q) + d_y(v q), u = -d_y psi, v = d_x psi (per layer)."""
        u, v = self.ifft(-self.il * ph), self.ifft(self.ik * ph)
        q = self.ifft(qh)
        jh = self.ik * self.fft(u * q) + self.il * self.fft(v * q)
        return jh * self.dealias_mask if self.dealias else jh

    def tendency_hat(self, qh: torch.Tensor) -> torch.Tensor:
        """d q_hat / dt (1/s^2) of the model (before the spectral filter)."""
        ph = self.invert(qh)
        jh = self.jacobian_hat(ph, qh)
        if self.jacobian_scale != 1.0:
            jh = self.jacobian_scale * jh
        # linear part: -ik (U q + Qy psi) - rek lap psi2 (drag coefficient is zero in layer 1)
        dq = -jh - self._ikU * qh + self._lin_psi * ph
        if self.extra_tendency is not None:
            dq = dq + self.fft(self.extra_tendency(self.ifft(qh)))
        return dq

    def tendency(self, q: torch.Tensor) -> torch.Tensor:
        """PV tendency d q / dt (1/s^2) of state ``q`` (..., 2, nx, nx), in physical space."""
        return self.ifft(self.tendency_hat(self.fft(q)))

    # ---- time stepping ----
    def step_from_history(self, q_hist: torch.Tensor) -> torch.Tensor:
        """One filtered AB3 step from states ``q_hist`` = (q_t, q_{t-1}, q_{t-2}) stacked on dim 0.

        The tendencies are evaluated on the given states, so this is the model's forecast from
        an (observed or analysed) history; it equals :meth:`run` when the history is the model's own.
        """
        qh = self.fft(q_hist)
        f = self.tendency_hat(qh)
        comb = AB3[0] * f[0] + AB3[1] * f[1] + AB3[2] * f[2]
        return self.ifft(self.filtr * (qh[0] + self.dt * comb))

    def run(self, q0: torch.Tensor, n_steps: int, save_every: int = 1,
            history: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Integrate ``n_steps`` from ``q0``; returns (saved states (n_save, ...), tendency history).

        Saves every ``save_every``-th state after the start (``n_steps // save_every`` of them).
        Pass the returned tendency history back in to continue an AB3 run exactly.
        """
        qh = self.fft(q0.to(self.device, self.dtype))
        hist = list(history or [])
        saved = []
        for n in range(1, n_steps + 1):
            f = self.tendency_hat(qh)
            hist = [f] + hist[:2]
            if len(hist) == 1:
                inc = f
            elif len(hist) == 2:
                inc = 1.5 * hist[0] - 0.5 * hist[1]
            else:
                inc = AB3[0] * hist[0] + AB3[1] * hist[1] + AB3[2] * hist[2]
            qh = self.filtr * (qh + self.dt * inc)
            if n % save_every == 0:
                saved.append(self.ifft(qh))
        out = torch.stack(saved) if saved else self.ifft(qh)[None]
        return out, hist

    # ---- diagnostics ----
    def energy(self, q: torch.Tensor) -> torch.Tensor:
        """Total (kinetic + available potential) energy per unit mass (m^2/s^2), shape (...)."""
        ph = self.invert(self.fft(q))
        u, v = self.ifft(-self.il * ph), self.ifft(self.ik * ph)
        p = self.ifft(ph)
        ke = sum(self.Hfrac[k] * 0.5 * (u[..., k, :, :] ** 2 + v[..., k, :, :] ** 2).mean((-2, -1))
                 for k in range(2))
        ape = 0.5 * self.Hfrac[0] * self.F1 * ((p[..., 0, :, :] - p[..., 1, :, :]) ** 2).mean((-2, -1))
        return ke + ape

    def enstrophy(self, q: torch.Tensor) -> torch.Tensor:
        """Layer-weighted potential enstrophy sum_k H_k/H <q_k^2>/2 (1/s^2), shape (...)."""
        return sum(self.Hfrac[k] * 0.5 * (q[..., k, :, :] ** 2).mean((-2, -1)) for k in range(2))

    def energy_budget(self, q: torch.Tensor) -> dict[str, torch.Tensor]:
        """Analytic energy sources (m^2/s^3): baroclinic conversion and bottom-drag dissipation.

        conversion = H1/H F1 (U1 - U2) <psi1 d_x psi2>;  drag = -H2/H rek <|grad psi2|^2>.
        With a dealiased Jacobian and no filter these sum to dE/dt exactly.
        """
        ph = self.invert(self.fft(q))
        p = self.ifft(ph)
        dxp2 = self.ifft(self.ik * ph[..., 1, :, :])
        conv = self.Hfrac[0] * self.F1 * (self.U1 - self.U2) * (p[..., 0, :, :] * dxp2).mean((-2, -1))
        grad2 = self.ifft(self.ik * ph[..., 1, :, :]) ** 2 + self.ifft(self.il * ph[..., 1, :, :]) ** 2
        return {"conversion": conv, "drag": -self.Hfrac[1] * self.rek * grad2.mean((-2, -1))}

    def random_state(self, batch: int = 1, amplitude: float = 1e-7, seed: int = 0) -> torch.Tensor:
        """pyqg-style initial PV: small white noise in the upper layer, zero below."""
        g = torch.Generator().manual_seed(seed)
        q = torch.zeros(batch, 2, self.nx, self.nx, dtype=self.dtype)
        q[:, 0] = amplitude * torch.randn(batch, self.nx, self.nx, generator=g, dtype=self.dtype)
        return q.to(self.device)

    def growth_rates(self, k: float, l: float = 0.0) -> np.ndarray:
        """Analytic linear eigen-frequencies omega (complex, 1/s) of mode exp(i(kx + ly - omega t)).

        Solves the 2x2 Phillips-model problem  omega M psi = k (U M + diag(Qy)) psi  (+ drag),
        with M the PV-inversion matrix; growth rate = Im(omega).
        """
        K2 = k * k + l * l
        M = np.array([[-(K2 + self.F1), self.F1], [self.F2, -(K2 + self.F2)]], dtype=complex)
        A = k * (np.diag([self.U1, self.U2]) @ M + np.diag(self.Qy)).astype(complex)
        A[1, 1] += 1j * self.rek * K2           # drag -rek lap psi2 -> +rek K^2 psi2_hat
        return np.linalg.eigvals(np.linalg.solve(M, A))


def spin_up(model: QGModel, n_steps: int, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, list]:
    """Run from a pyqg-style random state for ``n_steps``; returns (final q, AB3 history)."""
    q, hist = model.run(model.random_state(batch, seed=seed), n_steps, save_every=n_steps)
    return q[-1], hist


@register_dataset("qg", res=Int(ge=8), spinup_steps=Int(ge=0), n_time=Int(ge=1), save_every=Int(ge=1),
                  # QGModel parameters passed through **params (checked when given)
                  L=Real(gt=0), beta=Real(), rd=Real(gt=0), delta=Real(gt=0), U1=Real(), U2=Real(), rek=Real(ge=0),
                  dt=Real(gt=0), filterfac=Real(ge=0), jacobian_scale=Real(), use_filter=Choice(True, False),
                  dealias=Choice(True, False))
def make_qg(n: int = 2, res: int = 64, seed: int = 0, spinup_steps: int = 20000, n_time: int = 50,
            save_every: int = 1, **params) -> xr.Dataset:
    """Two-layer QG trajectories. Dims ``(sample, time, lev, y, x)``; variables ``q`` (1/s) and
    ``psi`` (m^2/s). ``lev`` = 1 (upper), 2 (lower). Each sample starts from its own random state
    and is spun up for ``spinup_steps`` steps (pyqg defaults: 10 years = 43,800 steps at dt = 2 h),
    then ``n_time`` states are saved every ``save_every`` steps. ``params`` go to :class:`QGModel`."""
    check_kwargs(QGModel.__init__, params, where="dataset 'qg' (QGModel parameters)")
    m = QGModel(nx=res, **params)
    q0, hist = spin_up(m, spinup_steps, batch=n, seed=seed)
    traj, _ = m.run(q0, n_time * save_every, save_every=save_every, history=hist)
    traj = traj.transpose(0, 1)                                         # (sample, time, 2, y, x)
    psi = m.psi(traj)
    x = m.x.cpu().numpy()
    t = (spinup_steps + save_every * np.arange(1, n_time + 1)) * m.dt
    dims = ("sample", "time", "lev", "y", "x")
    return xr.Dataset(
        {"q": (dims, traj.cpu().numpy(), {"units": "1/s", "long_name": "potential vorticity anomaly"}),
         "psi": (dims, psi.cpu().numpy(), {"units": "m^2/s", "long_name": "streamfunction"})},
        coords={"sample": np.arange(n), "time": ("time", t, {"units": "s", "long_name": "model time"}),
                "lev": ("lev", [1, 2], {"units": "1", "long_name": "layer (1 upper)"}),
                "y": ("y", x, {"units": "m", "long_name": "y"}), "x": ("x", x, {"units": "m", "long_name": "x"})},
        attrs={"dt": m.dt, "L": m.L},
    )
