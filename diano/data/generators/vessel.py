"""Random synthetic coronary-like vessels: curved centreline, cosine stenosis, voxel mask.

A centreline runs along x with lateral offsets (y, z) that are either planar (a clamped
spline through 2–3 alternating bends in a random plane) or helical (a helix whose radius
ramps in and out with sin²), so that it is tangent to x at both ends and the inlet and
outlet are plane faces. The lumen radius is constant except for a cosine stenosis that
closes 30–70 % of the diameter, optionally eccentric (the lumen centre moves towards one
side so that the narrowing comes mostly from the opposite wall).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from diano.data.generators.geometry import Vessel, smooth_path, voxelise_vessel
from diano.errors import ConfigError


@dataclass(frozen=True)
class VesselGeometry:
    """Parameters of one vessel (lengths in lattice nodes).

    Attributes:
        kind: ``"planar"`` or ``"helical"`` centreline.
        n_bends: bends of a planar centreline (2 or 3); turns ×2 of a helix.
        amplitude: largest lateral offset of the centreline from the lattice axis.
        plane_angle: orientation of the bending plane (planar) or start phase (helical), rad.
        radius: lumen radius away from the stenosis.
        severity: diameter reduction at the throat (0.3–0.7).
        stenosis_x: centre of the stenosis along x.
        stenosis_length: length of the cosine stenosis.
        eccentricity: 0 = concentric; up to 1 = the lumen centre moves by the full
            radius loss, so one wall stays straight.
        eccentric_angle: direction (in the y–z plane) of the eccentric shift, rad.
        offsets: random offsets of the bends, as fractions of ``amplitude``.
    """

    kind: str
    n_bends: int
    amplitude: float
    plane_angle: float
    radius: float
    severity: float
    stenosis_x: float
    stenosis_length: float
    eccentricity: float
    eccentric_angle: float
    offsets: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def random_geometry(
    rng: np.random.Generator,
    nx: int,
    width: int,
    radius: float,
    severity_range: tuple[float, float],
) -> VesselGeometry:
    """Draw a vessel that fits a ``(width, width, nx)`` lattice with a margin of 1.5 nodes."""
    amplitude_max = width / 2 - radius - 1.5
    if amplitude_max <= 0:
        raise ConfigError(f"a lumen of radius {radius} does not fit a lattice {width} nodes wide")
    kind = str(rng.choice(["planar", "helical"]))
    n_bends = int(rng.integers(2, 4))
    signs = np.where(np.arange(n_bends) % 2 == 0, 1.0, -1.0) * rng.choice([-1.0, 1.0])
    offsets = tuple(float(v) for v in signs * rng.uniform(0.5, 1.0, n_bends))
    return VesselGeometry(
        kind=kind,
        n_bends=n_bends,
        amplitude=float(rng.uniform(0.5, 1.0) * amplitude_max),
        plane_angle=float(rng.uniform(0, 2 * np.pi)),
        radius=float(radius),
        severity=float(rng.uniform(*severity_range)),
        stenosis_x=float(rng.uniform(0.4, 0.6) * nx),
        stenosis_length=float(rng.uniform(2.0, 3.0) * radius),
        eccentricity=float(rng.uniform(0.0, 0.8) if rng.random() < 0.5 else 0.0),
        eccentric_angle=float(rng.uniform(0, 2 * np.pi)),
        offsets=offsets,
    )


def centreline(geo: VesselGeometry, x: np.ndarray, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Lateral offsets (dy, dz) of the centreline from the lattice axis at positions ``x``."""
    if geo.kind == "planar":
        control_x = np.linspace(0.0, nx, geo.n_bends + 2)
        control = np.concatenate([[0.0], np.asarray(geo.offsets) * geo.amplitude, [0.0]])
        off = smooth_path(x, control_x, control)
        return off * np.cos(geo.plane_angle), off * np.sin(geo.plane_angle)
    if geo.kind == "helical":
        s = x / nx
        ramp = geo.amplitude * np.sin(np.pi * s) ** 2  # zero value and slope at both ends
        phase = geo.plane_angle + np.pi * geo.n_bends * s
        return ramp * np.cos(phase), ramp * np.sin(phase)
    raise ConfigError(f"unknown centreline kind {geo.kind!r}; use 'planar' or 'helical'")


def lumen_radius(geo: VesselGeometry, x: np.ndarray) -> np.ndarray:
    """Radius along x: constant, minus the cosine stenosis (diameter loss ``severity``)."""
    xi = (x - geo.stenosis_x) / geo.stenosis_length
    bump = 0.5 * (1.0 + np.cos(2.0 * np.pi * xi)) * (np.abs(xi) <= 0.5)
    return geo.radius * (1.0 - geo.severity * bump)


def build_vessel(
    geo: VesselGeometry, shape: tuple[int, int, int], samples_per_node: int = 8
) -> Vessel:
    """Voxelise ``geo`` on a ``(nz, ny, nx)`` lattice whose axis runs through the y–z centre."""
    nz, ny, nx = shape
    x = np.linspace(0.0, nx, samples_per_node * nx + 1)
    dy, dz = centreline(geo, x, nx)
    r = lumen_radius(geo, x)
    # eccentric stenosis: move the centre towards one side by a share of the radius loss
    shift = geo.eccentricity * (geo.radius - r)
    dy = dy + shift * np.cos(geo.eccentric_angle)
    dz = dz + shift * np.sin(geo.eccentric_angle)
    return voxelise_vessel(shape, (ny / 2 + dy, nz / 2 + dz), r, samples_per_node)
