"""The solver playground: march a latent with chosen PDE settings, outside the model.

The model's own solver is never changed: :func:`build_solver` makes a new
:class:`~diano.solvers.AdvectionDiffusion2d` on the model's latent grid and box with the
settings a person picked (ν, velocity, dt, sub-steps, scheme, boundaries). It is always
built with ``n_substeps="auto"`` so that construction never raises; whether the requested
fixed number of sub-steps is stable is a question for :func:`stability`, asked before a
march, so the app can warn instead of blowing up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from diano.errors import ConfigError, UnstableSolverError
from diano.solvers import AdvectionDiffusion2d, StabilityReport


@dataclass(frozen=True)
class SolverSettings:
    """Settings of a 2D latent advection–diffusion march.

    Attributes:
        nu: diffusivity ν (latent units).
        velocity: ``(cx, cy)`` (latent units).
        dt: step per snapshot interval.
        n_substeps: RK4 sub-steps per step, or ``"auto"`` for as many as stability needs.
        scheme: ``"central2"`` or ``"oucs2"``.
        boundary: ``(bx, by)``: ``"periodic"``, ``"free"`` or ``"upwind"`` per axis.
    """

    nu: float
    velocity: tuple[float, float]
    dt: float
    n_substeps: int | str = "auto"
    scheme: str = "central2"
    boundary: tuple[str, str] = ("periodic", "periodic")


def marching_latent(model: nn.Module) -> tuple[tuple[int, int], tuple[float, float]]:
    """Latent grid ``(M_y, M_x)`` and solver box of a 2D temporal DIANO model.

    Raises:
        ConfigError: the model has no 2D latent advection–diffusion (a baseline, or another
            scenario).
    """
    config = getattr(model, "config", None)
    pde = getattr(config, "pde", None)
    if getattr(model, "name", "") != "diano" or config.scenario != "temporal" or pde is None:
        raise ConfigError(
            f"the solver playground marches DIANO's 2D latent PDE; model "
            f"{getattr(model, 'name', '?')!r} in scenario {getattr(config, 'scenario', '?')!r} "
            "has none"
        )
    shape = (int(config.latent_shape[0]), int(config.latent_shape[1]))
    box = tuple(float(b) for b in pde.box) if pde.box is not None else (1.0, 1.0)
    return shape, (box[0], box[1])


def settings_from_model(model: nn.Module) -> SolverSettings:
    """The settings the model was trained with (learned ν and velocity included)."""
    marching_latent(model)
    pde = model.config.pde
    solver = getattr(model, "solver", None)
    nu, velocity = float(pde.nu), tuple(float(c) for c in pde.velocity)
    if solver is not None:
        nu = float(solver.nu.detach().mean())
        velocity = tuple(float(c) for c in solver.velocity.detach().reshape(-1, 2).mean(0))
    return SolverSettings(
        nu=nu,
        velocity=(velocity[0], velocity[1]),
        dt=float(pde.dt),
        n_substeps=pde.n_substeps,
        scheme=str(pde.scheme),
        boundary=(str(pde.boundary[0]), str(pde.boundary[-1])),
    )


def build_solver(
    settings: SolverSettings, shape: Sequence[int], box: Sequence[float]
) -> AdvectionDiffusion2d:
    """A fresh solver for ``settings`` on the latent ``shape`` and ``box`` (never raises for
    instability; see :func:`stability`)."""
    return AdvectionDiffusion2d(
        (int(shape[0]), int(shape[1])),
        (float(box[0]), float(box[1])),
        nu=settings.nu,
        velocity=settings.velocity,
        dt=settings.dt,
        n_substeps="auto",
        scheme=settings.scheme,
        boundary=settings.boundary,
    )


def stability(solver: AdvectionDiffusion2d, settings: SolverSettings) -> StabilityReport:
    """The stability report for the requested sub-steps (``"auto"``: as many as needed)."""
    return solver.stability(n_substeps=settings.n_substeps)


@torch.no_grad()
def march(
    solver: AdvectionDiffusion2d, z: Tensor, n_steps: int, settings: SolverSettings
) -> list[Tensor]:
    """March ``z (B, Lc, M_y, M_x)`` ``n_steps`` steps; returns the ``n_steps`` new states.

    Raises:
        UnstableSolverError: a fixed number of sub-steps is unstable for these settings (the
            message names the CFL or diffusion number and its limit).
    """
    report = stability(solver, settings)
    if not report.ok:
        raise UnstableSolverError(f"these solver settings are unstable: {report.explain()}")
    states = []
    for _ in range(int(n_steps)):
        z = solver(z, 1, n_substeps=settings.n_substeps)
        if not torch.isfinite(z).all():
            raise UnstableSolverError(
                "the latent became non-finite while marching; reduce dt or use more sub-steps"
            )
        states.append(z)
    return states


def latent_residual(solver: AdvectionDiffusion2d, latents: Tensor, dt: float) -> Tensor:
    """Relative residual of the latent PDE along ``latents (T, Lc, M_y, M_x)``: ``(T - 1,)``
    (:func:`diano.metrics.advection_diffusion_residual`)."""
    from diano.metrics import advection_diffusion_residual

    if latents.shape[0] < 2:
        return torch.zeros(0)
    with torch.no_grad():
        return advection_diffusion_residual(latents[None], dt, solver)[0]
