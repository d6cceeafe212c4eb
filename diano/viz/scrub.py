"""The time-scrub figure: animated panels over an error-against-time curve.

Prebuilt plotly frames with a slider and play/pause buttons run in the browser, so scrubbing
time needs no server round trip; each frame restyles only the heatmaps' ``z`` and the time
marker on the curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diano.viz.curves import add_curves
from diano.viz.fields import (
    Panel,
    axis_titles,
    check_panels,
    colour_axes,
    group_limits,
    heatmap_trace,
)
from diano.viz.style import TEMPLATE, compact, compact_coords


def _display_decimals(limits: tuple[float, float], levels: int = 1000) -> int:
    """Decimals that resolve ``levels`` steps across the colour range (at least 0)."""
    span = max(abs(limits[0]), abs(limits[1]), 1e-12)
    return max(0, int(np.ceil(np.log10(levels / span))))


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
        x, y = axis_titles(length_unit, col == 1)
        # "xaxis3" -> "x3": equal aspect ratio against this panel's own x axis
        y["scaleanchor"] = sub.xaxis.plotly_name.replace("axis", "")
        fig.layout[sub.xaxis.plotly_name].update(x)
        fig.layout[sub.yaxis.plotly_name].update(y)
        domains.append(sub.xaxis.domain)
    y_bottom = fig.get_subplot(row, 1).yaxis.domain[0]
    names, axes = colour_axes(panels, units, domains, y_bottom, plot_px)
    fig.update_layout(axes)
    return names


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
    check_panels(panels)
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
        fig.add_trace(heatmap_trace(p, data[current], names[p.scale], None), row=1, col=col)
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
    decimals = [_display_decimals(group_limits(panels, p.scale)) for p in panels]
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
