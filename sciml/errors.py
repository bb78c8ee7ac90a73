"""Exceptions with messages that name the problem and the fix.

Every error sciml raises on bad input derives from :class:`SciMLError`, so embedding
codes can catch one type, and the ``sciml`` command turns exactly these into one line
``sciml: error: ...`` and exit status 2 (any other exception is a bug and keeps its
traceback). Each subclass also derives from the matching builtin (``ValueError``,
``KeyError``, ``FileNotFoundError``...) so generic handlers keep working.
"""
from __future__ import annotations


class SciMLError(Exception):
    """Base class of all sciml errors: a user error (bad file, config, parameter, data), not a bug."""


class SchemaError(SciMLError, ValueError):
    """A Dataset does not match what the code expects (variables, dims, units, values)."""


class MissingVariableError(SchemaError, KeyError):
    """A required variable is absent from a Dataset."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable
        return str(self.args[0]) if self.args else ""


class NonFiniteError(SchemaError):
    """NaN or Inf where finite values are required."""


class DimensionError(SchemaError):
    """Wrong dimensions or shapes."""


class LinearSystemError(SchemaError):
    """A linear system outside what a solver handles: complex entries, or a matrix that is not symmetric
    (CG, multigrid and DCDM need a real symmetric positive definite matrix)."""


class ConfigError(SciMLError, ValueError):
    """A configuration (YAML or keyword arguments) has unknown keys or bad values."""


class RegistryError(SciMLError, KeyError):
    """An unknown name was looked up in a registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CheckpointError(SciMLError, ValueError):
    """A checkpoint is unreadable or does not fit the model it is loaded into."""


class NotFittedError(SciMLError, RuntimeError):
    """An estimator was used before ``fit``."""


class ConvergenceError(SciMLError, RuntimeError):
    """An iterative method failed to converge where convergence was required."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped without reaching its tolerance (``info > 0``), stagnated, broke down,
    or was given a system outside what its model was trained for."""


class TrainingDivergedError(SciMLError, FloatingPointError):
    """The loss became NaN or Inf during training."""


class MissingDependencyError(SciMLError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class InputFileError(SciMLError, FileNotFoundError):
    """An input file or directory is missing or cannot be read in the format its name promises."""


class OutputError(SciMLError, OSError):
    """An output cannot be written where it was asked for (a folder that cannot be created or written)."""


class OutputExistsError(OutputError, FileExistsError):
    """An output target exists and sciml may not replace it (not asked to, or not written by sciml)."""
