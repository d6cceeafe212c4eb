"""Figures about the latent: the editable grid, the pipeline, saliency, latent vs truth.

Plotly heatmap clicks do not reach Streamlit (streamlit #8760), so the editable latent is a
scatter of square markers, one per cell, whose points can be clicked, box- or lasso-selected;
point ``i`` is cell ``(i // M_x, i % M_x)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from diano.latent_edit import LatentGrid
from diano.viz.fields import Panel, panel_axes, panel_figure
from diano.viz.style import LATENT_SCALE, TEMPLATE, symmetric_limits


def cell_of_point(index: int, grid: LatentGrid) -> tuple[int, int]:
    """Cell ``(row, col)`` of point ``index`` of :func:`latent_editor_figure`'s grid trace."""
    return divmod(int(index), grid.shape[1])


def region_outline(region: np.ndarray, grid: LatentGrid) -> dict | None:
    """Bounding rectangle (physical coordinates) of the True cells of ``region``, or None."""
    rows, cols = np.nonzero(np.asarray(region))
    if rows.size == 0:
        return None
    hy, hx = grid.spacing
    return {
        "x0": grid.x_range[0] + hx * cols.min(),
        "x1": grid.x_range[0] + hx * (cols.max() + 1),
        "y0": grid.y_range[0] + hy * rows.min(),
        "y1": grid.y_range[0] + hy * (rows.max() + 1),
    }


def _outline_shape(box: dict, xref: str = "x", yref: str = "y") -> dict:
    return {
        "type": "rect",
        "xref": xref,
        "yref": yref,
        **box,
        "line": {"color": "#2e7d32", "width": 2.5, "dash": "dash"},
        "fillcolor": "rgba(0,0,0,0)",
    }


def latent_editor_figure(
    latent: np.ndarray,
    grid: LatentGrid,
    *,
    limits: Sequence[float] | None = None,
    selected: Sequence[tuple[int, int]] = (),
    region: np.ndarray | None = None,
    markers: Mapping[str, tuple[float, float]] | None = None,
    length_unit: str = "D",
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """The latent ``(M_y, M_x)`` as a grid of selectable squares on physical coordinates.

    Args:
        latent: one latent channel.
        grid: its placement (cell centres and size).
        limits: colour limits (default: symmetric around zero from the values).
        selected: cells shown as selected.
        region: bool ``(M_y, M_x)``, outlined as the region where the latent reads as the
            field (e.g. the wake behind a cylinder).
        markers: label -> ``(x, y)`` points to mark (a bump's centre, a probe point).
        length_unit: unit of the coordinates.
        title: figure title.
        height: pixels; the squares are sized to fill their cells at this height.
    """
    latent = np.asarray(latent, dtype=np.float32)
    if latent.shape != tuple(grid.shape):
        raise ValueError(f"latent {latent.shape} does not match the grid {grid.shape}")
    yc, xc = grid.centres()
    yy, xx = np.meshgrid(yc, xc, indexing="ij")  # (M_y, M_x), row-major like the point index
    rows, cols = np.meshgrid(np.arange(grid.shape[0]), np.arange(grid.shape[1]), indexing="ij")
    cmin, cmax = limits if limits is not None else symmetric_limits([latent], 1.0)
    plot_px = height - 100
    size = max(4.0, 0.96 * plot_px / max(grid.shape))
    index = {cell_of_point(i, grid): i for i in range(latent.size)}
    traces = [
        go.Scatter(
            x=xx.ravel().astype(np.float32),
            y=yy.ravel().astype(np.float32),
            mode="markers",
            marker={
                "symbol": "square",
                "size": size,
                "color": latent.ravel(),
                "colorscale": LATENT_SCALE,
                "cmin": float(cmin),
                "cmax": float(cmax),
                "line": {"width": 0},
                "colorbar": {"title": {"text": "z (latent units)", "side": "right"}, "len": 0.9},
            },
            customdata=np.stack([rows.ravel(), cols.ravel()], axis=1),
            selectedpoints=[index[c] for c in selected if c in index] or None,
            selected={"marker": {"opacity": 1.0}},
            unselected={"marker": {"opacity": 0.35}} if selected else None,
            hovertemplate="cell (%{customdata[0]}, %{customdata[1]})<br>x=%{x:.2f}, "
            "y=%{y:.2f}<br>z=%{marker.color:.3g}<extra></extra>",
            name="latent",
            showlegend=False,
        )
    ]
    for label, (x, y) in (markers or {}).items():
        traces.append(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers+text",
                text=[label],
                textposition="top center",
                marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": "black"}},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    shapes = []
    if region is not None and not np.all(region):
        box = region_outline(region, grid)
        if box is not None:
            shapes.append(_outline_shape(box))
    axis = {"constrain": "domain", "showgrid": False, "zeroline": False}
    # the layout in one piece: building it key by key costs more than the whole figure
    layout = {
        "template": TEMPLATE,
        "height": height,
        "title": {"text": title} if title else None,
        "shapes": shapes,
        "dragmode": "select",
        "clickmode": "event+select",
        "xaxis": {**axis, "title": {"text": f"x / {length_unit}"}, "range": list(grid.x_range)},
        "yaxis": {
            **axis,
            "title": {"text": f"y / {length_unit}"},
            "range": list(grid.y_range),
            "scaleanchor": "x",
        },
        "margin": {"t": 50 if title else 30, "b": 50, "l": 60, "r": 20},
    }
    return go.Figure(data=traces, layout=layout)


def pipeline_figure(
    field: np.ndarray,
    latent: np.ndarray,
    latent_next: np.ndarray,
    decoded: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    grid: LatentGrid,
    *,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    height: int = 360,
) -> go.Figure:
    """Field → encoder → latent → latent PDE step → decoder → field, as four panels.

    Args:
        field: input field ``(H, W)``.
        latent, latent_next: latent before and after one solver step ``(M_y, M_x)``.
        decoded: decoded field after the step ``(H, W)``.
        x, y: the field's cell centres; ``grid`` places the latent.
    """
    yc, xc = grid.centres()
    panels = [
        Panel("field u(t)", field, x, y, "field"),
        Panel("latent z(t)", latent, xc, yc, "latent"),
        Panel("latent z(t+Δt) (solver)", latent_next, xc, yc, "latent"),
        Panel("decoded u(t+Δt)", decoded, x, y, "field"),
    ]
    fig = panel_figure(panels, units=units, length_unit=length_unit, height=height)
    for i, label in enumerate(("encoder", "PDE solver", "decoder")):
        left = panel_axes(fig, i)[2][1]
        right = panel_axes(fig, i + 1)[2][0]
        fig.add_annotation(
            x=(left + right) / 2,
            y=1.0,
            yshift=26,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            text=f"<b>→ {label} →</b>",
            showarrow=False,
            font={"size": 12, "color": "#444"},
        )
    fig.update_layout(margin={"t": 75})
    return fig


def saliency_figure(
    field: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    saliency: np.ndarray,
    grid: LatentGrid,
    point: tuple[float, float],
    *,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    height: int = 360,
) -> go.Figure:
    """The decoded field with a probe point, and ``|∂u(point)/∂z|`` on the latent grid."""
    yc, xc = grid.centres()
    fig = panel_figure(
        [
            Panel("decoded field and probe point", field, x, y, "field"),
            Panel("|∂u(probe) / ∂z| on the latent grid", saliency, xc, yc, "saliency"),
        ],
        units=units,
        length_unit=length_unit,
        height=height,
    )
    for index in (0, 1):
        xref, yref, _ = panel_axes(fig, index)
        fig.add_trace(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                xaxis=xref,
                yaxis=yref,
                mode="markers",
                marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": "#00c853"}},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    return fig


def latent_vs_truth_figure(
    pooled: np.ndarray,
    latent: np.ndarray,
    grid: LatentGrid,
    *,
    region: np.ndarray | None = None,
    correlation: float | None = None,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    height: int = 360,
) -> go.Figure:
    """Down-sampled truth next to the latent, each on its own colour scale; the region where
    the latent reads as the field is outlined."""
    yc, xc = grid.centres()
    title = None
    if correlation is not None and np.isfinite(correlation):
        title = f"correlation in the outlined region: {correlation:.2f}"
    fig = panel_figure(
        [
            Panel("truth, box-averaged to the latent grid", pooled, xc, yc, "field"),
            Panel("latent z (own colour scale)", latent, xc, yc, "latent"),
        ],
        units=units,
        length_unit=length_unit,
        height=height,
        title=title,
    )
    if region is not None:
        box = region_outline(region, grid)
        if box is not None:
            for index in (0, 1):
                xref, yref, _ = panel_axes(fig, index)
                fig.add_shape(_outline_shape(box, xref, yref))
    return fig
