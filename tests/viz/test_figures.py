"""Figure builders: trace types, shared colour limits, frames, compact payloads."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from diano.latent_edit import LatentGrid
from diano.viz import (
    Panel,
    compact,
    error_curve_figure,
    latent_vs_truth_figure,
    panel_figure,
    pipeline_figure,
    region_outline,
    saliency_figure,
    scrub_figure,
    spectrum_figure,
    symmetric_limits,
)

X = -2.0 + 8.0 / 64 * (np.arange(64) + 0.5)
Y = -4.0 + 8.0 / 64 * (np.arange(64) + 0.5)
GRID = LatentGrid.from_coords((8, 8), X, Y)
RNG = np.random.default_rng(0)


def _field(scale: float = 1.0, t: int | None = None) -> np.ndarray:
    shape = (64, 64) if t is None else (t, 64, 64)
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def test_panel_figure_shares_colour_limits_per_group() -> None:
    truth, pred = _field(1.0), _field(3.0)
    err = np.abs(truth - pred)
    fig = panel_figure(
        [
            Panel("truth", truth, X, Y),
            Panel("pred", pred, X, Y),
            Panel("|error|", err, X, Y, "error"),
        ],
        units={"field": "ω", "error": "|Δω|"},
    )
    assert [type(t) for t in fig.data] == [go.Heatmap] * 3
    assert fig.data[0].coloraxis == fig.data[1].coloraxis == "coloraxis"
    assert fig.data[2].coloraxis == "coloraxis2"
    field_axis, error_axis = fig.layout.coloraxis, fig.layout.coloraxis2
    # one symmetric range covering both fields, set by the larger one
    assert field_axis.cmin == -field_axis.cmax
    assert field_axis.cmax == pytest.approx(symmetric_limits([truth, pred])[1])
    assert field_axis.cmax > 2.0
    assert error_axis.cmin == 0 and error_axis.cmax > 0
    assert field_axis.colorbar.title.text == "ω"
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis2.scaleanchor == "x2"


def test_panel_figure_rejects_mismatched_coordinates() -> None:
    with pytest.raises(ValueError, match="does not match"):
        panel_figure([Panel("bad", _field(), X[:10], Y)])
    with pytest.raises(ValueError, match="unknown scale"):
        panel_figure([Panel("bad", _field(), X, Y, "rainbow")])


def test_compact_box_averages_and_keeps_float32() -> None:
    a = np.arange(128 * 128, dtype=np.float64).reshape(128, 128)
    small = compact(a, 64)
    assert small.dtype == np.float32 and small.shape == (64, 64)
    assert small[0, 0] == pytest.approx(a[:2, :2].mean())
    assert compact(a, None).shape == (128, 128)


def test_scrub_figure_has_one_frame_per_time_and_client_side_controls() -> None:
    n_t = 7
    truth, pred = _field(1.0, n_t), _field(1.0, n_t)
    latent = RNG.standard_normal((n_t, 8, 8)).astype(np.float32)
    yc, xc = GRID.centres()
    times = np.arange(n_t) * 0.05
    fig = scrub_figure(
        [
            Panel("truth", truth, X, Y),
            Panel("model", pred, X, Y),
            Panel("|error|", np.abs(truth - pred), X, Y, "error"),
            Panel("latent", latent, xc, yc, "latent"),
        ],
        times,
        {"diano": RNG.random(n_t), "persistence": RNG.random(n_t)},
        current=3,
        horizon=0.2,
        max_size=32,
    )
    assert len(fig.frames) == n_t
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 4
    assert heatmaps[0].z.shape == (32, 32)  # display size, float32
    assert heatmaps[3].z.shape == (8, 8)  # the latent is never down-sampled
    frame = fig.frames[3]
    # frames carry plain numbers, rounded to a thousandth of the colour range
    limit = fig.layout.coloraxis.cmax
    np.testing.assert_allclose(
        np.asarray(frame.data[0].z, dtype=float), compact(truth[3], 32), atol=limit / 1000
    )
    assert frame.data[-1].x == (pytest.approx(0.15),) * 2  # the time marker
    assert fig.layout.sliders[0].active == 3
    assert len(fig.layout.sliders[0].steps) == n_t
    assert fig.layout.sliders[0].steps[0].method == "animate"
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("play" in label for label in labels) and any("pause" in label for label in labels)
    names = [t.name for t in fig.data if isinstance(t, go.Scatter)]
    assert {"diano", "persistence"} <= set(names)
    dashes = {t.name: t.line.dash for t in fig.data if isinstance(t, go.Scatter) and t.line}
    assert dashes["persistence"] == "dash" and dashes["diano"] == "solid"
    # the error and latent groups keep their own colour axes
    assert heatmaps[2].coloraxis != heatmaps[0].coloraxis != heatmaps[3].coloraxis
    # shapes: the shaded region past the trained horizon
    assert any(s.x0 == pytest.approx(0.2) for s in fig.layout.shapes)
    # the first frame's arrays go as base64 float32; animation frames as JSON numbers,
    # which Streamlit's plotly.js can animate
    payload = json.loads(pio.to_json(fig, validate=False))
    assert payload["data"][0]["z"]["dtype"] == "f4"
    assert isinstance(payload["frames"][0]["data"][0]["z"], list)


def test_scrub_figure_checks_frame_counts() -> None:
    with pytest.raises(ValueError, match="animated panel"):
        scrub_figure([Panel("t", _field(1.0, 3), X, Y)], np.arange(4.0), {})


def test_error_curve_figure_marks_cursor_and_horizon() -> None:
    times = np.linspace(0, 1, 11)
    fig = error_curve_figure(
        times,
        {"diano": RNG.random(11), "time mean": RNG.random(11)},
        current=0.3,
        horizon=0.5,
        selectable=True,
    )
    assert [type(t) for t in fig.data] == [go.Scatter, go.Scatter]
    assert fig.data[0].mode == "lines+markers"
    assert list(fig.data[0].customdata) == list(range(11))
    xs = sorted(s.x0 for s in fig.layout.shapes)
    assert xs == [pytest.approx(0.3), pytest.approx(0.5), pytest.approx(0.5)]


def test_spectrum_figure_is_log_log_with_reference() -> None:
    k = np.arange(1, 9, dtype=float)
    fig = spectrum_figure({"latent": (k, k**-2.0), "truth": (k, k**-3.0)})
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert fig.data[-1].name == "k^-3"
    assert sum(fig.data[0].y) == pytest.approx(1.0, rel=1e-5)


def test_region_outline_bounds_the_true_cells() -> None:
    region = np.zeros((8, 8), bool)
    region[2:4, 5:] = True
    box = region_outline(region, GRID)
    assert box == pytest.approx({"x0": 3.0, "x1": 6.0, "y0": -2.0, "y1": 0.0})
    assert region_outline(np.zeros((8, 8), bool), GRID) is None


def test_pipeline_saliency_and_latent_vs_truth_figures() -> None:
    z = RNG.standard_normal((8, 8)).astype(np.float32)
    fig = pipeline_figure(_field(), z, z, _field(), X, Y, GRID)
    assert len(fig.data) == 4
    assert [t.coloraxis for t in fig.data] == ["coloraxis", "coloraxis2", "coloraxis2", "coloraxis"]
    assert {a.text for a in fig.layout.annotations} >= {"<b>→ encoder →</b>", "<b>→ decoder →</b>"}
    fig = saliency_figure(_field(), X, Y, np.abs(z), GRID, (1.0, 0.5))
    assert [type(t).__name__ for t in fig.data] == ["Heatmap", "Heatmap", "Scatter", "Scatter"]
    assert fig.layout.coloraxis2.cmin == 0
    region = np.ones((8, 8), bool)
    fig = latent_vs_truth_figure(z, 5 * z, GRID, region=region, correlation=0.93)
    assert "0.93" in fig.layout.title.text
    # each on its own colour scale: the latent's limits are five times the truth's
    assert fig.layout.coloraxis2.cmax == pytest.approx(5 * fig.layout.coloraxis.cmax, rel=1e-5)
    assert len(fig.layout.shapes) == 2


def test_colour_scales_avoid_streamlit_placeholder_colours() -> None:
    from diano.viz.style import ERROR_SCALE, FIELD_SCALE, LATENT_SCALE, SALIENCY_SCALE

    placeholders = {f"#0000{i:02d}" for i in range(1, 31)}
    for scale in (ERROR_SCALE, FIELD_SCALE, LATENT_SCALE, SALIENCY_SCALE):
        assert all(colour.lower() not in placeholders for _, colour in scale)
    assert ERROR_SCALE[0][1] == "#010004"  # Inferno's black, nudged
