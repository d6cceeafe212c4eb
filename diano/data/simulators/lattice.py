"""Pieces shared by the D2Q9 and D3Q19 solvers: compiled steps with an eager fallback,
stability checks, macroscopic fields and momentum-exchange forces.

Lattice units throughout: node spacing 1, time step 1, reference density 1, speed of sound
c_s = 1/√3, kinematic viscosity ν = (τ − ½)/3, pressure p = c_s²(ρ − ρ̄) = (ρ − ρ̄)/3.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from diano.errors import ConfigError, ValidationError

logger = logging.getLogger(__name__)

#: Largest lattice speed |u| a run may reach; above it the weakly compressible error (Ma²)
#: grows and BGK/TRT runs with thin shear layers go unstable (reference/data.md §6.3).
MAX_LATTICE_SPEED = 0.15


class Macroscopic(NamedTuple):
    """Macroscopic fields on the lattice, each shaped like the solid mask.

    Velocity components are zero on solid nodes; ``p = (ρ − ρ̄)/3`` with ρ̄ the mean
    density over fluid nodes. ``u`` holds the components along (x, y[, z]).
    """

    rho: Tensor
    u: tuple[Tensor, ...]
    p: Tensor


class CompiledStep:
    """Call ``fn`` through ``torch.compile`` and fall back to eager mode if compiling fails.

    Each instance compiles its own copy of ``fn``'s code object: dynamo keeps its cache on
    the code object and stops compiling after a few recompilations (``recompile_limit``), so
    sharing one code object between many lattices of different sizes or relaxation times
    would silently end in eager mode.

    Args:
        fn: the step function (plain tensors and Python scalars in, tensors out).
        compile: compile with ``torch.compile`` (``True``) or run eagerly (``False``).
    """

    def __init__(self, fn: Callable[..., Any], compile: bool = True) -> None:
        self._eager = fn
        self.compiled = bool(compile)
        self._fn: Callable[..., Any] = fn
        if self.compiled:
            own = types.FunctionType(
                fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
            )
            self._fn = torch.compile(own, dynamic=False, fullgraph=True)
        self._tried = not self.compiled

    def __call__(self, *args: Any) -> Any:
        if self._tried:
            return self._fn(*args)
        try:
            out = self._fn(*args)
        except Exception as exc:  # any compiler failure (no C compiler, inductor bug, ...)
            logger.warning(
                "torch.compile failed (%s: %s); using eager mode", type(exc).__name__, exc
            )
            self._fn = self._eager
            self.compiled = False
            out = self._fn(*args)
        self._tried = True
        return out


def sponge_ramp(
    n: int, width: int, strength: float, side: Literal["inlet", "outlet"] = "outlet"
) -> Tensor:
    """Sponge profile ``(n,)`` along x: a quadratic ramp over ``width`` nodes at one end.

    Zero away from the layer, ``strength`` on the boundary node itself; used as the added
    relaxation time Δτ(x). The gradual ramp keeps reflections from the layer's edge small.
    """
    x = torch.arange(n, dtype=torch.float64)
    distance = x if side == "inlet" else (n - 1) - x  # nodes from the boundary
    ramp = (1.0 - distance / max(width, 1)).clamp(min=0.0)
    return strength * ramp**2


def as_mask(solid: Tensor | np.ndarray, ndim: int, device: torch.device) -> Tensor:
    """Return ``solid`` as a boolean tensor on ``device`` after checking its rank."""
    mask = torch.as_tensor(np.asarray(solid) if not isinstance(solid, Tensor) else solid)
    if mask.ndim != ndim:
        raise ConfigError(f"solid mask must have {ndim} dimensions, got shape {tuple(mask.shape)}")
    if min(mask.shape) < 3:
        raise ConfigError(f"lattice {tuple(mask.shape)} is too small: every side needs ≥ 3 nodes")
    return mask.to(device=device, dtype=torch.bool).contiguous()


def check_tau(tau: float, minimum: float = 0.5) -> float:
    """Check the relaxation time: ν = (τ − ½)/3 must be positive."""
    tau = float(tau)
    if not np.isfinite(tau) or tau <= minimum:
        raise ConfigError(
            f"relaxation time tau={tau} must be > {minimum} (viscosity (tau-1/2)/3 > 0)"
        )
    return tau


def velocity_table(c: Sequence[Sequence[int]], dtype: torch.dtype, device: torch.device) -> Tensor:
    """Lattice velocities as a float tensor ``(Q, dim)`` for force sums."""
    return torch.tensor(c, dtype=dtype, device=device)


def incoming_links(solid: Tensor, body: Tensor, velocities: Sequence[Sequence[int]]) -> Tensor:
    """Mark the links along which fluid populations stream into ``body``.

    Link ``i`` at a body node ``x_b`` is active when the upstream node ``x_b − c_i`` is
    fluid: after streaming, ``f_i(x_b)`` is a population that left the fluid towards the
    wall and is reflected by full-way bounce-back in the next step.

    Args:
        solid: solid mask ``(…spatial)``, axis order (z, y, x) or (y, x).
        body: boolean mask of the body to integrate the force on, same shape, ⊂ solid.
        velocities: lattice velocities ``(cx, cy[, cz])``.

    Returns:
        Float mask ``(Q, …spatial)``.
    """
    if body.shape != solid.shape:
        raise ConfigError(
            f"body mask shape {tuple(body.shape)} differs from the lattice {tuple(solid.shape)}"
        )
    body = body.to(solid.device, torch.bool) & solid
    fluid = ~solid
    ndim = solid.ndim
    dims = tuple(range(-1, -ndim - 1, -1))  # x is the last axis, then y, then z
    links = [body & torch.roll(fluid, shifts=tuple(ci[:ndim]), dims=dims) for ci in velocities]
    return torch.stack(links)


def momentum_exchange(f: Tensor, links: Tensor, c: Tensor) -> Tensor:
    """Force on a body by momentum exchange: F = 2 Σ_links c_i f_i.

    Args:
        f: post-streaming populations ``(Q, …spatial)``.
        links: float link mask from :func:`incoming_links`, ``(Q, …spatial)``.
        c: lattice velocities ``(Q, dim)``.

    Returns:
        Force components ``(dim,)`` along (x, y[, z]) in lattice units.
    """
    g = (f * links).flatten(1).sum(1)  # (Q,) momentum carried into the body per direction
    return 2.0 * (g[:, None] * c).sum(0)


def check_fields(
    f: Tensor,
    speed: Tensor,
    *,
    step: int,
    limit: float = MAX_LATTICE_SPEED,
    where: str = "lattice",
) -> float:
    """Raise :class:`ValidationError` on NaN/Inf populations or a lattice speed ≥ ``limit``.

    Args:
        f: populations.
        speed: lattice speed |u| on fluid nodes (any shape).
        step: current time step (for the message).
        limit: largest allowed lattice speed.
        where: name of the run, for the message.

    Returns:
        The maximum lattice speed.
    """
    n_bad = int((~torch.isfinite(f)).sum())
    if n_bad:
        raise ValidationError(
            f"{where}: {n_bad} NaN/Inf populations at step {step}: the run diverged "
            f"(lower the lattice velocity or raise tau)"
        )
    u_max = float(speed.max()) if speed.numel() else 0.0
    if not u_max < limit:
        raise ValidationError(
            f"{where}: max lattice speed {u_max:.4f} ≥ limit {limit} at step {step} "
            f"(Mach {u_max * np.sqrt(3):.3f}); lower the lattice velocity"
        )
    return u_max
