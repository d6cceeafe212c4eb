"""Rows of field heatmaps with shared colour scales, static or animated in the browser.

A :class:`Panel` is one heatmap on physical coordinates; its ``scale`` names a colour group
(``"field"``, ``"error"``, ``"latent"``, ``"saliency"``). Panels of one group share one plotly
colour axis, hence one set of colour limits and one colour bar, drawn horizontally under the
group. :func:`scrub_figure` adds an error-against-time curve and prebuilt plotly frames with a
slider and play/pause buttons, so scrubbing time needs no server round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diano.viz.curves import add_curves
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


def _limits(panels: Sequence[Panel], scale: str) -> tuple[float, float]:
    arrays = [p.data for p in panels if p.scale == scale]
    symmetric = SCALES[scale][1]
    return symmetric_limits(arrays) if symmetric else positive_limits(arrays)


def _display_decimals(limits: tuple[float, float], levels: int = 1000) -> int:
    """Decimals that resolve ``levels`` steps across the colour range (at least 0)."""
    span = max(abs(limits[0]), abs(limits[1]), 1e-12)
    return max(0, int(np.ceil(np.log10(levels / span))))


def _check(panels: Sequence[Panel]) -> None:
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


def _colour_axes(
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
            _limits(panels, scale),
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


def _axis_titles(length_unit: str, first: bool) -> tuple[dict, dict]:
    """x and y axis settings of one equal-aspect panel (y title on the first only)."""
    x = {"title": {"text": f"x / {length_unit}"}, "constrain": "domain"}
    y = {"title": {"text": f"y / {length_unit}" if first else None}, "constrain": "domain"}
    return x, y


def _layout_panels(
    fig: go.Figure,
    panels: Sequence[Panel],
    units: Mapping[str, str],
    length_unit: str,
    row: int,
    plot_px: float,
) -> dict[str, str]:
    """Equal-aspect axes and colour axes for a row of panels in a ``make_subplots`` grid."""
    domains = []
    for col in range(1, len(panels) + 1):
        sub = fig.get_subplot(row, col)
        x, y = _axis_titles(length_unit, col == 1)
        # "xaxis3" -> "x3": equal aspect ratio against this panel's own x axis
        y["scaleanchor"] = sub.xaxis.plotly_name.replace("axis", "")
        fig.layout[sub.xaxis.plotly_name].update(x)
        fig.layout[sub.yaxis.plotly_name].update(y)
        domains.append(sub.xaxis.domain)
    y_bottom = fig.get_subplot(row, 1).yaxis.domain[0]
    names, axes = _colour_axes(panels, units, domains, y_bottom, plot_px)
    fig.update_layout(axes)
    return names


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
    _check(panels)
    n = len(panels)
    width = (1.0 - spacing * (n - 1)) / n
    domains = [(i * (width + spacing), i * (width + spacing) + width) for i in range(n)]
    margin = {"t": 60 if title else 40, "b": 120}
    names, axes = _colour_axes(
        panels, units or {}, domains, 0.0, height - margin["t"] - margin["b"]
    )
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
        x, y = _axis_titles(length_unit, i == 0)
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
        trace = _heatmap(p, p.data, names[p.scale], max_size)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        data.append(trace)
    return go.Figure(data=data, layout=layout)


def _heatmap(p: Panel, data: np.ndarray, axis: str, max_size: int | None) -> go.Heatmap:
    return go.Heatmap(
        z=compact(data, max_size),
        x=compact_coords(p.x, len(p.x), max_size),
        y=compact_coords(p.y, len(p.y), max_size),
        coloraxis=axis,
        name=p.title,
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>%{z:.3g}<extra>" + p.title + "</extra>",
    )


def scrub_figure(
    panels: Sequence[Panel],
    times: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    current: int = 0,
    horizon: float | None = None,
    units: Mapping[str, str] | None = None,
    length_unit: str = "D",
    time_unit: str = "D/U∞",
    curve_title: str = "rel. L2 error",
    colours: Mapping[str, str] | None = None,
    max_size: int | None = 64,
    frame_ms: int = 80,
    height: int = 640,
) -> go.Figure:
    """Animated panels (``data`` ``(T, H, W)``) over an error-against-time curve.

    Every frame restyles only the heatmaps' ``z`` and the time marker on the curve; the
    slider and the play/pause buttons run them in the browser.

    Args:
        panels: animated heatmaps; all have the same number of frames ``T``.
        times: ``(T,)`` time of each frame.
        curves: name -> ``(T,)`` values drawn under the panels (e.g. rel-L2 per model).
        current: frame shown first.
        horizon: time from which a march is past the model's trained horizon (shaded).
        units, length_unit: as in :func:`panel_figure`.
        time_unit: unit of ``times``.
        curve_title: y-axis title of the curve.
        colours: line colour per curve name.
        max_size: display size of each frame (box-averaged).
        frame_ms: frame duration when playing.
        height: figure height in pixels.
    """
    _check(panels)
    n_frames = len(times)
    if any(p.data.ndim != 3 or p.data.shape[0] != n_frames for p in panels):
        raise ValueError(f"every animated panel needs data of shape ({n_frames}, H, W)")
    current = int(np.clip(current, 0, n_frames - 1))
    n = len(panels)
    fig = make_subplots(
        rows=2,
        cols=n,
        specs=[[{}] * n, [{"colspan": n}] + [None] * (n - 1)],
        subplot_titles=[p.title for p in panels] + [""],
        row_heights=[0.62, 0.38],
        vertical_spacing=min(0.45, 125.0 / (height - 190)),
        horizontal_spacing=0.04,
    )
    margin = {"t": 40, "b": 150}
    plot_px = height - margin["t"] - margin["b"]
    names = _layout_panels(fig, panels, units or {}, length_unit, row=1, plot_px=plot_px)
    frames_data = [compact(p.data, max_size) for p in panels]  # each (T, h, w)
    for col, (p, data) in enumerate(zip(panels, frames_data, strict=True), start=1):
        fig.add_trace(_heatmap(p, data[current], names[p.scale], None), row=1, col=col)
        # coordinates at display resolution (the frames are compacted already)
        fig.data[-1].x = compact_coords(p.x, len(p.x), max_size)
        fig.data[-1].y = compact_coords(p.y, len(p.y), max_size)
    times = np.asarray(times, dtype=np.float64)
    y_max = add_curves(fig, times, curves, colours=colours, row=2, col=1)
    marker_index = len(fig.data)
    fig.add_trace(
        go.Scatter(
            x=[times[current]] * 2,
            y=[0, y_max],
            mode="lines",
            line={"color": "black", "width": 1.5},
            name="now",
            showlegend=False,
            hoverinfo="skip",
        ),
        row=2,
        col=1,
    )
    if horizon is not None and horizon < times[-1]:
        fig.add_vrect(
            x0=horizon,
            x1=float(times[-1]),
            fillcolor="#f4cccc",
            opacity=0.35,
            line_width=0,
            annotation_text="past the trained horizon",
            annotation_position="bottom right",
            row=2,
            col=1,
        )
    fig.update_xaxes(title_text=f"t / ({time_unit})", row=2, col=1)
    # headroom above the curves for the legend inside the plotting area
    fig.update_yaxes(title_text=curve_title, range=[0, 1.3 * y_max], row=2, col=1)
    traces = list(range(n)) + [marker_index]
    # Streamlit's bundled plotly.js decodes base64 typed arrays in ``data`` but not inside
    # animation frames (the heatmaps go blank), so frame arrays are sent as JSON lists,
    # rounded to what a colour scale can show. An object array keeps plotly from encoding
    # them as base64 and, unlike a nested list, is not validated value by value.
    decimals = [_display_decimals(_limits(panels, p.scale)) for p in panels]
    fig.frames = [
        go.Frame(
            name=str(k),
            traces=traces,
            data=[
                go.Heatmap(z=np.round(d[k].astype(np.float64), n_dec).astype(object))
                for d, n_dec in zip(frames_data, decimals, strict=True)
            ]
            + [go.Scatter(x=[float(times[k])] * 2)],
        )
        for k in range(n_frames)
    ]
    animate = {"mode": "immediate", "transition": {"duration": 0}}
    steps = [
        {
            "method": "animate",
            "label": f"{times[k]:.2f}",
            "args": [[str(k)], {**animate, "frame": {"duration": 0, "redraw": True}}],
        }
        for k in range(n_frames)
    ]
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin=margin,
        # legend inside the curve's plotting area, top right
        legend={
            "orientation": "h",
            "x": 1.0,
            "xanchor": "right",
            "y": fig.get_subplot(2, 1).yaxis.domain[1],
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0.7)",
        },
        sliders=[
            {
                "active": current,
                "steps": steps,
                # one tick per frame is too many labels: only the current value is written
                "font": {"color": "rgba(0,0,0,0)"},
                "currentvalue": {"prefix": f"t ({time_unit}) = ", "font": {"color": "#333"}},
                "pad": {"t": 45},
                "y": 0,
                "len": 0.85,
                "x": 0.15,
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 55},
                "buttons": [
                    {
                        "label": "▶ play",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                **animate,
                                "fromcurrent": True,
                                "frame": {"duration": frame_ms, "redraw": True},
                            },
                        ],
                    },
                    {
                        "label": "❚❚ pause",
                        "method": "animate",
                        "args": [[None], {**animate, "frame": {"duration": 0, "redraw": False}}],
                    },
                ],
            }
        ],
    )
    return fig
