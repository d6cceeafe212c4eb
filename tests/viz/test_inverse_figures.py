"""Figure builders of the inverse-edit & resolution page (diano.viz.inverse)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diano.viz import Panel, panel_figure
from diano.viz.inverse import loss_figure, outline_region, region_figure, resolution_figure

X = np.linspace(-2, 6, 16)
Y = np.linspace(-4, 4, 16)
FIELD = np.sin(X)[None, :] * np.cos(Y)[:, None]


def test_region_figure_is_box_selectable_and_outlines_the_region() -> None:
    fig = region_figure(FIELD, X, Y, (1.0, 3.0, -1.0, 1.0), title="pick")
    assert isinstance(fig, go.Figure)
    assert [t.type for t in fig.data] == ["heatmap", "scatter"]
    assert fig.data[1].marker.opacity == 0.0  # the selection grid is invisible
    assert fig.layout.dragmode == "select"
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (1.0, 3.0, -1.0, 1.0)


def test_outline_region_marks_each_panel() -> None:
    panels = [Panel("a", FIELD, X, Y), Panel("b", FIELD, X, Y), Panel("c", FIELD, X, Y)]
    fig = outline_region(panel_figure(panels), (0.0, 2.0, -1.0, 1.0), range(3))
    assert [(s.xref, s.yref) for s in fig.layout.shapes] == [("x", "y"), ("x2", "y2"), ("x3", "y3")]


def test_loss_and_resolution_figures() -> None:
    fig = loss_figure([0, 1, 2], [4.0, 0.5, 0.001], total=10)
    assert fig.layout.yaxis.type == "log" and tuple(fig.layout.xaxis.range) == (0, 10)
    fig = resolution_figure(
        {"DIANO": ([64, 128, 256], [0.1, 0.06, 0.09]), "MLP-AE": ([64, 128, 256], [None] * 3)},
        references={"data interpolated": (256, 0.085)},
        data_size=128,
    )
    assert [t.name for t in fig.data] == ["DIANO", "data interpolated"]
    assert fig.layout.xaxis.type == "log"
