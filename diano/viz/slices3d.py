"""Plotly slice view of 3D fields: one row per field, three orthogonal planes per row.

Each row shows a field on the planes ``z = z_k`` (x–y), ``y = y_j`` (x–z) and ``x = x_i``
(y–z), the same planes for every row, with one shared colour scale; solid cells are blank
(NaN). Dotted lines in each plane mark where the other two planes cut it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from diano.viz.style import ERROR_SCALE, TEMPLATE, coloraxis, streamlit_safe

PRESSURE_SCALE = streamlit_safe("Viridis")
#: the three planes: (title, fixed axis index in (z, y, x), horizontal axis, vertical axis)
PLANES = (("z", 0, "x", "y"), ("y", 1, "x", "z"), ("x", 2, "y", "z"))


def plane(field: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D cut of ``field (D, H, W)`` at ``index`` along tensor ``axis`` (0 = z, 1 = y,
    2 = x), rows along the plane's vertical axis: ``(H, W)``, ``(D, W)`` or ``(D, H)``."""
    return np.take(np.asarray(field, np.float32), int(index), axis=axis)


def slice_figure(
    fields: Mapping[str, np.ndarray],
    mask: np.ndarray,
    coords: Sequence[np.ndarray],
    index: Sequence[int],
    *,
    limits: Sequence[float],
    colour_title: str = "p",
    error: bool = False,
    length_unit: str = "D",
    row_height: int = 210,
) -> go.Figure:
    """Orthogonal slices of ``fields`` (title → ``(D, H, W)``) at ``index = (i_x, i_y, i_z)``.

    Args:
        fields: rows, top to bottom.
        mask: fluid mask ``(D, H, W)``; solid cells are drawn blank.
        coords: ``(z, y, x)`` cell centres.
        index: grid indices of the planes, x first.
        limits: shared colour limits.
        colour_title: colour-bar title.
        error: the fields are |errors| (error colour scale).
        length_unit: unit of the coordinates.
        row_height: pixels per row.
    """
    if not fields:
        raise ValueError("a slice figure needs at least one field")
    z, y, x = (np.asarray(c, np.float32) for c in coords)
    axes = {"x": x, "y": y, "z": z}
    ix, iy, iz = (int(i) for i in index)
    at = {0: iz, 1: iy, 2: ix}
    fluid = np.asarray(mask) > 0
    n_rows = len(fields)
    widths = [float(axes[h][-1] - axes[h][0]) for _, _, h, _ in PLANES]
    gap = 0.05
    total = sum(widths)
    col_domains, start = [], 0.0
    for w in widths:
        span = (1.0 - 2 * gap) * w / total
        col_domains.append((start, start + span))
        start += span + gap
    # about 34 px between rows, room for the tick labels of the row above
    row_gap = 34.0 / (row_height * n_rows + 10) if n_rows > 1 else 0.0
    row_span = (1.0 - row_gap * (n_rows - 1)) / n_rows
    scale = ERROR_SCALE if error else PRESSURE_SCALE
    layout: dict = {
        "template": TEMPLATE,
        "height": row_height * n_rows + 90,
        "margin": {"t": 40, "b": 40, "l": 60, "r": 90},
        "annotations": [],
        "shapes": [],
        "coloraxis": coloraxis(limits, scale, colour_title, x=1.02, y=0.5, length=0.8),
    }
    data = []
    for r, (title, field) in enumerate(fields.items()):
        top = 1.0 - r * (row_span + row_gap)
        for c, (name, axis, h_name, v_name) in enumerate(PLANES):
            k = r * 3 + c
            suffix = "" if k == 0 else str(k + 1)
            values = plane(np.where(fluid, field, np.nan), axis, at[axis])
            hx, vy = axes[h_name], axes[v_name]
            data.append(
                go.Heatmap(
                    z=values,
                    x=hx,
                    y=vy,
                    coloraxis="coloraxis",
                    name=f"{title}, {name} = {float(axes[name][at[axis]]):.2f}",
                    hovertemplate=f"{h_name}=%{{x:.2f}}<br>{v_name}=%{{y:.2f}}<br>%{{z:.3g}}"
                    f"<extra>{title}</extra>",
                    xaxis=f"x{suffix}",
                    yaxis=f"y{suffix}",
                )
            )
            layout[f"xaxis{suffix}"] = {
                "domain": [max(0.0, col_domains[c][0]), min(1.0, col_domains[c][1])],
                "anchor": f"y{suffix}",
                "title": {"text": f"{h_name} / {length_unit}" if r == n_rows - 1 else None},
                "constrain": "domain",
            }
            layout[f"yaxis{suffix}"] = {
                # clipped: the last row's bottom is 0 up to rounding (plotly rejects -1e-17)
                "domain": [max(0.0, top - row_span), min(1.0, top)],
                "anchor": f"x{suffix}",
                "scaleanchor": f"x{suffix}",
                "constrain": "domain",
                "title": {"text": f"{v_name} / {length_unit}"},
            }
            # where the other two planes cut this one
            for other, o_axis, *_ in PLANES:
                if other == h_name:
                    pos = float(axes[other][at[o_axis]])
                    layout["shapes"].append(_line(suffix, "x", pos))
                elif other == v_name:
                    pos = float(axes[other][at[o_axis]])
                    layout["shapes"].append(_line(suffix, "y", pos))
            if r == 0:
                layout["annotations"].append(
                    _label(col_domains[c], top, f"plane {name} = {float(axes[name][at[axis]]):.2f}")
                )
        layout["annotations"].append(
            {
                "text": f"<b>{title}</b>",
                "x": -0.005,
                "y": top - row_span / 2,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right",
                "textangle": -90,
                "showarrow": False,
                "xshift": -42,
            }
        )
    return go.Figure(data=data, layout=layout)


def _line(suffix: str, along: str, pos: float) -> dict:
    """A dotted line at ``along = pos`` across one panel."""
    ref = {"x": f"x{suffix}", "y": f"y{suffix}"}
    other = "y" if along == "x" else "x"
    shape = {
        "type": "line",
        "xref": ref["x"] if along == "x" else f"{ref['x']} domain",
        "yref": ref["y"] if along == "y" else f"{ref['y']} domain",
        "line": {"color": "#555555", "width": 1, "dash": "dot"},
    }
    shape.update({f"{along}0": pos, f"{along}1": pos, f"{other}0": 0, f"{other}1": 1})
    return shape


def _label(domain: Sequence[float], top: float, text: str) -> dict:
    return {
        "text": text,
        "x": (domain[0] + domain[1]) / 2,
        "y": top,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
    }
