"""Model-error discovery (MEDIDA): observation operators, interpolators, EnKF, increments,
candidate libraries, sparse regression and the :class:`ModelErrorDiscovery` estimator.

pysindy is imported lazily (``sciml[discovery]``), so importing this package needs only core deps.
"""
from sciml.discovery.enkf import StochasticEnKF, gaspari_cohn
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import RFFMLP, rff_interpolate, scipy_interpolate, spectral_interpolate
from sciml.discovery.library import EQUATIONS, TERMS, increments, library, lowpass, stepped_library
from sciml.discovery.observe import add_noise, observe, random_mask
from sciml.discovery.regression import sparse_fit

__all__ = ["StochasticEnKF", "gaspari_cohn", "ModelErrorDiscovery", "score", "RFFMLP", "rff_interpolate",
           "scipy_interpolate", "spectral_interpolate", "EQUATIONS", "TERMS", "increments", "library", "lowpass",
           "stepped_library",
           "add_noise", "observe", "random_mask", "sparse_fit"]
