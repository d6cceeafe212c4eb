"""Synthetic stenosis and vessel cases for tests, fixtures and timings (kinematics, not flows).

Both return ``{"fields", "channels", "mask", "coords", "attrs"}`` ready for
:func:`diano.data.write_case`, on the benchmarks' windows and in their units:

* :func:`stenosis_channel`: a 2D channel (``y ∈ [-½, ½]``, ``x ∈ [-1, 3]`` in H, throat at
  ``x = 0``) narrowed by a cosine stenosis; a pulsatile Poiseuille-like jet and vortex
  blobs shed at the throat that travel downstream, channels vorticity, u, v, p;
* :func:`vessel_tube`: a 3D tube of diameter 1 along x in an ``n³`` box, with a sinusoidal
  centreline and a cosine stenosis; Poiseuille velocity along the tube scaled by the
  local area, a pressure falling along it (viscous loss plus the throat's Bernoulli dip),
  channels u, v, w, p, one steady snapshot as ``coronary3d`` stores.
"""

from __future__ import annotations

import numpy as np


def _stenosis_radius(x: np.ndarray, severity: float, length: float) -> np.ndarray:
    """Half-height (2D) or radius (3D) factor: 1 minus a cosine bump of ``severity``."""
    xi = x / length
    return 1.0 - severity * 0.5 * (1.0 + np.cos(2.0 * np.pi * xi)) * (np.abs(xi) <= 0.5)


def stenosis_channel(
    n_y: int = 64, n_x: int = 256, n_times: int = 20, severity: float = 0.45, re: float = 110.0
) -> dict:
    """A pulsatile jet through a symmetric 2D stenosis (see the module docstring)."""
    y = -0.5 + (np.arange(n_y) + 0.5) / n_y
    x = -1.0 + 4.0 * (np.arange(n_x) + 0.5) / n_x
    yy, xx = np.meshgrid(y, x, indexing="ij")
    half = 0.5 * _stenosis_radius(xx, severity, 1.0)
    mask = (np.abs(yy) < half).astype(np.uint8)
    t = np.arange(n_times) / n_times  # one cardiac period
    fields = np.zeros((n_times, 4, n_y, n_x), np.float32)
    for k, tk in enumerate(t):
        pulse = 1.0 + 0.5 * np.sin(2.0 * np.pi * tk)
        u = 1.5 * pulse * (0.5 / half) * (1.0 - (yy / half) ** 2)
        # shear-layer vortices leaving the throat at the jet speed, one per half period
        w = -3.0 * pulse * yy / half**2
        for j in range(3):
            xc = (0.8 * pulse * ((tk + 0.5 * j) % 1.5)) + 0.2
            for sign in (1.0, -1.0):
                yc = 0.3 * sign * (1.0 - severity)
                w += -sign * 6.0 * np.exp(-((xx - xc) ** 2 + (yy - yc) ** 2) / 0.02)
        p = -2.0 * pulse * (xx + 1.0) - 0.5 * u**2
        fields[k] = np.stack([w, u, 0.1 * np.gradient(u, axis=1), p]) * mask
    return {
        "fields": fields,
        "channels": ("vorticity", "u", "v", "p"),
        "mask": mask,
        "coords": {"t": (t, "cardiac period"), "x": (x, "H"), "y": (y, "H")},
        "attrs": {
            "benchmark": "stenosis2d",
            "Re": float(re),
            "severity": float(severity),
            "split": "heldout",
            "source": "synthetic stenosed channel (diano.explore.synthetic.stenosis_channel)",
        },
    }


def vessel_tube(
    n: int = 64, severity: float = 0.5, re: float = 60.0, bend: float = 0.6, seed: int = 0
) -> dict:
    """A curved, stenosed tube with a steady Poiseuille-like flow (see the module docstring).

    Lengths are in tube diameters: the box is ``n / 14`` diameters on a side (the
    ``coronary3d`` lumen spans 14 nodes), x runs from the inlet plane, y and z from the
    box centre. ``bend`` is the centreline amplitude in diameters; ``seed`` its phase.
    """
    d = 14.0 * n / 64.0  # lumen diameter in nodes
    x = (np.arange(n) + 0.5) / d
    yz = (np.arange(n) + 0.5 - n / 2) / d
    length = n / d
    phase = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    s = x / length
    ramp = bend * np.sin(np.pi * s) ** 2
    cy, cz = ramp * np.cos(phase + 2 * np.pi * s), ramp * np.sin(phase + 2 * np.pi * s)
    radius = 0.5 * _stenosis_radius(x - 0.5 * length, severity, 1.5)
    zz, yy = np.meshgrid(yz, yz, indexing="ij")  # (z, y) plane
    r2 = (yy[..., None] - cy) ** 2 + (zz[..., None] - cz) ** 2  # (z, y, x)
    mask = (r2 < radius**2).astype(np.uint8)
    area = (radius / 0.5) ** 2
    u = 2.0 / area * (1.0 - r2 / radius**2) * mask
    slope_y, slope_z = np.gradient(cy, x), np.gradient(cz, x)
    v, w = u * slope_y, u * slope_z
    # viscous loss ~ 32 / (Re A²) per diameter, plus the Bernoulli dip at the throat
    loss = np.cumsum(32.0 / (re * area**2)) * (x[1] - x[0])
    p = (loss[-1] - loss) - 0.5 * (2.0 / area) ** 2 + 0.5
    p = np.broadcast_to(p, mask.shape) * mask
    fields = np.stack([u, v, w, p]).astype(np.float32)[None]
    return {
        "fields": fields,
        "channels": ("u", "v", "w", "p"),
        "mask": mask,
        "coords": {
            "t": (np.zeros(1), "steady"),
            "x": (x, "D_inlet"),
            "y": (yz, "D_inlet"),
            "z": (yz, "D_inlet"),
        },
        "attrs": {
            "benchmark": "coronary3d",
            "Re": float(re),
            "severity": float(severity),
            "split": "heldout",
            "source": "synthetic stenosed tube (diano.explore.synthetic.vessel_tube)",
        },
    }
