"""Figures of the inverse edit and the multi-resolution decode (arrays in, ``go.Figure`` out).

- :func:`region_figure`: a decoded field with the edit region drawn on it; box-selectable
  (a transparent point grid over the field makes plotly report the box);
- :func:`outline_region`: draw the region's rectangle on chosen panels of a panel figure;
- :func:`loss_figure`: the objective against iteration (updated live while optimising);
- :func:`resolution_figure`: error against decoded grid size, one line per model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from diano.viz.fields import Panel, panel_axes, panel_figure
from diano.viz.style import MODEL_COLOURS, TEMPLATE

REGION_LINE = {"color": "#111111", "width": 2, "dash": "dash"}
#: points per axis of the transparent selection grid
SELECT_POINTS = 48


def _rectangle(region: Sequence[float], xref: str = "x", yref: str = "y") -> dict:
    x0, x1, y0, y1 = (float(v) for v in region)
    return {
        "type": "rect",
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "xref": xref,
        "yref": yref,
        "line": REGION_LINE,
        "fillcolor": "rgba(0,0,0,0)",
    }


def region_figure(
    field: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    region: Sequence[float],
    *,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """The field ``(H, W)`` with the region ``(x0, x1, y0, y1)`` outlined; drag a box to pick
    a new region (the figure opens in box-select mode).

    Trace 0 is the heatmap, trace 1 the transparent selection grid.
    """
    fig = panel_figure(
        [Panel(title or "decoded field", field, x, y)],
        units=units,
        length_unit=length_unit,
        height=height,
    )
    n = SELECT_POINTS
    gx = np.linspace(float(np.min(x)), float(np.max(x)), n, dtype=np.float32)
    gy = np.linspace(float(np.min(y)), float(np.max(y)), n, dtype=np.float32)
    xx, yy = np.meshgrid(gx, gy)
    fig.add_trace(
        go.Scatter(
            x=xx.ravel(),
            y=yy.ravel(),
            mode="markers",
            marker={"size": 6, "opacity": 0.0},
            hoverinfo="skip",
            showlegend=False,
            name="select",
        )
    )
    fig.add_shape(_rectangle(region))
    fig.update_xaxes(zeroline=False)
    fig.update_yaxes(zeroline=False)
    fig.update_layout(dragmode="select", selectdirection="any")
    return fig


def outline_region(fig: go.Figure, region: Sequence[float], panels: Sequence[int]) -> go.Figure:
    """Draw the region's rectangle on the given panels of a :func:`panel_figure`."""
    for index in panels:
        xref, yref, _ = panel_axes(fig, index)
        fig.add_shape(_rectangle(region, xref, yref))
    return fig


def loss_figure(
    iterations: Sequence[int],
    losses: Sequence[float],
    *,
    total: int | None = None,
    title: str = "objective against iteration",
    height: int = 260,
) -> go.Figure:
    """The objective per iteration on a log axis (``total`` fixes the x range while running)."""
    fig = go.Figure(
        go.Scatter(
            x=list(iterations),
            y=[max(float(v), 1e-12) for v in losses],
            mode="lines+markers",
            marker={"size": 4},
            line={"color": MODEL_COLOURS["diano"]},
            name="objective",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=title,
        xaxis_title="iteration",
        yaxis_title="objective (mean squared misfit)",
        margin={"t": 45, "b": 45},
        showlegend=False,
    )
    positive = [max(float(v), 1e-12) for v in losses]
    decades = np.log10(max(positive) / min(positive)) if positive else 0.0
    fig.update_yaxes(type="log", dtick=1 if decades >= 2 else None, tickformat=".2g")
    if total is not None:
        fig.update_xaxes(range=[0, max(int(total), 1)])
    return fig


def resolution_figure(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float | None]]],
    *,
    references: Mapping[str, tuple[int, float]] | None = None,
    data_size: int | None = None,
    title: str = "decoded-field error against resolution",
    height: int = 320,
) -> go.Figure:
    """Relative L2 error against the decoded grid's size ``N`` (cells per side), per model.

    Args:
        curves: label -> (sizes, errors); ``None`` errors (no fine enough truth) are skipped.
        references: label -> (size, error) of single reference points (e.g. the truth
            interpolated from the data grid), drawn as open diamonds.
        data_size: grid size of the data the latent came from (a dotted vertical line).
    """
    fig = go.Figure()
    for label, (sizes, errors) in curves.items():
        kept = [(n, e) for n, e in zip(sizes, errors, strict=True) if e is not None]
        if not kept:
            continue
        colour = MODEL_COLOURS.get(label.split(" ")[0].lower().replace("-", "_"))
        fig.add_trace(
            go.Scatter(
                x=[n for n, _ in kept],
                y=[e for _, e in kept],
                mode="lines+markers",
                name=label,
                line={"color": colour} if colour else None,
            )
        )
    for label, (n, error) in (references or {}).items():
        fig.add_trace(
            go.Scatter(
                x=[n],
                y=[error],
                mode="markers",
                name=label,
                marker={"symbol": "diamond-open", "size": 12, "color": "#222222"},
            )
        )
    if data_size is not None:
        fig.add_vline(x=float(data_size), line={"color": "#888888", "dash": "dot"})
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=title,
        xaxis_title="decoded grid N (cells per side)",
        yaxis_title="rel. L2 error",
        legend={"orientation": "h", "y": -0.3, "x": 0},
        margin={"t": 45, "b": 80},
    )
    fig.update_xaxes(type="log", tickvals=sorted({n for s, _ in curves.values() for n in s}))
    fig.update_yaxes(rangemode="tozero")
    return fig
