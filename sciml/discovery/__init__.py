"""Model-error discovery (MEDIDA): observation operators, interpolators, EnKF, increments,
candidate libraries, sparse regression and the :class:`ModelErrorDiscovery` estimator.

pysindy is imported lazily (``sciml[discovery]``), so importing this package needs only core deps.
"""
from sciml.discovery.cycled import cycled_analysis
from sciml.discovery.enkf import StochasticEnKF, gaspari_cohn
from sciml.discovery.estimator import ModelErrorDiscovery, score
from sciml.discovery.interpolate import (RFFMLP, CubicFill, RidgeFill, rff_interpolate, scipy_interpolate,
                                         spectral_interpolate)
from sciml.discovery.library import (EQUATIONS, TERMS, increments, library, lowpass, stepped_library,
                                     window_sums)
from sciml.discovery.observe import add_noise, observe, random_mask
from sciml.discovery.regression import sparse_fit

__all__ = ["CubicFill", "RidgeFill", "cycled_analysis", "StochasticEnKF", "gaspari_cohn", "ModelErrorDiscovery",
           "score", "RFFMLP", "rff_interpolate", "scipy_interpolate", "spectral_interpolate", "EQUATIONS", "TERMS",
           "increments", "library", "lowpass", "stepped_library", "window_sums", "add_noise", "observe",
           "random_mask", "sparse_fit"]
