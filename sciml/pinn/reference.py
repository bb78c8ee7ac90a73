"""High-accuracy reference solvers for the problems without an exact solution.

- :func:`allen_cahn_etdrk4`: Fourier pseudo-spectral in x, ETDRK4 in time (Kassam & Trefethen
  2005, coefficients by contour integral), periodic on [-1, 1). Fourth order in dt, spectral in x.
- :func:`nonlinear_diffusion_fd`: u_t = 0.05 (|grad u|^2 + u Lap u) = 0.025 Lap(u^2), written in
  that conservative form, 5-point Laplacian of u^2 on a uniform grid with u = 0 on the boundary,
  classical RK4 in time with dt well inside stability. Second order in dx.

Both run in float64 numpy; tests check the convergence orders under refinement.
"""
from __future__ import annotations

import numpy as np


def allen_cahn_etdrk4(n: int = 512, dt: float = 1e-4, t_out: np.ndarray | None = None,
                      diff: float = 1e-4, react: float = 5.0, m_contour: int = 32):
    """Solve u_t = diff u_xx + react (u - u^3), u(0, x) = x^2 cos(pi x), x in [-1, 1) periodic.

    Returns ``x`` (n,), ``t_out`` (T,), ``u`` (T, n). ``t_out`` must be multiples of ``dt``.
    """
    t_out = np.linspace(0, 1, 101) if t_out is None else np.asarray(t_out, dtype=float)
    x = -1 + 2 * np.arange(n) / n
    k = np.pi * np.fft.rfftfreq(n, d=1.0 / n)  # wavenumbers for period 2
    lin = -diff * k**2 + react
    E, E2 = np.exp(dt * lin), np.exp(dt * lin / 2)
    r = np.exp(1j * np.pi * (np.arange(1, m_contour + 1) - 0.5) / m_contour)
    LR = dt * lin[:, None] + r[None, :]
    Q = dt * np.real(np.mean((np.exp(LR / 2) - 1) / LR, axis=1))
    f1 = dt * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR**2)) / LR**3, axis=1))
    f2 = dt * np.real(np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * LR - LR**2 + np.exp(LR) * (4 - LR)) / LR**3, axis=1))

    def nonlin(v):
        u = np.fft.irfft(v, n=n)
        return np.fft.rfft(-react * u**3)

    v = np.fft.rfft(x**2 * np.cos(np.pi * x))
    steps = np.rint(t_out / dt).astype(int)
    if not np.allclose(steps * dt, t_out, atol=1e-9):
        raise ValueError(f"t_out must be multiples of dt={dt}")
    out, step = [], 0
    for target in steps:
        while step < target:
            Nv = nonlin(v)
            a = E2 * v + Q * Nv
            Na = nonlin(a)
            b = E2 * v + Q * Na
            Nb = nonlin(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = nonlin(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
            step += 1
        out.append(np.fft.irfft(v, n=n))
    return x, t_out, np.stack(out)


def nonlinear_diffusion_ic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The three-bump initial condition of the PIG paper (works on numpy or torch arrays)."""
    lib = np if isinstance(x, np.ndarray) else __import__("torch")
    return (0.25 * lib.exp(-((x - 0.3) ** 2 + (y - 0.2) ** 2) / 0.1)
            + 0.4 * lib.exp(-15 * ((x + 0.5) ** 2 + (y + 0.1) ** 2))
            + 0.3 * lib.exp(-20 * (x**2 + (y + 0.5) ** 2)))


def nonlinear_diffusion_fd(n: int = 129, t_out: np.ndarray | None = None, coef: float = 0.05,
                           cfl: float = 0.2):
    """Solve u_t = coef (|grad u|^2 + u Lap u) on [-1, 1]^2, u = 0 on the boundary.

    ``n`` grid points per side including the boundary. Returns ``x`` (n,), ``t_out`` (T,),
    ``u`` (T, n, n) indexed [t, x, y]. The time step is ``cfl dx^2 / (coef max u0)`` (or smaller,
    to land on every output time).
    """
    t_out = np.linspace(0, 1, 11) if t_out is None else np.asarray(t_out, dtype=float)
    x = np.linspace(-1, 1, n)
    dx = x[1] - x[0]
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = nonlinear_diffusion_ic(X, Y)
    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
    dt_max = cfl * dx**2 / (coef * max(u.max(), 1e-12))

    def rhs(u):
        w = u * u
        out = np.zeros_like(u)
        out[1:-1, 1:-1] = (w[2:, 1:-1] + w[:-2, 1:-1] + w[1:-1, 2:] + w[1:-1, :-2] - 4 * w[1:-1, 1:-1])
        return 0.5 * coef / dx**2 * out

    out, t = [], 0.0
    for target in t_out:
        span = target - t
        if span > 0:
            steps = int(np.ceil(span / dt_max))
            h = span / steps
            for _ in range(steps):
                k1 = rhs(u)
                k2 = rhs(u + 0.5 * h * k1)
                k3 = rhs(u + 0.5 * h * k2)
                k4 = rhs(u + h * k3)
                u = u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t = target
        out.append(u.copy())
    return x, t_out, np.stack(out)
