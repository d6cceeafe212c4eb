"""Numerics behind the explorer app: pure torch/numpy, no UI (``diano.ui`` and ``pages/``
call these and draw the results with ``diano.viz``).

- ``predict``: :func:`predict` a case over time by reconstruction, latent-only or
  re-encoded rollout; error curves per frame; reference forecasts; :func:`time_call`;
- ``latent``: the latent as a coarse field: :func:`pool_to`, :func:`readable_region`,
  :func:`latent_correlation`, autograd :func:`saliency`;
- ``vortex``: :class:`LambOseen`, :func:`insert_vortex`, :func:`vortex_street`;
- ``playground``: :class:`SolverSettings`, :func:`build_solver`, :func:`stability`,
  :func:`march`, :func:`latent_residual`;
- ``line``: the geometric scenario's latent line, its 1D march and stability;
- ``vessel``: many-to-one in 3D (pressure from velocity, DIANO's latent pressure), display
  down-sampling;
- ``synthetic``: synthetic stenosis and vessel cases for tests and fixtures.

Latent edits (bump, region, Fourier modes, undo/redo) live in :mod:`diano.latent_edit`.
"""

from __future__ import annotations

from diano.explore.latent import latent_correlation, pool_to, readable_region, saliency
from diano.explore.playground import (
    SolverSettings,
    build_solver,
    describe_pde,
    latent_residual,
    learned_rate,
    march,
    marching_latent,
    model_solver,
    settings_from_model,
    stability,
)
from diano.explore.predict import (
    MODES,
    Prediction,
    abs_error,
    mse_curve,
    pipeline_arrays,
    predict,
    reference_curves,
    rel_l2_curve,
    time_call,
)
from diano.explore.vortex import LambOseen, insert_vortex, vortex_street

__all__ = [
    "MODES",
    "LambOseen",
    "Prediction",
    "SolverSettings",
    "abs_error",
    "build_solver",
    "describe_pde",
    "insert_vortex",
    "latent_correlation",
    "latent_residual",
    "learned_rate",
    "march",
    "marching_latent",
    "model_solver",
    "mse_curve",
    "pipeline_arrays",
    "pool_to",
    "predict",
    "readable_region",
    "reference_curves",
    "rel_l2_curve",
    "saliency",
    "settings_from_model",
    "stability",
    "time_call",
    "vortex_street",
]
