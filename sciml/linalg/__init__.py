"""Learned and classical linear algebra: CG, PCG (Jacobi, IC(0), AMG), geometric multigrid, DCDM, Lanczos."""
from sciml.linalg.dcdm import dcdm_solve, load_shipped_model
from sciml.linalg.krylov import amg, cg, ic0_grid, jacobi, pcg
from sciml.linalg.lanczos import biased_rhs, lanczos, ritz_pairs
from sciml.linalg.learned_solver import LearnedSolver, mg_solve
from sciml.linalg.multigrid import Multigrid
from sciml.linalg.stencil import GridOperator, from_coefficients

__all__ = ["dcdm_solve", "load_shipped_model", "cg", "pcg", "jacobi", "ic0_grid", "amg", "lanczos", "ritz_pairs",
           "biased_rhs", "LearnedSolver", "mg_solve", "Multigrid", "GridOperator", "from_coefficients"]
