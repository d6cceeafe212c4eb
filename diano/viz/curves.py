"""Line figures: error against time, latent energy spectra, PDE residuals.

Reference forecasts (``persistence``, ``time mean``) are drawn dashed in grey, so a model's
curve reads against them at a glance; the model's trained horizon is a dashed vertical line
with the region past it shaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from diano.viz.style import MODEL_COLOURS, TEMPLATE

#: curves drawn as references (dashed, grey) rather than as models
REFERENCE_CURVES = ("persistence", "time mean")


def _colour(name: str, colours: Mapping[str, str] | None, index: int) -> str | None:
    if colours and name in colours:
        return colours[name]
    key = name.split(" ")[0].lower().replace("-", "_")
    if name in MODEL_COLOURS:
        return MODEL_COLOURS[name]
    return MODEL_COLOURS.get(key)


def add_curves(
    fig: go.Figure,
    times: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    colours: Mapping[str, str] | None = None,
    row: int | None = None,
    col: int | None = None,
    selectable: bool = False,
) -> float:
    """Add one line per curve to ``fig`` (at ``row``, ``col`` for subplots).

    Each point carries its frame index as ``customdata``, so a selection on the curve can
    move a time cursor. Returns the largest finite value drawn (for markers spanning the
    plot), at least 1e-6.
    """
    y_max = 1e-6
    times = np.asarray(times, dtype=np.float32)
    for i, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=np.float32)
        t = times[: len(values)]
        reference = name in REFERENCE_CURVES
        finite = values[np.isfinite(values)]
        if finite.size:
            y_max = max(y_max, float(finite.max()))
        trace = go.Scatter(
            x=t,
            y=values,
            name=name,
            mode="lines+markers" if selectable else "lines",
            marker={"size": 5},
            customdata=np.arange(len(values)),
            line={
                "color": _colour(name, colours, i),
                "dash": "dash" if reference else "solid",
                "width": 1.5 if reference else 2.2,
            },
            hovertemplate="t=%{x:.3f}<br>%{y:.3g}<extra>" + name + "</extra>",
        )
        if row is None:
            fig.add_trace(trace)
        else:
            fig.add_trace(trace, row=row, col=col)
    return y_max


def error_curve_figure(
    times: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    current: float | None = None,
    horizon: float | None = None,
    title: str | None = None,
    y_title: str = "rel. L2 error",
    time_unit: str = "D/U∞",
    colours: Mapping[str, str] | None = None,
    selectable: bool = False,
    log_y: bool = False,
    height: int = 320,
) -> go.Figure:
    """Curves against time with the current time and the trained horizon marked.

    Args:
        times: ``(T,)`` time axis (curves may be shorter: they start at ``times[0]``).
        curves: name -> values; ``persistence`` and ``time mean`` are drawn as references.
        current: time of the cursor (a vertical line), or ``None``.
        horizon: time past which a march leaves the model's trained horizon (shaded).
        title, y_title, time_unit: labels.
        colours: line colour per name (defaults per model name).
        selectable: draw markers so a click selects a point (``customdata`` = frame index).
        log_y: logarithmic y axis.
        height: pixels.
    """
    fig = go.Figure()
    add_curves(fig, times, curves, colours=colours, selectable=selectable)
    t_end = float(np.asarray(times)[-1])
    if current is not None:
        fig.add_vline(x=float(current), line={"color": "black", "width": 1.5})
    if horizon is not None and horizon < t_end:
        fig.add_vline(x=float(horizon), line={"color": "#c0392b", "dash": "dash", "width": 1.5})
        fig.add_vrect(
            x0=float(horizon),
            x1=t_end,
            fillcolor="#f4cccc",
            opacity=0.35,
            line_width=0,
            annotation_text="past the trained horizon",
            annotation_position="bottom right",
        )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=title,
        xaxis_title=f"t / ({time_unit})",
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.25, "x": 0},
        margin={"t": 50 if title else 20, "b": 70},
        clickmode="event+select" if selectable else "event",
    )
    fig.update_yaxes(type="log" if log_y else "linear", rangemode=None if log_y else "tozero")
    return fig


def spectrum_figure(
    spectra: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    reference_slope: float | None = -3.0,
    title: str | None = "radial energy spectrum (each normalised to sum 1)",
    height: int = 320,
) -> go.Figure:
    """Log-log radial energy spectra ``E(k) / Σ E``, with a ``k^slope`` reference line.

    Args:
        spectra: name -> ``(k, E)``; the ``k = 0`` entry (the mean) is left out.
        reference_slope: slope of the dotted reference (-3: the 2D enstrophy cascade).
    """
    fig = go.Figure()
    k_all = []
    for i, (name, (k, energy)) in enumerate(spectra.items()):
        k = np.asarray(k, np.float64)
        energy = np.asarray(energy, np.float64)
        keep = (k > 0) & (energy > 0)
        energy = energy / max(energy[keep].sum(), 1e-300)
        k_all.append(k[keep])
        fig.add_trace(
            go.Scatter(
                x=k[keep].astype(np.float32),
                y=energy[keep].astype(np.float32),
                name=name,
                mode="lines+markers",
                line={"color": _colour(name, None, i)},
            )
        )
    if reference_slope is not None and k_all and np.concatenate(k_all).size:
        k = np.unique(np.concatenate(k_all))
        k = k[k >= 1]
        first = fig.data[0]
        anchor = float(first.y[0]) if len(first.y) else 1.0
        ref = anchor * (k / k[0]) ** reference_slope
        fig.add_trace(
            go.Scatter(
                x=k.astype(np.float32),
                y=ref.astype(np.float32),
                name=f"k^{reference_slope:g}",
                mode="lines",
                line={"color": "#888888", "dash": "dot"},
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=title,
        xaxis={"type": "log", "title": "|k| (periods across the box)"},
        yaxis={"type": "log", "title": "E(k) / Σ E"},
        legend={"orientation": "h", "y": -0.3, "x": 0},
        margin={"b": 70},
    )
    return fig
