"""Differentiable latent PDE solvers of DIANO (arXiv 2510.00233, §2), defects fixed.

Contents:

- :class:`AdvectionDiffusion2d`: ``∂z/∂t + c·∇z = ν∇²z`` on an ``My×Mx`` latent, RK4 in time,
  OUCS2 or central first derivatives, periodic / free / upwind boundaries per axis.
- :class:`AdvectionDiffusion1d`: the same on a line (geometric reduction 2D → 1D).
- :class:`CarrierAdvection2d`: a two-channel latent, an open field fed inside a source window
  by a periodic carrier (a readable wake that keeps shedding), optionally with
- :class:`LocalCorrection2d`: a learned local rate ``f_θ(z, x, y)`` added to its field.
- :class:`PressurePoisson3d`: ``∇²p = -ρ(u_x² + ... + 2v_z w_y)`` on a masked 3D box, by
  DST-preconditioned CG with implicit differentiation (or the paper's point-Jacobi map).
- :class:`StabilityReport`: CFL and diffusion numbers, limits, exact RK4 check, sub-steps needed.
- :class:`SolveInfo`, :class:`ConvergenceWarning`: outcome of a Poisson solve.
- Stencil builders: :func:`first_derivative_matrix`, :func:`second_derivative_matrix`,
  :func:`oucs2_coefficients`, and :func:`apply_along` to apply a matrix along one axis.
- :class:`AdvectionDiffusionNd` and :func:`rk4_step`: the shared machinery behind the
  line and plane solvers.
"""

from __future__ import annotations

from diano.solvers.advection_diffusion import AdvectionDiffusion1d, AdvectionDiffusion2d
from diano.solvers.carrier import CarrierAdvection2d
from diano.solvers.correction import LocalCorrection2d
from diano.solvers.krylov import ConvergenceWarning, SolveInfo
from diano.solvers.method_of_lines import AdvectionDiffusionNd, rk4_step
from diano.solvers.poisson import PressurePoisson3d
from diano.solvers.stability import StabilityReport
from diano.solvers.stencils import (
    apply_along,
    first_derivative_matrix,
    oucs2_coefficients,
    second_derivative_matrix,
)

__all__ = [
    "AdvectionDiffusion1d",
    "AdvectionDiffusion2d",
    "AdvectionDiffusionNd",
    "CarrierAdvection2d",
    "ConvergenceWarning",
    "LocalCorrection2d",
    "PressurePoisson3d",
    "SolveInfo",
    "StabilityReport",
    "apply_along",
    "first_derivative_matrix",
    "oucs2_coefficients",
    "rk4_step",
    "second_derivative_matrix",
]
