"""Physics-informed training: PDE problems, collocation samplers, physics loss, reference solvers.

>>> from sciml.pinn import get_problem, train_physics
>>> problem = get_problem("helmholtz2d")
"""
from sciml.pinn.budgets import pig_size, resolve_training, training_budget
from sciml.pinn.jet import Jet, autograd_jet, model_jet
from sciml.pinn.physics_training import PhysicsLoss, predict_grid, relative_l2, train_physics
from sciml.pinn.problems import Problem, get_problem, problem_names, register_problem
from sciml.pinn.sampling import CollocationSampler

__all__ = ["Jet", "autograd_jet", "model_jet", "Problem", "get_problem", "problem_names", "register_problem",
           "CollocationSampler", "PhysicsLoss", "pig_size", "predict_grid", "relative_l2", "resolve_training",
           "train_physics", "training_budget"]
