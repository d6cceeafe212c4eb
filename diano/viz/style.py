"""Colour scales, shared colour limits and compact arrays for the plotly figure builders.

Figures stay small on the wire: arrays go to plotly as float32 numpy arrays (plotly encodes
them as base64 typed arrays, 4 bytes a value), large fields are box-averaged to a display
size, and the figures use a light template instead of plotly's default (≈ 8 kB of JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go


def streamlit_safe(name: str) -> list[list]:
    """Plotly's named colour scale as an explicit list that Streamlit draws unchanged.

    Streamlit's chart component replaces the colour strings ``#000001`` … ``#000030``
    anywhere in a figure with its theme colours (they are its placeholders), and
    Inferno starts at ``#000004``; such a colour is nudged to an indistinguishable one.
    """
    from plotly.colors import get_colorscale

    scale = []
    for position, colour in get_colorscale(name):
        if isinstance(colour, str) and colour.lower().startswith("#0000"):
            colour = "#01" + colour[3:]
        scale.append([position, colour])
    return scale


#: physical fields (vorticity and the like): diverging, zero in white
FIELD_SCALE = streamlit_safe("RdBu_r")
#: the latent, on its own scale (it matches the field's pattern, not its units)
LATENT_SCALE = streamlit_safe("PuOr_r")
#: |error| maps, from zero
ERROR_SCALE = streamlit_safe("Inferno")
#: saliency and other non-negative sensitivities
SALIENCY_SCALE = streamlit_safe("Viridis")

#: line colours, one per model and for the reference forecasts
MODEL_COLOURS = {
    "truth": "#222222",
    "diano": "#1f77b4",
    "cno": "#ff7f0e",
    "cnn_ae": "#2ca02c",
    "mlp_ae": "#9467bd",
    "reconstruction": "#1f77b4",
    "latent-only rollout": "#d62728",
    "re-encoded rollout": "#2ca02c",
    "persistence": "#8c8c8c",
    "time mean": "#b0b0b0",
}

TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "sans-serif", "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
        "hovermode": "closest",
    }
)


def symmetric_limits(arrays: Iterable[np.ndarray], quantile: float = 0.995) -> tuple[float, float]:
    """Colour limits ``(-a, a)`` shared by ``arrays``; ``a`` is their joint ``|value|``
    quantile, so a few extreme cells (e.g. at a body's edge) do not wash out the rest."""
    values = np.concatenate([np.abs(np.asarray(a, np.float32)).ravel() for a in arrays])
    finite = values[np.isfinite(values)]
    a = float(np.quantile(finite, quantile)) if finite.size else 1.0
    a = a if a > 0 else 1.0
    return -a, a


def positive_limits(arrays: Iterable[np.ndarray], quantile: float = 0.995) -> tuple[float, float]:
    """Colour limits ``(0, a)`` shared by non-negative ``arrays`` (errors, saliency)."""
    return 0.0, symmetric_limits(arrays, quantile)[1]


def display_factor(size: int, max_size: int | None) -> int:
    """Largest power-of-two factor dividing ``size`` that brings it to ``<= max_size``."""
    factor = 1
    if max_size is None:
        return factor
    while size // factor > max_size and size % (2 * factor) == 0:
        factor *= 2
    return factor


def compact(field: np.ndarray, max_size: int | None = None) -> np.ndarray:
    """A ``(..., H, W)`` field as float32, box-averaged to at most ``max_size`` per axis."""
    field = np.asarray(field, dtype=np.float32)
    fy = display_factor(field.shape[-2], max_size)
    fx = display_factor(field.shape[-1], max_size)
    if fy == fx == 1:
        return np.ascontiguousarray(field)
    h, w = field.shape[-2:]
    # (..., H, W) -> (..., H/fy, fy, W/fx, fx) -> mean over the factor axes
    boxes = field.reshape(*field.shape[:-2], h // fy, fy, w // fx, fx)
    return np.ascontiguousarray(boxes.mean(axis=(-3, -1), dtype=np.float32))


def compact_coords(coords: np.ndarray, size: int, max_size: int | None) -> np.ndarray:
    """Cell-centre coordinates matching :func:`compact` along one axis."""
    coords = np.asarray(coords, dtype=np.float32)
    factor = display_factor(size, max_size)
    return coords.reshape(-1, factor).mean(axis=1) if factor > 1 else coords


def coloraxis(
    limits: Sequence[float], colorscale: str, title: str, x: float, y: float, length: float
) -> dict:
    """A plotly colour axis with fixed limits and its colour bar at paper position ``x``."""
    return {
        "cmin": float(limits[0]),
        "cmax": float(limits[1]),
        "colorscale": colorscale,
        "colorbar": {
            "title": {"text": title, "side": "right"},
            "x": x,
            "y": y,
            "len": length,
            "thickness": 12,
            "xpad": 2,
        },
    }
