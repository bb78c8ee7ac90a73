"""sciml: scientific machine learning on PDEs and climate.

One xarray data layer (:mod:`sciml.data`), classical solvers for ground truth
(:mod:`sciml.pde`), registered models (:mod:`sciml.models`) and one training/evaluation
harness (:mod:`sciml.train`, :mod:`sciml.evaluate`).
"""
from sciml._version import __version__

__all__ = ["__version__"]
