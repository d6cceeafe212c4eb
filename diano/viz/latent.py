"""Figures about the latent: the pipeline, saliency, latent vs truth.

The editable latent grid is drawn by the canvas view (:func:`diano.viz.canvas.grid_spec`),
which redraws fast enough for live edits.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from diano.latent_edit import LatentGrid
from diano.viz.fields import Panel, panel_axes, panel_figure


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
