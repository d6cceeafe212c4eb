"""Many-to-one in 3D: pressure from velocity in a masked vessel, with DIANO's latent pressure.

:func:`map_pressure` runs one model on a case's ``(u, v, w)``. For DIANO it goes through the
pipeline step by step so the app can show the inside: the latent velocities on the ``M³``
lattice, the latent fluid mask, the latent pressure from the
:class:`~diano.solvers.PressurePoisson3d` solve (with its iterations and residual) and the
decoded pressure. Baselines map velocities to pressure in one call (no latent physics).
Every output is zero in solid cells, as the data are.

:func:`downsample` and :func:`downsample_mask` box-average fields for display at a coarser
resolution; :func:`lattice_centres` gives the physical position of latent nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from diano.errors import ConfigError, DataError
from diano.explore.predict import to_numpy, to_tensor

VELOCITY = ("u", "v", "w")


@dataclass(frozen=True)
class VesselPrediction:
    """One model's pressure for a vessel, and DIANO's latent view of it.

    Attributes:
        pressure: ``(D, H, W)`` decoded pressure, 0 in solid cells.
        latent_pressure: ``(M, M, M)`` latent pressure from the Poisson solve (DIANO only).
        latent_velocity: ``(3, M, M, M)`` latent (u, v, w) (DIANO only).
        latent_mask: ``(M, M, M)`` bool, latent fluid nodes (DIANO only).
        solve: a short account of the latent solve (method, iterations, residual).
    """

    pressure: np.ndarray
    latent_pressure: np.ndarray | None = None
    latent_velocity: np.ndarray | None = None
    latent_mask: np.ndarray | None = None
    solve: str | None = None


def velocity_channels(fields: np.ndarray, channels: Sequence[str]) -> np.ndarray:
    """The ``(3, D, H, W)`` velocity of a steady 3D case's ``(T, C, D, H, W)`` fields."""
    missing = [c for c in VELOCITY if c not in channels]
    if missing or np.ndim(fields) != 5:
        raise DataError(
            f"a 3D velocity case needs (T, C, D, H, W) fields with channels {list(VELOCITY)}; "
            f"got shape {np.shape(fields)} and channels {list(channels)}"
        )
    return np.stack([np.asarray(fields[0, list(channels).index(c)]) for c in VELOCITY])


@torch.no_grad()
def map_pressure(model: nn.Module, velocity: np.ndarray, mask: np.ndarray) -> VesselPrediction:
    """Pressure from ``velocity (3, D, H, W)`` in the fluid ``mask (D, H, W)`` (1 = fluid).

    Raises:
        ConfigError: the model has no many-to-one map.
    """
    if getattr(model, "scenario", None) != "many_to_one":
        raise ConfigError(
            f"model {getattr(model, 'name', '?')!r} was trained for scenario "
            f"{getattr(model, 'scenario', '?')!r}; the 3D view needs a many_to_one checkpoint"
        )
    p0 = next(model.parameters(), None)
    device = p0.device if p0 is not None else torch.device("cpu")
    u = to_tensor(velocity)[None].to(device)  # (1, 3, D, H, W)
    m = torch.as_tensor(np.asarray(mask) > 0, device=device)[None, None].float()
    shape = tuple(u.shape[2:])
    if getattr(model, "name", "") != "diano":
        return VesselPrediction(to_numpy(model.map(u)[0, 0] * m[0, 0]))
    z, latent_mask, p_latent = model.map_latents(u, m)  # (1, 3, M, M, M) masked velocities
    pressure = model.decode(p_latent, shape, m)
    info = getattr(model.solver, "last_info", None)
    solve = None
    if info is not None:
        solve = (
            f"{info.method}: {info.iterations} iterations, relative residual "
            f"{info.residual:.1e}" + ("" if info.converged else " (not converged)")
        )
    return VesselPrediction(
        pressure=to_numpy(pressure[0, 0]),
        latent_pressure=to_numpy(p_latent[0, 0]),
        latent_velocity=to_numpy(z[0]),
        latent_mask=to_numpy(latent_mask[0, 0]) > 0.5,
        solve=solve,
    )


def rel_l2(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Relative L2 error over the fluid cells."""
    fluid = np.asarray(mask) > 0
    diff = np.asarray(pred, np.float64)[fluid] - np.asarray(truth, np.float64)[fluid]
    norm = np.linalg.norm(np.asarray(truth, np.float64)[fluid])
    return float(np.linalg.norm(diff) / norm) if norm > 0 else float("nan")


def display_sizes(n: int, smallest: int = 16) -> list[int]:
    """Resolutions a field of ``n`` points per axis can be shown at: ``n, n/2, …``."""
    sizes = [n]
    while sizes[-1] % 2 == 0 and sizes[-1] // 2 >= smallest:
        sizes.append(sizes[-1] // 2)
    return sizes


def _blocks(a: np.ndarray, factor: int) -> np.ndarray:
    """``(..., D, H, W)`` → ``(..., D/f, f, H/f, f, W/f, f)``."""
    *lead, d, h, w = a.shape
    if d % factor or h % factor or w % factor:
        raise ConfigError(f"shape {(d, h, w)} is not divisible by the display factor {factor}")
    return a.reshape(*lead, d // factor, factor, h // factor, factor, w // factor, factor)


def downsample_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """Fluid mask on a grid ``factor`` times coarser: blocks at least half fluid."""
    if factor == 1:
        return np.asarray(mask) > 0
    frac = _blocks((np.asarray(mask) > 0).astype(np.float32), factor).mean(axis=(-5, -3, -1))
    return frac >= 0.5


def downsample(field: np.ndarray, mask: np.ndarray, factor: int) -> np.ndarray:
    """Box-average ``field (..., D, H, W)`` over the fluid cells of each ``factor³`` block
    (solid blocks of the coarse mask are 0)."""
    field = np.asarray(field, np.float32)
    if factor == 1:
        return field
    fluid = (np.asarray(mask) > 0).astype(np.float32)
    axes = (-5, -3, -1)
    total = _blocks(field * fluid, factor).sum(axis=axes)
    count = _blocks(fluid, factor).sum(axis=axes)
    out = np.where(count > 0, total / np.maximum(count, 1.0), 0.0)
    return (out * downsample_mask(mask, factor)).astype(np.float32)


def downsample_coords(coords: np.ndarray, factor: int) -> np.ndarray:
    """Cell-centre coordinates of one axis after :func:`downsample`."""
    c = np.asarray(coords, np.float64)
    return c.reshape(-1, factor).mean(axis=1) if factor > 1 else c


def fullest_planes(mask: np.ndarray) -> tuple[int, int, int]:
    """Indices ``(i_x, i_y, i_z)`` of the planes normal to x, y and z holding the most fluid
    cells of ``mask (D, H, W)`` (where slices show the most of a vessel)."""
    fluid = np.asarray(mask) > 0
    return (
        int(fluid.sum(axis=(0, 1)).argmax()),
        int(fluid.sum(axis=(0, 2)).argmax()),
        int(fluid.sum(axis=(1, 2)).argmax()),
    )


def lattice_centres(coords: Sequence[np.ndarray], latent_shape: Sequence[int]) -> list[np.ndarray]:
    """Physical centres of the latent nodes per axis (z, y, x): the latent node ``i``
    box-averages the full cells ``i·f … (i+1)·f - 1``."""
    out = []
    for c, m in zip(coords, latent_shape, strict=True):
        c = np.asarray(c, np.float64)
        if len(c) % int(m):
            raise ConfigError(f"an axis of {len(c)} points does not divide into {m} latent nodes")
        out.append(c.reshape(int(m), -1).mean(axis=1))
    return out
