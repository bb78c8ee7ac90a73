"""Learned and classical linear algebra: CG, PCG (Jacobi, IC(0), AMG), DCDM, Lanczos."""
from sciml.linalg.dcdm import dcdm_solve, load_shipped_model
from sciml.linalg.krylov import amg, cg, ic0_grid, jacobi, pcg
from sciml.linalg.lanczos import biased_rhs, lanczos, ritz_pairs

__all__ = ["dcdm_solve", "load_shipped_model", "cg", "pcg", "jacobi", "ic0_grid", "amg", "lanczos", "ritz_pairs",
           "biased_rhs"]
