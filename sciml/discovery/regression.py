"""Sparse regression of increments on a candidate library (pysindy optimisers or Bayesian ARD).

Columns are scaled to unit RMS and the targets of all equations by one common RMS, so one
threshold means "a term that explains less than ``threshold`` of the typical increment is dropped"
for every equation. The selected support is refitted by least squares, which also gives standard
errors. Those assume independent residuals; neighbouring grid points are correlated, so they are
lower bounds on the true uncertainty.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from sciml.utils import require

METHODS = ("stlsq", "sr3", "ssr", "ard")


def _optimizer(method: str, threshold: float):
    if method == "ard":
        from sklearn.linear_model import ARDRegression
        return ARDRegression(fit_intercept=False, threshold_lambda=1.0 / threshold ** 2)
    ps = require("pysindy", extra="discovery")
    if method == "stlsq":
        return ps.STLSQ(threshold=threshold, alpha=1e-8, max_iter=50)
    if method == "sr3":
        return ps.SR3(reg_weight_lam=threshold ** 2 / 2, regularizer="L0", max_iter=200, unbias=True)
    if method == "ssr":
        return ps.SSR(alpha=1e-8, criteria="model_residual", kappa=threshold ** 2)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def sparse_fit(systems: list[tuple[torch.Tensor, torch.Tensor]], method: str = "stlsq",
               threshold: float = 0.05, scale: str = "common", floor: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Sparse coefficients for each equation.

    systems : per equation ``(X (n, p), y (n,))`` in physical units.
    scale : ``"common"``: targets of all equations divided by one common RMS (a term is dropped
        when it explains less than ``threshold`` of a typical increment); ``"equation"``: each
        equation's target by its own RMS, but by no less than ``floor`` times the common RMS (so
        a normalised coefficient is about the square root of the variance fraction the term
        explains in its own equation, and an equation with ~zero increments stays empty). The
        latter keeps the noisier equation's spurious terms from passing a threshold set for the
        quieter one.
    Returns (coef (n_eq, p), stderr (n_eq, p)) in physical units; zeros off the support.
    """
    if scale not in ("common", "equation"):
        raise ValueError(f"scale must be 'common' or 'equation', got {scale!r}")
    rms = [float(y.pow(2).mean().sqrt()) for _, y in systems]
    common = float(np.sqrt(np.mean(np.square(rms)))) or 1.0
    scales = [max(r, floor * common) if scale == "equation" else common for r in rms]
    coefs, errs = [], []
    for (X, y), y_scale in zip(systems, scales):
        X = X.double().cpu().numpy()
        y = y.double().cpu().numpy()
        x_scale = np.sqrt((X ** 2).mean(0))
        x_scale[x_scale == 0] = 1.0
        Xn, yn = X / x_scale, y / y_scale
        opt = _optimizer(method, threshold)
        if method == "ard":
            c = np.array(opt.fit(Xn, yn).coef_)
        else:
            with warnings.catch_warnings():          # "eliminated all coefficients" is a valid answer here
                warnings.simplefilter("ignore", UserWarning)
                opt.fit(Xn, yn[:, None])
            c = np.asarray(opt.coef_).reshape(-1).copy()
        c[np.abs(c) < threshold] = 0.0          # one meaning of threshold for every method (SSR keeps >= 1 term)
        support = np.flatnonzero(np.abs(c) > 0)
        coef, err = np.zeros(X.shape[1]), np.zeros(X.shape[1])
        if support.size:
            A = Xn[:, support]
            sol, *_ = np.linalg.lstsq(A, yn, rcond=None)
            dof = max(A.shape[0] - support.size, 1)
            sigma2 = float(((A @ sol - yn) ** 2).sum()) / dof
            cov = sigma2 * np.linalg.pinv(A.T @ A)
            coef[support] = sol * y_scale / x_scale[support]
            err[support] = np.sqrt(np.diag(cov)) * y_scale / x_scale[support]
        coefs.append(coef)
        errs.append(err)
    return np.array(coefs), np.array(errs)
