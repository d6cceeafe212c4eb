"""Exceptions with messages meant for people: each names the file, setting or shape at fault.

The CLI and the app catch :class:`DianoError` and show its message instead of a traceback.
"""

from __future__ import annotations


class DianoError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(DianoError, ValueError):
    """An unknown name or an invalid setting (benchmark, model, scenario, argument)."""


class DataError(DianoError, ValueError):
    """A data file is missing, unreadable or fails validation (datasets, shapes, NaN, dtype)."""


class CheckpointError(DianoError, ValueError):
    """A checkpoint is missing, truncated, corrupted or does not match the manifest."""


class UnstableSolverError(DianoError, ValueError):
    """Solver settings break the stability limit (CFL or diffusion number)."""


class ValidationError(DianoError, RuntimeError):
    """A physical validation check failed (e.g. no vortex shedding, lattice speed too high)."""
