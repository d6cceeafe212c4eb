"""The geometric scenario in one figure: 2D fields stacked above the 1D latent line, all on
the same x axis (the channel axis), so a feature of the line sits under the flow feature it
stands for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diano.viz.fields import SCALES
from diano.viz.style import TEMPLATE, coloraxis, positive_limits, symmetric_limits

#: line colours of the latent lines, by label prefix
LINE_COLOURS = ("#d62728", "#1f77b4", "#7f7f7f", "#2ca02c")


def stenosis_figure(
    fields: Mapping[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    line_x: np.ndarray,
    lines: Mapping[str, np.ndarray],
    *,
    error: np.ndarray | None = None,
    units: Mapping[str, str] | None = None,
    length_unit: str = "H",
    title: str | None = None,
    field_height: int = 170,
    line_height: int = 230,
) -> go.Figure:
    """2D fields (shared diverging scale), their |error|, and latent lines along x.

    Args:
        fields: title → ``(H, W)`` field, top to bottom (e.g. truth, decoded).
        x, y: cell-centre coordinates of the fields.
        line_x: x of the line's points.
        lines: label → ``(M_x,)`` values, drawn on the bottom row (e.g. the encoded line of
            the truth, the marched line).
        error: ``(H, W)`` |error| drawn under the fields (NaN in solid cells), or ``None``.
        units: colour-bar and axis titles: ``"field"``, ``"error"``, ``"latent"``.
        length_unit: unit of x and y.
        title: figure title.
        field_height, line_height: pixels per row.
    """
    if not fields:
        raise ValueError("a stenosis figure needs at least one field")
    units = dict(units or {})
    maps = dict(fields)
    n_maps = len(maps) + (error is not None)
    heights = [field_height] * n_maps + [line_height]
    titles = [*maps, *(["|error|"] if error is not None else []), "latent line along the axis"]
    fig = make_subplots(
        rows=n_maps + 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045,
        row_heights=heights,
        subplot_titles=titles,
    )
    top = 1.0
    total = sum(heights)
    field_limits = symmetric_limits(list(maps.values()))
    for r, (name, f) in enumerate(maps.items(), start=1):
        fig.add_trace(_heatmap(f, x, y, name, "coloraxis"), row=r, col=1)
    fig.update_layout(
        coloraxis=_bar(
            field_limits,
            SCALES["field"][0],
            units.get("field", "field"),
            top,
            len(maps) * field_height / total,
        )
    )
    if error is not None:
        r = len(maps) + 1
        fig.add_trace(_heatmap(error, x, y, "|error|", "coloraxis2"), row=r, col=1)
        y_mid = 1.0 - (len(maps) * field_height) / total
        fig.update_layout(
            coloraxis2=_bar(
                positive_limits([error]),
                SCALES["error"][0],
                units.get("error", "|error|"),
                y_mid,
                field_height / total,
            )
        )
    for k, (label, values) in enumerate(lines.items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(line_x, np.float32),
                y=np.asarray(values, np.float32),
                mode="lines+markers",
                name=label,
                marker={"size": 4},
                line={"color": LINE_COLOURS[k % len(LINE_COLOURS)], "width": 2},
            ),
            row=n_maps + 1,
            col=1,
        )
    for r in range(1, n_maps + 1):
        fig.update_yaxes(title_text=f"y / {length_unit}", row=r, col=1)
    fig.update_yaxes(title_text=units.get("latent", "z"), row=n_maps + 1, col=1)
    fig.update_xaxes(title_text=f"x / {length_unit}", row=n_maps + 1, col=1)
    fig.update_layout(
        template=TEMPLATE,
        height=total + 130,
        title={"text": title} if title else None,
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0.0},
        margin={"t": 70 if title else 40, "b": 60, "l": 60, "r": 110},
    )
    return fig


def _heatmap(field: np.ndarray, x: np.ndarray, y: np.ndarray, name: str, axis: str) -> go.Heatmap:
    return go.Heatmap(
        z=np.asarray(field, np.float32),
        x=np.asarray(x, np.float32),
        y=np.asarray(y, np.float32),
        coloraxis=axis,
        name=name,
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>%{z:.3g}<extra>" + name + "</extra>",
    )


def _bar(limits: Sequence[float], scale, title: str, top: float, length: float) -> dict:
    axis = coloraxis(limits, scale, title, x=1.01, y=top, length=0.95 * length)
    axis["colorbar"].update(yanchor="top")
    return axis


def line_error_figure(
    steps: np.ndarray, curves: Mapping[str, np.ndarray], *, title: str | None = None
) -> go.Figure:
    """Relative L2 error of the decoded field against the step of the latent march."""
    fig = go.Figure()
    for k, (label, values) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(steps),
                y=np.asarray(values, np.float32),
                mode="lines+markers",
                name=label,
                line={"color": LINE_COLOURS[k % len(LINE_COLOURS)]},
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        height=280,
        title={"text": title} if title else None,
        xaxis_title="steps marched (snapshot intervals)",
        yaxis_title="rel. L2 error",
        yaxis_rangemode="tozero",
    )
    return fig
