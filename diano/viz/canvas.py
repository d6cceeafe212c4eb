"""Compact specs for the canvas field view, the latent editor's fast figure.

A plotly figure costs the browser 150–250 ms to redraw on two cores, more than the whole
latency budget of a latent edit. The canvas view (``diano/ui/frontend/fieldcanvas``) draws
the same rows of heatmaps, and the latent as a grid of selectable cells, on an HTML canvas
in a few milliseconds. This module builds what it draws, as plain JSON: every array is
quantised to 16 bits over its own finite range and sent base64-encoded (2 bytes a value,
65535 marks a missing value such as a solid cell), so a 3 × 64² row is about 33 kB.

:func:`panels_spec` is the counterpart of :func:`diano.viz.fields.panel_figure` (same
panels, shared colour limits per group, same colour scales); :func:`grid_spec` lays out the
latent as a grid of selectable cells, with the editor's action buttons above it (a click on
one is a component value, so an edit reruns the view and nothing else). Both take caption
lines (``notes``) shown under the canvas. :func:`views_spec` puts several specs side by side
in one component: a rerun then sends one element, which the browser applies much faster
than several. :func:`decode_array` reverses the encoding.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from diano.latent_edit import LatentGrid
from diano.viz.fields import SCALES, Panel, check_panels, group_limits
from diano.viz.latent import region_outline
from diano.viz.style import LATENT_SCALE, compact, compact_coords, symmetric_limits

MISSING = 65535
LEVELS = 65534  # codes 0 … 65534 carry values


@dataclass(frozen=True)
class Button:
    """An action button of the grid view; a click returns ``action = id``."""

    id: str
    label: str
    enabled: bool = True
    primary: bool = False

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "enabled": bool(self.enabled),
            "primary": bool(self.primary),
        }


def encode_array(values: np.ndarray) -> dict:
    """A 2D array as ``{"shape", "lo", "hi", "b64"}``: 16-bit codes over ``[lo, hi]``.

    Non-finite values get the code :data:`MISSING`. The rounding error is at most
    ``(hi - lo) / 131068`` of the array's own range.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected a 2D array, got shape {values.shape}")
    finite = np.isfinite(values)
    lo = float(values[finite].min()) if finite.any() else 0.0
    hi = float(values[finite].max()) if finite.any() else 0.0
    span = hi - lo if hi > lo else 1.0
    codes = np.full(values.shape, MISSING, dtype="<u2")
    codes[finite] = np.rint((values[finite] - lo) / span * LEVELS).astype("<u2")
    return {
        "shape": list(values.shape),
        "lo": lo,
        "hi": hi,
        "b64": base64.b64encode(codes.tobytes()).decode("ascii"),
    }


def decode_array(encoded: Mapping) -> np.ndarray:
    """The array of :func:`encode_array` back as float32 (NaN where missing)."""
    codes = np.frombuffer(base64.b64decode(encoded["b64"]), dtype="<u2")
    codes = codes.reshape(encoded["shape"])
    lo, hi = float(encoded["lo"]), float(encoded["hi"])
    span = hi - lo if hi > lo else 1.0
    out = (lo + codes.astype(np.float64) / LEVELS * span).astype(np.float32)
    out[codes == MISSING] = np.nan
    return out


def _extent(centres: np.ndarray) -> list[float]:
    """Outer edges ``[first, last]`` of uniformly spaced cell centres."""
    c = np.asarray(centres, dtype=np.float64)
    half = 0.5 * (c[1] - c[0]) if c.size > 1 else 0.5
    return [float(c[0] - half), float(c[-1] + half)]


def _stops(scale: Sequence) -> list[list]:
    return [[float(p), str(c)] for p, c in scale]


def panels_spec(
    panels: Sequence[Panel],
    *,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    max_size: int | None = 128,
    height: int = 380,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> dict:
    """A row of heatmaps for the canvas view; panels of one ``scale`` share colour limits.

    Args:
        panels: the heatmaps, left to right (``data`` ``(H, W)`` on uniform cell centres).
        units: colour-bar title per group, e.g. ``{"field": "ω / (U∞/D)"}``.
        length_unit: unit of the coordinates, for the axis titles.
        max_size: fields larger than this are box-averaged for display.
        height: the most pixels the view may take.
        title: title above the row.
        notes: caption lines under the row.
    """
    check_panels(panels)
    units = units or {}
    groups = {}
    for p in panels:
        if p.scale not in groups:
            vmin, vmax = group_limits(panels, p.scale)
            groups[p.scale] = {
                "vmin": vmin,
                "vmax": vmax,
                "stops": _stops(SCALES[p.scale][0]),
                "label": units.get(p.scale, p.scale),
            }
    items = []
    for p in panels:
        if p.data.ndim != 2:
            raise ValueError(
                f"panel {p.title!r}: the canvas view draws 2D data, got {p.data.shape}"
            )
        x = compact_coords(p.x, len(p.x), max_size)
        y = compact_coords(p.y, len(p.y), max_size)
        items.append(
            {
                "title": p.title,
                "group": p.scale,
                "x": _extent(x),
                "y": _extent(y),
                "data": encode_array(compact(p.data, max_size)),
            }
        )
    return {
        "kind": "panels",
        "title": title or "",
        "height": int(height),
        "length_unit": length_unit,
        "groups": groups,
        "panels": items,
        "notes": [str(n) for n in notes],
    }


def grid_spec(
    latent: np.ndarray,
    grid: LatentGrid,
    *,
    limits: Sequence[float] | None = None,
    selected: Sequence[tuple[int, int]] = (),
    region: np.ndarray | None = None,
    markers: Mapping[str, tuple[float, float]] | None = None,
    length_unit: str = "D",
    title: str | None = None,
    height: int = 420,
    buttons: Sequence[Button] = (),
    notes: Sequence[str] = (),
) -> dict:
    """The latent ``(M_y, M_x)`` as a grid of selectable cells on physical coordinates.

    Clicking a cell selects it, dragging a box selects the cells whose centres it holds
    (with shift: added to the selection); a click on a button sends the selection with the
    button's id. The view returns ``{"cells": [[row, col], …], "event": n, "action": a}``
    with ``a`` ``"select"`` or a button's id, and ``n`` counting the user's actions.

    Args:
        latent: one latent channel.
        grid: its placement (cell centres and size).
        limits: colour limits (default: symmetric around zero from the values).
        selected: cells shown as selected.
        region: bool ``(M_y, M_x)``, outlined as the region where the latent reads as the
            field (e.g. the wake behind a cylinder).
        markers: label -> ``(x, y)`` points to mark (a bump's centre).
        length_unit: unit of the coordinates.
        title: title above the grid.
        height: the most pixels the view may take.
        buttons: action buttons drawn above the grid, in order.
        notes: caption lines under the grid.
    """
    latent = np.asarray(latent, dtype=np.float32)
    ids = [b.id for b in buttons]
    if "select" in ids or len(set(ids)) != len(ids):
        raise ValueError(f"button ids must be unique and not 'select', got {ids}")
    if latent.shape != tuple(grid.shape):
        raise ValueError(f"latent {latent.shape} does not match the grid {grid.shape}")
    vmin, vmax = limits if limits is not None else symmetric_limits([latent], 1.0)
    rows, cols = grid.shape
    box = region_outline(region, grid) if region is not None and not np.all(region) else None
    return {
        "kind": "grid",
        "title": title or "",
        "height": int(height),
        "length_unit": length_unit,
        "groups": {
            "latent": {
                "vmin": float(vmin),
                "vmax": float(vmax),
                "stops": _stops(LATENT_SCALE),
                "label": "z (latent units)",
            }
        },
        "panels": [
            {
                "title": "",
                "group": "latent",
                "x": [float(v) for v in grid.x_range],
                "y": [float(v) for v in grid.y_range],
                "data": encode_array(latent),
            }
        ],
        "selected": [[int(r), int(c)] for r, c in selected if 0 <= r < rows and 0 <= c < cols],
        "region": box and {k: float(v) for k, v in box.items()},
        "markers": [
            {"label": str(label), "x": float(x), "y": float(y)}
            for label, (x, y) in (markers or {}).items()
        ],
        "buttons": [b.to_json() for b in buttons],
        "notes": [str(n) for n in notes],
    }


def views_spec(specs: Sequence[dict], widths: Sequence[float] | None = None) -> dict:
    """Several specs of :func:`panels_spec` / :func:`grid_spec` side by side in one view.

    Args:
        specs: the views, left to right (at most one grid: its events are the view's value).
        widths: relative widths (default: equal).
    """
    specs = list(specs)
    widths = [1.0] * len(specs) if widths is None else [float(w) for w in widths]
    if not specs or len(widths) != len(specs) or min(widths) <= 0:
        raise ValueError(f"need one positive width per view, got {len(specs)} views, {widths}")
    if any(s.get("kind") not in ("grid", "panels") for s in specs):
        raise ValueError("views_spec takes specs of panels_spec or grid_spec")
    if sum(s["kind"] == "grid" for s in specs) > 1:
        raise ValueError("one grid per view: its selection and buttons are the view's value")
    return {"kind": "views", "views": specs, "widths": widths}
