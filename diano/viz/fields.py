"""Rows of field heatmaps with shared colour scales, static or animated in the browser.

A :class:`Panel` is one heatmap on physical coordinates; its ``scale`` names a colour group
(``"field"``, ``"error"``, ``"latent"``, ``"saliency"``). Panels of one group share one plotly
colour axis, hence one set of colour limits and one colour bar, drawn horizontally under the
group. The animated version is :func:`diano.viz.scrub.scrub_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from diano.viz.style import (
    ERROR_SCALE,
    FIELD_SCALE,
    LATENT_SCALE,
    SALIENCY_SCALE,
    TEMPLATE,
    coloraxis,
    compact,
    compact_coords,
    positive_limits,
    symmetric_limits,
)

#: colour group -> (plotly colour scale, symmetric limits around zero)
SCALES: dict[str, tuple[str, bool]] = {
    "field": (FIELD_SCALE, True),
    "latent": (LATENT_SCALE, True),
    "error": (ERROR_SCALE, False),
    "saliency": (SALIENCY_SCALE, False),
}


@dataclass(frozen=True)
class Panel:
    """One heatmap: ``data`` is ``(H, W)`` or, animated, ``(T, H, W)``.

    Attributes:
        title: text above the panel.
        data: values on the cell centres ``y (H,)`` × ``x (W,)``.
        x, y: cell-centre coordinates.
        scale: colour group, a key of :data:`SCALES`.
    """

    title: str
    data: np.ndarray
    x: np.ndarray
    y: np.ndarray
    scale: str = "field"


def group_limits(panels: Sequence[Panel], scale: str) -> tuple[float, float]:
    arrays = [p.data for p in panels if p.scale == scale]
    symmetric = SCALES[scale][1]
    return symmetric_limits(arrays) if symmetric else positive_limits(arrays)


def check_panels(panels: Sequence[Panel]) -> None:
    if not panels:
        raise ValueError("a panel figure needs at least one panel")
    for p in panels:
        if p.scale not in SCALES:
            raise ValueError(f"panel {p.title!r}: unknown scale {p.scale!r}; known {list(SCALES)}")
        if p.data.shape[-2:] != (len(p.y), len(p.x)):
            raise ValueError(
                f"panel {p.title!r}: data {p.data.shape} does not match y ({len(p.y)}) "
                f"× x ({len(p.x)})"
            )


def _first_run(cols: list[int]) -> list[int]:
    """The first run of consecutive columns (a colour bar sits under it)."""
    run = [cols[0]]
    for c in cols[1:]:
        if c != run[-1] + 1:
            break
        run.append(c)
    return run


def colour_axes(
    panels: Sequence[Panel],
    units: Mapping[str, str],
    domains: Sequence[Sequence[float]],
    y_bottom: float,
    plot_px: float,
) -> tuple[dict[str, str], dict[str, dict]]:
    """One colour axis per colour group, its horizontal colour bar under the group's first
    run of adjacent panels, below the x-axis title.

    Args:
        panels: the panels, left to right.
        units: colour-bar title per group.
        domains: x domain (paper units) of each panel.
        y_bottom: bottom of the panels' row (paper units).
        plot_px: height of the plotting area in pixels (converts pixel offsets to paper).

    Returns:
        ``scale -> axis name`` and ``axis name -> layout entry``.
    """
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(panels):
        groups.setdefault(p.scale, []).append(i)
    names, axes = {}, {}
    for k, (scale, members) in enumerate(groups.items(), start=1):
        name = "coloraxis" if k == 1 else f"coloraxis{k}"
        names[scale] = name
        run = _first_run(members)
        x0, x1 = domains[run[0]][0], domains[run[-1]][1]
        axis = coloraxis(
            group_limits(panels, scale),
            SCALES[scale][0],
            units.get(scale, scale),
            x=(x0 + x1) / 2,
            y=y_bottom - 52.0 / plot_px,
            length=0.9 * (x1 - x0),
        )
        axis["colorbar"].update(
            orientation="h", yanchor="top", xanchor="center", thickness=10, nticks=5
        )
        axis["colorbar"]["title"]["side"] = "bottom"
        axes[name] = axis
    return names, axes


def axis_titles(length_unit: str, first: bool) -> tuple[dict, dict]:
    """x and y axis settings of one equal-aspect panel (y title on the first only)."""
    x = {"title": {"text": f"x / {length_unit}"}, "constrain": "domain"}
    y = {"title": {"text": f"y / {length_unit}" if first else None}, "constrain": "domain"}
    return x, y


def panel_axes(fig: go.Figure, index: int) -> tuple[str, str, tuple[float, float]]:
    """Axis references ``("x2", "y2")`` and x domain of panel ``index`` (0-based) of a
    :func:`panel_figure`, for adding traces, shapes or annotations to that panel."""
    suffix = "" if index == 0 else str(index + 1)
    domain = tuple(fig.layout[f"xaxis{suffix}"].domain)
    return f"x{suffix}", f"y{suffix}", (float(domain[0]), float(domain[1]))


def panel_figure(
    panels: Sequence[Panel],
    *,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    max_size: int | None = 128,
    height: int = 380,
    title: str | None = None,
    spacing: float = 0.04,
) -> go.Figure:
    """A row of heatmaps; panels with the same ``scale`` share colour limits and bar.

    The layout is written in one piece (no ``make_subplots``), which keeps building the
    figure fast enough to redraw it on every latent edit.

    Args:
        panels: the heatmaps, left to right (``data`` ``(H, W)``).
        units: colour-bar title per group, e.g. ``{"field": "ω / (U∞/D)"}``.
        length_unit: unit of the coordinates, for the axis titles.
        max_size: fields larger than this are box-averaged for display.
        height: figure height in pixels.
        title: figure title.
        spacing: gap between panels (fraction of the width).
    """
    check_panels(panels)
    n = len(panels)
    width = (1.0 - spacing * (n - 1)) / n
    domains = [(i * (width + spacing), i * (width + spacing) + width) for i in range(n)]
    margin = {"t": 60 if title else 40, "b": 120}
    names, axes = colour_axes(panels, units or {}, domains, 0.0, height - margin["t"] - margin["b"])
    layout: dict = {
        "template": TEMPLATE,
        "height": height,
        "title": {"text": title} if title else None,
        "margin": margin,
        "annotations": [],
        **axes,
    }
    data = []
    for i, (p, domain) in enumerate(zip(panels, domains, strict=True)):
        suffix = "" if i == 0 else str(i + 1)
        x, y = axis_titles(length_unit, i == 0)
        layout[f"xaxis{suffix}"] = {**x, "domain": list(domain), "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {
            **y,
            "domain": [0.0, 1.0],
            "anchor": f"x{suffix}",
            "scaleanchor": f"x{suffix}",
        }
        layout["annotations"].append(
            {
                "text": p.title,
                "x": (domain[0] + domain[1]) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
        trace = heatmap_trace(p, p.data, names[p.scale], max_size)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        data.append(trace)
    return go.Figure(data=data, layout=layout)


def heatmap_trace(p: Panel, data: np.ndarray, axis: str, max_size: int | None) -> go.Heatmap:
    return go.Heatmap(
        z=compact(data, max_size),
        x=compact_coords(p.x, len(p.x), max_size),
        y=compact_coords(p.y, len(p.y), max_size),
        coloraxis=axis,
        name=p.title,
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>%{z:.3g}<extra>" + p.title + "</extra>",
    )
