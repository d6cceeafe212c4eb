"""Editing in the field: Lamb–Oseen vortices, and a synthetic vortex street for tests and demos."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from diano.errors import ConfigError


# -- editing in the field: a Lamb–Oseen vortex -----------------------------------------
@dataclass(frozen=True)
class LambOseen:
    """A Lamb–Oseen vortex: ``ω = Γ / (π r_c²) · exp(-r² / r_c²)``.

    Its azimuthal velocity is ``u_θ = Γ / (2π r) · (1 - exp(-r² / r_c²))`` and its total
    circulation is ``Γ`` (positive: counter-clockwise).

    Attributes:
        x, y: centre (data length unit).
        core_radius: ``r_c`` (> 0).
        circulation: ``Γ`` (length² / time).
    """

    x: float
    y: float
    core_radius: float
    circulation: float

    def __post_init__(self) -> None:
        if self.core_radius <= 0:
            raise ConfigError(f"vortex core radius must be positive, got {self.core_radius}")

    def vorticity(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``ω`` on the grid of coordinates ``x (W,)``, ``y (H,)``: ``(H, W)``."""
        yy, xx = np.meshgrid(np.asarray(y, np.float64), np.asarray(x, np.float64), indexing="ij")
        r2 = (xx - self.x) ** 2 + (yy - self.y) ** 2
        rc2 = self.core_radius**2
        return self.circulation / (math.pi * rc2) * np.exp(-r2 / rc2)

    def velocity(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v)`` on the grid, each ``(H, W)``."""
        yy, xx = np.meshgrid(np.asarray(y, np.float64), np.asarray(x, np.float64), indexing="ij")
        dx, dy = xx - self.x, yy - self.y
        r2 = dx**2 + dy**2
        # u_θ / r, with its finite limit Γ / (2π r_c²) at the centre
        safe = np.where(r2 > 0, r2, 1.0)
        factor = np.where(
            r2 > 1e-12 * self.core_radius**2,
            self.circulation / (2 * math.pi * safe) * (1 - np.exp(-r2 / self.core_radius**2)),
            self.circulation / (2 * math.pi * self.core_radius**2),
        )
        return -factor * dy, factor * dx


def insert_vortex(
    field: np.ndarray,
    channels: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    vortex: LambOseen,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Add ``vortex`` to a field ``(C, H, W)``: to its ``vorticity``, ``u`` and ``v`` channels.

    Other channels (e.g. pressure) are left as they are; solid cells (``mask == 0``) are
    left unchanged.
    """
    names = list(channels)
    if not {"vorticity", "u", "v"} & set(names):
        raise ConfigError(
            f"a vortex changes vorticity or velocity, but the field's channels are {names}"
        )
    out = np.array(field, dtype=np.float32, copy=True)
    fluid = np.ones(out.shape[-2:]) if mask is None else (np.asarray(mask) > 0)
    added = {"vorticity": vortex.vorticity(x, y)}
    if "u" in names or "v" in names:
        added["u"], added["v"] = vortex.velocity(x, y)
    for name, value in added.items():
        if name in names:
            out[names.index(name)] += (value * fluid).astype(np.float32)
    return out


# -- a synthetic case ------------------------------------------------------------------
def vortex_street(
    n: int = 64,
    n_times: int = 60,
    re: float = 180.0,
    snapshot_dt: float = 0.05,
    speed: float = 0.85,
) -> dict:
    """A convecting street of Lamb–Oseen vortices behind a unit cylinder, for tests and demos.

    The window is the cylinder benchmark's (``x ∈ [-2, 6]``, ``y ∈ [-4, 4]`` in diameters,
    cylinder at the origin). Vortices of alternating sign sit at ``y = ±0.4``, spaced
    ``1 / St`` apart (``St`` from Williamson's fit at ``re``), and travel at ``speed`` U∞;
    their circulation grows downstream of the body over one diameter. It is kinematics,
    not a flow solution: it gives the app and its tests a field that moves like a wake.

    Returns:
        ``{"fields" (T, 3, n, n) float32, "channels" ("vorticity", "u", "v"), "mask" (n, n)
        uint8, "coords" {"t", "x", "y"}, "attrs" {...}}`` ready for
        :func:`diano.data.write_case`.
    """
    h = 8.0 / n
    x = -2.0 + h * (np.arange(n) + 0.5)
    y = -4.0 + h * (np.arange(n) + 0.5)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    mask = (xx**2 + yy**2 > 0.25).astype(np.uint8)
    strouhal = 0.1816 - 3.3265 / re + 1.6e-4 * re
    spacing = speed / strouhal * 0.5  # half a shedding period between opposite vortices
    t = snapshot_dt * np.arange(n_times)
    fields = np.zeros((n_times, 3, n, n), dtype=np.float32)
    for k, time_k in enumerate(t):
        offset = (speed * time_k) % (2 * spacing)
        for i in range(-2, int(8.0 / spacing) + 2):
            xc = 0.5 + offset + i * spacing
            if not -2.5 < xc < 6.5:
                continue
            sign = 1.0 if i % 2 == 0 else -1.0
            ramp = float(np.clip((xc - 0.5) / 1.0, 0.0, 1.0))
            vortex = LambOseen(xc, 0.4 * sign, 0.35, -2.2 * sign * ramp)
            fields[k, 0] += vortex.vorticity(x, y).astype(np.float32)
            u, v = vortex.velocity(x, y)
            fields[k, 1] += u.astype(np.float32)
            fields[k, 2] += v.astype(np.float32)
        fields[k, 1] += 1.0
    fields *= mask
    return {
        "fields": fields,
        "channels": ("vorticity", "u", "v"),
        "mask": mask,
        "coords": {"t": (t, "D/U"), "x": (x, "D"), "y": (y, "D")},
        "attrs": {
            "benchmark": "cylinder2d",
            "Re": float(re),
            "St": float(strouhal),
            "split": "test",
            "source": "synthetic Lamb-Oseen vortex street (diano.explore.vortex_street)",
        },
    }
