"""Plotly builders of the 3D slice view and the stenosis (2D → 1D) figure."""

from __future__ import annotations

import numpy as np
import pytest

from diano.explore.synthetic import stenosis_channel, vessel_tube
from diano.viz.line import line_error_figure, stenosis_figure
from diano.viz.slices3d import plane, slice_figure


@pytest.fixture(scope="module")
def tube() -> dict:
    case = vessel_tube(16)
    coords = [np.asarray(case["coords"][a][0]) for a in ("z", "y", "x")]
    return {"p": case["fields"][0, 3], "mask": case["mask"], "coords": coords}


def test_plane_cuts_along_each_axis() -> None:
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    assert plane(a, 0, 1).shape == (3, 4) and plane(a, 1, 2).shape == (2, 4)
    assert plane(a, 2, 3).tolist() == a[:, :, 3].tolist()


def test_slice_figure_rows_share_planes_and_colours(tube) -> None:
    p, mask, coords = tube["p"], tube["mask"], tube["coords"]
    fields = {"truth": p, "model": 0.9 * p}
    fig = slice_figure(fields, mask, coords, (5, 8, 8), limits=(-1.0, 1.0), colour_title="p")
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 6  # two rows of three planes
    assert {t.coloraxis for t in heatmaps} == {"coloraxis"}
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-1.0, 1.0)
    z, y, x = coords
    # the x plane (third column) of the first row is p[:, :, 5], blank in solid cells
    expected = np.where(mask > 0, p, np.nan)[:, :, 5]
    np.testing.assert_array_equal(np.asarray(heatmaps[2].z, dtype=np.float32), expected)
    assert "x = " + f"{x[5]:.2f}" in heatmaps[2].name
    # dotted lines mark the other two planes in each panel
    assert len(fig.layout.shapes) == 6 * 2
    error = slice_figure({"e": np.abs(p)}, mask, coords, (1, 2, 3), limits=(0, 1), error=True)
    assert error.layout.coloraxis.colorscale[0][1] != fig.layout.coloraxis.colorscale[0][1]
    with pytest.raises(ValueError, match="at least one field"):
        slice_figure({}, mask, coords, (0, 0, 0), limits=(0, 1))


def test_stenosis_figure_stacks_fields_over_the_line() -> None:
    case = stenosis_channel(16, 64, 2)
    f = case["fields"][0, 0]
    x, y = case["coords"]["x"][0], case["coords"]["y"][0]
    line_x = x.reshape(16, -1).mean(axis=1)
    fig = stenosis_figure(
        {"truth": f, "decoded": 0.5 * f},
        x,
        y,
        line_x,
        {"latent": np.sin(line_x), "marched": np.cos(line_x)},
        error=np.abs(0.5 * f),
        units={"field": "ω", "error": "|Δω|", "latent": "z"},
        title="t",
    )
    kinds = [t.type for t in fig.data]
    assert kinds == ["heatmap"] * 3 + ["scatter"] * 2
    assert fig.data[0].coloraxis == fig.data[1].coloraxis == "coloraxis"
    assert fig.data[2].coloraxis == "coloraxis2"
    lo, hi = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
    assert lo == -hi and hi > 0  # diverging, shared by truth and decoded
    assert fig.layout.coloraxis2.cmin == 0
    # one x axis for the fields and the line
    assert fig.data[0].xaxis != fig.data[3].xaxis
    assert fig.layout.xaxis4.matches is None and fig.layout.xaxis.matches == "x4"
    np.testing.assert_allclose(np.asarray(fig.data[3].x), line_x, rtol=1e-6)
    no_error = stenosis_figure({"truth": f}, x, y, line_x, {"z": np.sin(line_x)})
    assert [t.type for t in no_error.data] == ["heatmap", "scatter"]


def test_line_error_figure() -> None:
    fig = line_error_figure(np.arange(3), {"a": np.ones(3), "b": np.zeros(3)}, title="e")
    assert [t.name for t in fig.data] == ["a", "b"]


@pytest.mark.parametrize("n_rows", [1, 2, 3, 4])
def test_slice_figure_builds_for_the_truth_and_up_to_three_models(tube, n_rows: int) -> None:
    p, mask, coords = tube["p"], tube["mask"], tube["coords"]
    fields = {f"field {i}": (1.0 - 0.1 * i) * p for i in range(n_rows)}
    fig = slice_figure(fields, mask, coords, (5, 8, 8), limits=(-1.0, 1.0))
    domains = [
        d
        for name in fig.layout
        if name.startswith(("xaxis", "yaxis"))
        for d in fig.layout[name].domain
    ]
    assert len(domains) == 2 * 2 * 3 * n_rows and all(0.0 <= d <= 1.0 for d in domains)
