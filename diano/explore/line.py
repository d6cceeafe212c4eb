"""The geometric scenario (2D → 1D): DIANO's latent line along the channel axis, marched by
a 1D advection–diffusion solver with settings a person picks.

The 2D field is encoded to a line ``z (1, Lc, M_x)`` (the encoder's features averaged over
the channel height, weighted by the fluid mask), marched with a fresh
:class:`~diano.solvers.AdvectionDiffusion1d` (the model's own solver is never changed) and
lifted back to the plane by the decoder. As in :mod:`diano.explore.playground`, the solver
is built with ``n_substeps="auto"`` so construction never raises; :func:`line_stability`
reports whether the requested sub-steps are stable before a march.

A line whose model keeps standing channels (``pde.standing``: a profile the march leaves
alone plus a travelling part) is marched on its travelling channels only, and read as the
sum of its channels (:func:`line_value`); :func:`centreline_line` gives the physical line it
was trained to read as, the centreline velocity of the vorticity, on the same points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.explore.playground import march, stability
from diano.explore.predict import to_numpy, to_tensor
from diano.metrics import centreline_velocity
from diano.solvers import AdvectionDiffusion1d, StabilityReport


@dataclass(frozen=True)
class LineSettings:
    """Settings of a 1D latent march.

    Attributes:
        nu: diffusivity ν (latent units).
        velocity: advection speed c along the line (latent units).
        dt: latent step per snapshot interval.
        n_substeps: RK4 sub-steps per step, or ``"auto"``.
        scheme: ``"central2"``, ``"central4"`` or ``"oucs2"``.
        boundary: ``"periodic"``, ``"free"`` or ``"upwind"``.
    """

    nu: float
    velocity: float
    dt: float
    n_substeps: int | str = "auto"
    scheme: str = "central2"
    boundary: str = "periodic"


def line_model(model: nn.Module) -> tuple[int, float]:
    """Points ``M_x`` of the latent line and the solver's length.

    Raises:
        ConfigError: the model is not a geometric DIANO (no 1D latent line).
    """
    config = getattr(model, "config", None)
    if getattr(model, "name", "") != "diano" or getattr(config, "scenario", "") != "geometric":
        raise ConfigError(
            f"the latent line is DIANO's (scenario 'geometric'); model "
            f"{getattr(model, 'name', '?')!r} in scenario {getattr(config, 'scenario', '?')!r} "
            "has none"
        )
    box = config.pde.box
    return int(config.latent_shape[0]), float(box[0]) if box is not None else 1.0


def line_settings_from_model(model: nn.Module) -> LineSettings:
    """The settings the model was trained with (learned ν and velocity included)."""
    line_model(model)
    pde = model.config.pde
    nu, velocity = float(pde.nu), float(pde.velocity[0])
    solver = getattr(model, "solver", None)
    if solver is not None:
        nu = float(solver.nu.detach().mean())
        velocity = float(solver.velocity.detach().mean())
    return LineSettings(
        nu=nu,
        velocity=velocity,
        dt=float(pde.dt),
        n_substeps=pde.n_substeps,
        scheme=str(pde.scheme),
        boundary=str(pde.boundary[0]),
    )


def build_line_solver(settings: LineSettings, length: int, extent: float) -> AdvectionDiffusion1d:
    """A fresh 1D solver for ``settings`` (never raises for instability)."""
    return AdvectionDiffusion1d(
        int(length),
        float(extent),
        nu=settings.nu,
        velocity=settings.velocity,
        dt=settings.dt,
        n_substeps="auto",
        scheme=settings.scheme,
        boundary=settings.boundary,
    )


def line_stability(solver: AdvectionDiffusion1d, settings: LineSettings) -> StabilityReport:
    """The stability report for the requested sub-steps (``"auto"``: as many as needed)."""
    return stability(solver, settings)


def standing_channels(model: nn.Module) -> int:
    """Leading channels of the model's line that the march leaves alone (0: none)."""
    return int(getattr(model, "standing", 0) or 0)


def march_line(
    solver: AdvectionDiffusion1d,
    z: Tensor,
    n_steps: int,
    settings: LineSettings,
    standing: int = 0,
) -> list[Tensor]:
    """March the line ``z (B, Lc, M_x)`` ``n_steps`` steps; returns the new states
    (:func:`diano.explore.playground.march` on the line). The first ``standing`` channels
    are kept as they are and the solver advances the others, as the model's own step does.

    Raises:
        UnstableSolverError: unstable settings, or the line became non-finite.
    """
    if not 0 <= standing < z.shape[1]:
        raise ConfigError(f"standing channels {standing} of a line of {z.shape[1]} channels")
    if standing == 0:
        return march(solver, z, n_steps, settings, what="latent line")
    kept = z[:, :standing]
    moved = march(solver, z[:, standing:], n_steps, settings, what="latent line")
    return [torch.cat([kept, m], dim=1) for m in moved]


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _mask_tensor(mask: np.ndarray | None, like: Tensor) -> Tensor | None:
    if mask is None:
        return None
    return torch.as_tensor(np.asarray(mask) > 0, device=like.device)[None, None].to(like.dtype)


@torch.no_grad()
def encode_line(model: nn.Module, field: np.ndarray, mask: np.ndarray | None = None) -> Tensor:
    """``field (C, H, W)`` → latent line ``(1, Lc, M_x)`` on the CPU (mask-weighted height
    average; the model may sit on any device)."""
    line_model(model)
    u = to_tensor(field)[None].to(_device(model))
    return model.encode(u, _mask_tensor(mask, u)).cpu()


@torch.no_grad()
def decode_line(
    model: nn.Module, z: Tensor, shape: tuple[int, int], mask: np.ndarray | None = None
) -> np.ndarray:
    """Latent line ``(1, Lc, M_x)`` → field ``(C, H, W)``, 0 in solid cells."""
    u = model.decode(z.to(_device(model)), output_shape=tuple(shape))[0]
    if mask is not None:
        u = u * torch.as_tensor(np.asarray(mask) > 0, dtype=u.dtype, device=u.device)
    return to_numpy(u)


def line_coordinates(x: np.ndarray, length: int) -> np.ndarray:
    """Physical x of the line's points: point ``j`` averages the columns ``j·f … (j+1)·f-1``."""
    x = np.asarray(x, np.float64)
    if len(x) % int(length):
        raise ConfigError(f"{len(x)} columns do not divide into a line of {length} points")
    return x.reshape(int(length), -1).mean(axis=1)


def pooled_line(field: np.ndarray, mask: np.ndarray | None, length: int) -> np.ndarray:
    """The field's fluid average over the height, pooled to the line's points: ``(C, M_x)``
    (what the latent line would be if it were the height-averaged field)."""
    f = np.asarray(field, np.float64)
    fluid = np.ones(f.shape[-2:]) if mask is None else (np.asarray(mask) > 0).astype(np.float64)
    num = (f * fluid).sum(axis=-2)
    den = np.maximum(fluid.sum(axis=-2), 1.0)
    column = num / den  # (C, W)
    return column.reshape(f.shape[0], int(length), -1).mean(axis=-1).astype(np.float32)


def line_array(z: Tensor) -> np.ndarray:
    """A latent line ``(1, Lc, M_x)`` as ``(Lc, M_x)`` float32."""
    return to_numpy(z[0])


def line_value(z: Tensor) -> np.ndarray:
    """The line a person reads, ``(M_x,)``: the sum of its channels (a standing profile plus
    a travelling part; the one channel of a plain line)."""
    return line_array(z).sum(axis=0)


def centreline_line(
    vorticity: np.ndarray, mask: np.ndarray | None, y: np.ndarray, length: int
) -> np.ndarray:
    """The centreline velocity read from an ``(H, W)`` vorticity field
    (:func:`diano.metrics.centreline_velocity`), pooled to the line's ``length`` points."""
    w = torch.as_tensor(np.asarray(vorticity, np.float64))
    fluid = None if mask is None else torch.as_tensor(np.asarray(mask) > 0)
    column = centreline_velocity(w, fluid, y).numpy()  # (W,)
    if column.size % int(length):
        raise ConfigError(f"{column.size} columns do not divide into a line of {length} points")
    return column.reshape(int(length), -1).mean(axis=1).astype(np.float32)


def fitted_to(line: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float]:
    """``reference`` mapped onto the line's scale by a least-squares ``a·reference + b``,
    and the Pearson correlation of the two (0 where either is constant): a physical line
    drawn on the latent's axis without pretending the units agree."""
    r = np.asarray(reference, np.float64)
    z = np.asarray(line, np.float64)
    dr, dz = r - r.mean(), z - z.mean()
    var_r, var_z = float((dr * dr).sum()), float((dz * dz).sum())
    if var_r <= 0 or var_z <= 0:
        return np.full_like(z, z.mean(), dtype=np.float32), 0.0
    a = float((dr * dz).sum()) / var_r
    corr = float((dr * dz).sum()) / np.sqrt(var_r * var_z)
    return (a * dr + z.mean()).astype(np.float32), corr
