"""Inverse edits: make the decoded field take a target inside a region, by gradient descent.

Two things can be optimised, both by Adam with a bounded number of iterations:

* ``"latent"``: the latent ``z (1, Lc, M_y, M_x)`` itself; with ``n_steps > 0`` the target is
  met after marching ``z`` that many steps (the latent PDE for DIANO, the learned step for
  a baseline), so the gradient flows through the decoder and the solver;
* ``"pde"``: the latent PDE's ν and velocity ``(c_x, c_y)`` (DIANO, temporal), the start
  latent fixed; the target is met after ``n_steps >= 1`` solver steps. ν is optimised
  through ``log ν`` (it stays positive) and the velocity in units of its start size. After
  every Adam step the settings are checked against the solver's stability limit for the
  chosen sub-steps; a step that leaves the stable range is cut back (halved towards the last
  stable settings) until it is inside, so the solver never runs unstable settings. Unstable
  start settings raise :class:`~diano.errors.UnstableSolverError` naming the limit.

The objective is the mean squared misfit ``(u_c - target)²`` over the region's points, plus,
with ``keep_weight > 0``, ``keep_weight ×`` the mean squared change of the field outside the
region (so the edit stays local). :func:`inverse_edit` is a generator: it yields an
:class:`InverseStep` per iteration (iteration 0 is the start), so a UI can draw the loss as it
falls and stop early.

The model is only read: gradients are taken with ``torch.autograd.grad`` with respect to the
optimised tensors alone, so no parameter is changed and no parameter's ``.grad`` is
written (models are shared between sessions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from diano.errors import ConfigError, UnstableSolverError
from diano.explore.playground import (
    SolverSettings,
    marching_latent,
    model_solver,
    settings_from_model,
)

Variable = Literal["latent", "pde"]
VARIABLES: tuple[str, ...] = ("latent", "pde")
#: bounds that keep one inverse edit interactive
MAX_ITERS = 500
MAX_STEPS = 100
#: halvings of a step that left the stable range before giving up on it
_MAX_CUTS = 30


@dataclass(frozen=True)
class Region:
    """A rectangle ``[x0, x1] × [y0, y1]`` in the data's physical coordinates."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def mask(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Points of the grid ``y (H,)`` × ``x (W,)`` inside the rectangle: ``(H, W)`` bool.

        Raises:
            ConfigError: an edge is not finite, the ranges do not increase, or no grid
                point lies inside.
        """
        edges = (*self.x_range, *self.y_range)
        if len(self.x_range) != 2 or len(self.y_range) != 2:
            raise ConfigError(f"a region needs (x0, x1) and (y0, y1), got {self}")
        if not all(math.isfinite(float(e)) for e in edges):
            raise ConfigError(f"region edges must be finite numbers, got {edges}")
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        if x1 <= x0 or y1 <= y0:
            raise ConfigError(
                f"region edges must increase: x from {x0:g} to {x1:g}, y from {y0:g} to {y1:g}"
            )
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        inside = ((y >= y0) & (y <= y1))[:, None] & ((x >= x0) & (x <= x1))[None, :]
        if not inside.any():
            raise ConfigError(
                f"the region x ∈ [{x0:.3g}, {x1:.3g}], y ∈ [{y0:.3g}, {y1:.3g}] holds no grid "
                f"point (the grid spans x ∈ [{x.min():.3g}, {x.max():.3g}], y ∈ "
                f"[{y.min():.3g}, {y.max():.3g}]); make it larger or move it"
            )
        return inside

    def describe(self) -> str:
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return f"x ∈ [{x0:.2f}, {x1:.2f}], y ∈ [{y0:.2f}, {y1:.2f}]"


@dataclass(frozen=True)
class InverseConfig:
    """Settings of one inverse edit.

    Attributes:
        variable: ``"latent"`` or ``"pde"`` (ν and velocity).
        n_iters: Adam iterations (1 … :data:`MAX_ITERS`).
        lr: Adam step size; in latent units for ``"latent"``, in units of ``log ν`` and of
            the start velocity's size for ``"pde"``.
        n_steps: solver steps between the optimised latent and the decoded field
            (0 … :data:`MAX_STEPS`; at least 1 for ``"pde"``).
        keep_weight: weight of keeping the field outside the region as it was (0: free).
        channel: output channel the target refers to.
        tol: stop once the objective falls below this.
    """

    variable: Variable = "latent"
    n_iters: int = 60
    lr: float = 0.05
    n_steps: int = 0
    keep_weight: float = 0.0
    channel: int = 0
    tol: float = 0.0

    def __post_init__(self) -> None:
        if self.variable not in VARIABLES:
            raise ConfigError(f"variable must be one of {list(VARIABLES)}, got {self.variable!r}")
        if not (isinstance(self.n_iters, int) and 1 <= self.n_iters <= MAX_ITERS):
            raise ConfigError(f"n_iters must be an integer in 1..{MAX_ITERS}, got {self.n_iters!r}")
        if not (isinstance(self.n_steps, int) and 0 <= self.n_steps <= MAX_STEPS):
            raise ConfigError(f"n_steps must be an integer in 0..{MAX_STEPS}, got {self.n_steps!r}")
        if self.variable == "pde" and self.n_steps < 1:
            raise ConfigError("optimising ν and the velocity needs n_steps >= 1 solver steps")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"the step size lr must be a positive number, got {self.lr!r}")
        if not (math.isfinite(self.keep_weight) and self.keep_weight >= 0):
            raise ConfigError(f"keep_weight must be >= 0, got {self.keep_weight!r}")
        if self.channel < 0:
            raise ConfigError(f"channel must be >= 0, got {self.channel}")


@dataclass(frozen=True)
class InverseStep:
    """One iteration of an inverse edit (iteration 0: the start).

    Attributes:
        iteration: Adam steps taken so far.
        loss: the objective at the current values (before this iteration's step).
        rms: root-mean-square misfit inside the region, in field units.
        z: the current start latent ``(1, Lc, M_y, M_x)`` (detached, on the CPU).
        nu, velocity: the current PDE settings (``"pde"``), else ``None``.
        cut: whether the last step was cut back to stay stable (``"pde"``).
    """

    iteration: int
    loss: float
    rms: float
    z: Tensor
    nu: float | None = None
    velocity: tuple[float, float] | None = None
    cut: bool = False


def _as_target(target: float | np.ndarray | Tensor, shape: tuple[int, int], like: Tensor) -> Tensor:
    """A constant or an ``(H, W)`` field as a tensor on the output grid."""
    if isinstance(target, (int, float, np.floating, np.integer)):
        value = float(target)
        if not math.isfinite(value):
            raise ConfigError(f"the target value must be finite, got {value}")
        return torch.full(shape, value, dtype=like.dtype, device=like.device)
    t = torch.as_tensor(np.asarray(target) if not isinstance(target, Tensor) else target)
    t = t.to(dtype=like.dtype, device=like.device)
    if t.dim() == 3 and t.shape[0] == 1:
        t = t[0]
    if tuple(t.shape) != tuple(shape):
        raise ConfigError(
            f"the target field has shape {tuple(t.shape)}; it must match the decoded grid "
            f"{tuple(shape)}"
        )
    if not torch.isfinite(t).all():
        raise ConfigError("the target field holds NaN or Inf")
    return t


def _as_mask(region: np.ndarray | Tensor, shape: tuple[int, int], like: Tensor) -> Tensor:
    mask = torch.as_tensor(np.asarray(region) if not isinstance(region, Tensor) else region)
    if tuple(mask.shape) != tuple(shape):
        raise ConfigError(
            f"the region mask has shape {tuple(mask.shape)}; it must match the decoded grid "
            f"{tuple(shape)}"
        )
    mask = mask.to(device=like.device).bool()
    if not mask.any():
        raise ConfigError("the region is empty; it must hold at least one grid point")
    return mask


def _marcher(
    model: nn.Module, config: InverseConfig, settings: SolverSettings | None
) -> tuple[Callable[..., Tensor], SolverSettings | None]:
    """``march(z, nu, velocity) -> z after n_steps`` and the solver settings it uses."""
    n = config.n_steps
    diano_pde = (
        getattr(model, "name", "") == "diano"
        and getattr(getattr(model, "config", None), "scenario", "") == "temporal"
    )
    if config.variable == "pde" or (n > 0 and diano_pde):
        marching_latent(model)  # ConfigError for a model without a 2D PDE
        settings = settings or settings_from_model(model)
        solver = model_solver(settings, model)
        device = next(model.parameters()).device
        solver = solver.to(device)

        def march(z: Tensor, nu: Tensor | None = None, velocity: Tensor | None = None) -> Tensor:
            if n == 0:
                return z
            return solver(z, n, nu=nu, velocity=velocity, n_substeps=settings.n_substeps)

        march.solver = solver  # type: ignore[attr-defined]
        return march, settings
    if n == 0:
        return (lambda z, nu=None, velocity=None: z), None
    return (lambda z, nu=None, velocity=None: model.step(z, n)), None


def inverse_edit(
    model: nn.Module,
    z0: Tensor,
    region: np.ndarray | Tensor,
    target: float | np.ndarray | Tensor,
    config: InverseConfig,
    *,
    output_shape: tuple[int, int] | None = None,
    settings: SolverSettings | None = None,
) -> Iterator[InverseStep]:
    """Optimise the latent (or ν and velocity) so the decoded field meets ``target`` in
    ``region``; yields one :class:`InverseStep` per iteration, the start included.

    Args:
        model: a model with ``decode(z, output_shape)`` (and ``step`` when marching);
            never changed.
        z0: the start latent ``(1, Lc, M_y, M_x)``.
        region: ``(H, W)`` bool mask on the decoded grid (:meth:`Region.mask`).
        target: a constant, or an ``(H, W)`` field on the decoded grid (e.g. the truth at
            another time).
        config: what to optimise and how long.
        output_shape: the decoded grid ``(H, W)``; default ``region``'s shape.
        settings: the latent PDE's settings when marching (default: the model's own).

    Raises:
        ConfigError: a bad region, target, shape or setting, or ``"pde"`` for a model
            without a 2D latent PDE.
        UnstableSolverError: the start settings are unstable for the chosen sub-steps.
    """
    if z0.dim() < 2 or z0.shape[0] != 1:
        raise ConfigError(f"the start latent must be one latent (1, ...), got {tuple(z0.shape)}")
    shape = tuple(int(s) for s in (output_shape or tuple(np.shape(region))))
    device = next(model.parameters()).device
    z_start = z0.detach().to(device=device, dtype=torch.float32).clone()
    mask = _as_mask(region, shape, z_start)
    goal = _as_target(target, shape, z_start)
    march, settings = _marcher(model, config, settings)
    with torch.no_grad():
        u_start = model.decode(march(z_start), output_shape=shape)
    if config.channel >= u_start.shape[1]:
        raise ConfigError(
            f"channel {config.channel} out of range: the model emits {u_start.shape[1]}"
        )
    problem = _Problem(model, z_start, mask, goal, u_start, config, march)
    if config.variable == "pde":
        return _optimise_pde(problem, _start_theta(march.solver, settings), settings)
    return _optimise_latent(problem)


@dataclass(frozen=True)
class _Problem:
    model: nn.Module
    z_start: Tensor
    mask: Tensor
    goal: Tensor
    u_start: Tensor
    config: InverseConfig
    march: Callable[..., Tensor]

    def objective(self, z_end: Tensor) -> tuple[Tensor, float]:
        u = self.model.decode(z_end, output_shape=tuple(self.mask.shape))
        return _objective(u, self.mask, self.goal, self.u_start, self.config)


def _objective(
    u: Tensor, mask: Tensor, goal: Tensor, u_start: Tensor, config: InverseConfig
) -> tuple[Tensor, float]:
    """Objective and region RMS misfit of a decoded field ``u (1, C, H, W)``."""
    misfit = (u[0, config.channel] - goal)[mask]
    loss = (misfit**2).mean()
    if config.keep_weight > 0 and (~mask).any():
        change = (u[0] - u_start[0])[:, ~mask]  # (C, n_outside)
        loss = loss + config.keep_weight * (change**2).mean()
    return loss, float(misfit.detach().pow(2).mean().sqrt())


def _optimise_latent(p: _Problem) -> Iterator[InverseStep]:
    z = p.z_start.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=p.config.lr)
    with torch.enable_grad():
        for it in range(p.config.n_iters + 1):
            loss, rms = p.objective(p.march(z))
            yield InverseStep(it, float(loss.detach()), rms, z.detach().cpu().clone())
            if it == p.config.n_iters or float(loss.detach()) <= p.config.tol:
                return
            (z.grad,) = torch.autograd.grad(loss, [z])
            opt.step()


@dataclass(frozen=True)
class _Theta:
    """ν and velocity as optimised: ``theta = (log ν, c_x / scale, c_y / scale)``."""

    theta: Tensor
    scale: float

    def coefficients(self, theta: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        nu = torch.exp(theta[0]).reshape(1)  # (B=1,)
        velocity = (theta[1:] * self.scale).reshape(1, 2)  # (B=1, 2)
        return nu.to(like.dtype), velocity.to(like.dtype)


def _start_theta(solver, settings: SolverSettings) -> _Theta:
    """The start point in ``theta``; raises UnstableSolverError for unstable settings."""
    nu0 = max(float(settings.nu), 1e-8)
    v0 = torch.tensor(settings.velocity, dtype=torch.float64)
    report = solver.stability(nu0, v0[None], n_substeps=settings.n_substeps)
    if not report.ok:
        raise UnstableSolverError(
            f"the start settings (ν = {nu0:.3g}, velocity {tuple(settings.velocity)}, "
            f"{settings.n_substeps} sub-steps) are unstable: {report.explain()}"
        )
    scale = max(float(v0.abs().max()), 1e-3)
    theta = torch.tensor([math.log(nu0), *(v0 / scale).tolist()], dtype=torch.float64)
    return _Theta(theta, scale)


def _optimise_pde(p: _Problem, start: _Theta, settings: SolverSettings) -> Iterator[InverseStep]:
    theta = start.theta.clone().requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=p.config.lr)
    cut = False
    with torch.enable_grad():
        for it in range(p.config.n_iters + 1):
            nu, velocity = start.coefficients(theta, p.z_start)
            loss, rms = p.objective(p.march(p.z_start, nu, velocity))
            yield InverseStep(
                it,
                float(loss.detach()),
                rms,
                p.z_start.detach().cpu().clone(),
                float(nu.detach()[0]),
                (float(velocity[0, 0].detach()), float(velocity[0, 1].detach())),
                cut,
            )
            if it == p.config.n_iters or float(loss.detach()) <= p.config.tol:
                return
            (theta.grad,) = torch.autograd.grad(loss, [theta])
            before = theta.detach().clone()
            opt.step()
            cut = _keep_stable(theta, before, p.march.solver, settings, start, p.z_start)


def _keep_stable(theta: Tensor, before: Tensor, solver, settings, start: _Theta, like) -> bool:
    """Halve the last step towards ``before`` until the settings are stable; True if cut."""
    with torch.no_grad():
        for k in range(_MAX_CUTS):
            nu, velocity = start.coefficients(theta, like)
            report = solver.stability(
                nu.double(), velocity.double(), n_substeps=settings.n_substeps
            )
            if report.ok:
                return k > 0
            theta.copy_((theta + before) / 2)
        theta.copy_(before)
    return True


def pde_settings(step: InverseStep, settings: SolverSettings) -> SolverSettings:
    """``settings`` with the ν and velocity an inverse edit reached."""
    if step.nu is None or step.velocity is None:
        raise ConfigError("this inverse edit optimised the latent, not the PDE settings")
    return replace(settings, nu=step.nu, velocity=step.velocity)


def run_inverse_edit(*args, **kwargs) -> list[InverseStep]:
    """:func:`inverse_edit` run to the end; returns every step."""
    return list(inverse_edit(*args, **kwargs))
