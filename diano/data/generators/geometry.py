"""Solid masks for the benchmarks: cylinder, cosine-stenosed channel, curved stenosed vessel.

Every mask is a boolean array on lattice nodes, True = solid, axis order (y, x) or
(z, y, x); node ``i`` sits at coordinate ``i + ½`` (cell-centred), so a full-way
bounce-back wall lies half-way between the last fluid and the first solid node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from diano.errors import ConfigError


def cylinder_mask(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    """Solid disc of ``radius`` (lattice units) around ``centre = (x, y)`` on a ``(ny, nx)``
    lattice.

    Pass ``D/2 − ½`` as the radius: full-way bounce-back puts the effective wall about half a
    node outside the solid nodes; with the shrink the Schäfer–Turek drag peak at D = 20 moved
    from 3.57 to 3.11 (reference 3.22–3.24, ``docs/data.md``).
    """
    ny, nx = shape
    y = np.arange(ny)[:, None] + 0.5
    x = np.arange(nx)[None, :] + 0.5
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2


def cosine_stenosis_offset(
    x: np.ndarray, severity: float, height: float, centre: float, length: float
) -> np.ndarray:
    """Wall offset b(x) = s·(H/2)·½[1 + cos(2π(x − x_s)/L_s)] for |x − x_s| ≤ L_s/2, else 0.

    Both walls move in by b, so the throat height is (1 − s)·H (``reference/data.md`` §4.2).
    """
    xi = (np.asarray(x, dtype=np.float64) - centre) / length
    bump = severity * 0.5 * height * 0.5 * (1.0 + np.cos(2.0 * np.pi * xi))
    return np.where(np.abs(xi) <= 0.5, bump, 0.0)


def stenosed_channel_mask(
    nx: int, height: int, severity: float, centre: float, length: float
) -> np.ndarray:
    """Symmetric cosine-stenosed channel on a ``(height + 2, nx)`` lattice.

    Rows 0 and ``height + 1`` are the flat walls (the wall surfaces lie at y = 0 and y = H
    with fluid rows 1…H at y = j − ½); the stenosis offsets both walls by
    :func:`cosine_stenosis_offset`. ``centre`` and ``length`` in lattice units.
    """
    if not 0.0 <= severity < 1.0:
        raise ConfigError(f"stenosis severity {severity} must be in [0, 1)")
    x = np.arange(nx) + 0.5
    y = np.arange(height + 2)[:, None] - 0.5
    b = cosine_stenosis_offset(x, severity, height, centre, length)[None, :]
    solid = (y < b) | (y > height - b)
    solid[0] = True
    solid[-1] = True
    return solid


@dataclass(frozen=True)
class Vessel:
    """A voxelised vessel: centreline, local radius and the solid mask.

    Attributes:
        solid: boolean mask ``(nz, ny, nx)``, True outside the lumen.
        centreline: dense centreline points ``(n, 3)`` as (x, y, z) in lattice units.
        radius: lumen radius at each centreline point ``(n,)``.
    """

    solid: np.ndarray
    centreline: np.ndarray
    radius: np.ndarray


def smooth_path(x: np.ndarray, control_x: np.ndarray, control_offset: np.ndarray) -> np.ndarray:
    """Interpolate lateral offsets through control points with zero slope at both ends.

    A clamped cubic spline with zero end derivatives keeps the centreline tangent to x at the
    inlet and the outlet, so both are plane faces normal to x.
    """
    from scipy.interpolate import CubicSpline

    spline = CubicSpline(control_x, control_offset, bc_type=((1, 0.0), (1, 0.0)))
    return spline(x)


def voxelise_vessel(
    shape: tuple[int, int, int],
    centre_yz: tuple[np.ndarray, np.ndarray],
    radius: np.ndarray,
    samples_per_node: int = 8,
) -> Vessel:
    """Voxelise a tube of varying radius around a centreline parametrised by x.

    A node belongs to the lumen when its distance to the nearest point of a densely sampled
    centreline is below the radius there (``scipy.spatial.cKDTree``). The dense sampling
    (``samples_per_node`` points per lattice spacing along x) keeps the distance error well
    below a node.

    Args:
        shape: lattice ``(nz, ny, nx)``.
        centre_yz: callables' values: centreline y(x) and z(x) sampled at the dense x points
            ``np.linspace(0, nx, samples_per_node·nx + 1)`` (lattice units).
        radius: lumen radius at the same dense points.
        samples_per_node: density of the centreline sampling.
    """
    nz, ny, nx = shape
    xs = np.linspace(0.0, nx, samples_per_node * nx + 1)
    cy, cz = (np.asarray(a, dtype=np.float64) for a in centre_yz)
    radius = np.asarray(radius, dtype=np.float64)
    if not (cy.shape == cz.shape == radius.shape == xs.shape):
        raise ConfigError(
            f"centreline arrays must have {xs.size} points (x sampled {samples_per_node}× per "
            f"node), got {cy.shape}, {cz.shape}, {radius.shape}"
        )
    line = np.stack([xs, cy, cz], axis=1)  # (n, 3) points as (x, y, z)
    tree = cKDTree(line)
    z, y, x = np.meshgrid(
        np.arange(nz) + 0.5, np.arange(ny) + 0.5, np.arange(nx) + 0.5, indexing="ij"
    )
    nodes = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)  # (nz·ny·nx, 3)
    dist, idx = tree.query(nodes, k=1)
    lumen = (dist < radius[idx]).reshape(shape)
    return Vessel(solid=~lumen, centreline=line, radius=radius)
