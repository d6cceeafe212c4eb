"""Specs of the canvas view: 16-bit encoding, shared colour limits, the latent grid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diano.latent_edit import LatentGrid
from diano.viz import Panel
from diano.viz.canvas import (
    MISSING,
    decode_array,
    encode_array,
    grid_spec,
    panels_spec,
    views_spec,
)
from diano.viz.fields import group_limits
from diano.viz.style import LATENT_SCALE

X = -2.0 + 8.0 / 64 * (np.arange(64) + 0.5)
Y = -4.0 + 8.0 / 64 * (np.arange(64) + 0.5)
GRID = LatentGrid.from_coords((8, 8), X, Y)
RNG = np.random.default_rng(1)


def test_encoding_round_trips_within_its_resolution_and_keeps_missing_values() -> None:
    values = RNG.standard_normal((16, 24)) * 30.0
    values[3, 4] = np.nan
    values[5, 6] = np.inf
    enc = encode_array(values)
    back = decode_array(enc)
    assert back.shape == (16, 24) and back.dtype == np.float32
    assert np.isnan(back[3, 4]) and np.isnan(back[5, 6])
    finite = np.isfinite(values)
    span = values[finite].max() - values[finite].min()
    assert np.abs(back[finite] - values[finite]).max() <= span / 65534 * 0.51 + 1e-5 * span
    # the extremes are exact codes
    assert back[finite].min() == pytest.approx(values[finite].min(), rel=1e-6)
    assert back[finite].max() == pytest.approx(values[finite].max(), rel=1e-6)


def test_constant_and_empty_arrays_encode() -> None:
    assert np.all(decode_array(encode_array(np.full((3, 3), 2.5))) == 2.5)
    assert np.isnan(decode_array(encode_array(np.full((2, 2), np.nan)))).all()
    codes = np.frombuffer(
        __import__("base64").b64decode(encode_array(np.full((2, 2), np.nan))["b64"]), "<u2"
    )
    assert (codes == MISSING).all()
    with pytest.raises(ValueError, match="2D"):
        encode_array(np.zeros(4))


def test_panels_spec_shares_limits_per_group_and_is_compact() -> None:
    field = RNG.standard_normal((128, 128)).astype(np.float32)
    x = np.linspace(-2, 6, 128)
    y = np.linspace(-4, 4, 128)
    panels = [
        Panel("truth", field, x, y),
        Panel("model", 2 * field, x, y),
        Panel("|error|", np.abs(field), x, y, "error"),
    ]
    spec = panels_spec(panels, units={"field": "ω"}, title="t = 3", max_size=64)
    assert spec["kind"] == "panels" and spec["title"] == "t = 3"
    assert set(spec["groups"]) == {"field", "error"}
    field_group = spec["groups"]["field"]
    assert (field_group["vmin"], field_group["vmax"]) == pytest.approx(
        group_limits(panels, "field")
    )
    assert field_group["vmin"] == -field_group["vmax"]
    assert spec["groups"]["error"]["vmin"] == 0.0
    assert field_group["label"] == "ω" and spec["groups"]["error"]["label"] == "error"
    # box-averaged to the display size, on the same physical box
    assert spec["panels"][0]["data"]["shape"] == [64, 64]
    assert spec["panels"][0]["x"][0] == pytest.approx(x[0] - (x[1] - x[0]) / 2, abs=1e-5)
    assert spec["panels"][0]["x"][1] == pytest.approx(x[-1] + (x[1] - x[0]) / 2, abs=1e-5)
    shown = decode_array(spec["panels"][1]["data"])
    expected = (2 * field).reshape(64, 2, 64, 2).mean(axis=(1, 3))
    assert np.allclose(shown, expected, atol=1e-3)
    # JSON all the way, and small: 2 bytes a value in base64
    text = json.dumps(spec)
    assert len(text) < 3 * 64 * 64 * 2 * 4 / 3 + 4000
    with pytest.raises(ValueError, match="scale"):
        panels_spec([Panel("bad", field, x, y, "nonsense")])
    with pytest.raises(ValueError, match="2D data"):
        panels_spec([Panel("animated", np.zeros((2, 128, 128)), x, y)])


def test_grid_spec_lays_out_the_latent_with_selection_region_and_markers() -> None:
    latent = RNG.standard_normal((8, 8)).astype(np.float32)
    region = np.zeros((8, 8), bool)
    region[:, 3:] = True
    spec = grid_spec(
        latent, GRID, selected=[(1, 2), (9, 9)], region=region, markers={"bump": (0.5, 1.0)}
    )
    assert spec["kind"] == "grid"
    assert spec["selected"] == [[1, 2]]  # cells off the grid are dropped
    assert spec["region"]["x0"] == pytest.approx(GRID.x_range[0] + 3 * GRID.spacing[1])
    assert spec["markers"] == [{"label": "bump", "x": 0.5, "y": 1.0}]
    assert spec["panels"][0]["x"] == pytest.approx(list(GRID.x_range))
    assert spec["panels"][0]["y"] == pytest.approx(list(GRID.y_range))
    assert np.allclose(decode_array(spec["panels"][0]["data"]), latent, atol=1e-4)
    group = spec["groups"]["latent"]
    assert group["vmin"] == -group["vmax"] == pytest.approx(-np.abs(latent).max())
    assert group["stops"][0] == [float(LATENT_SCALE[0][0]), LATENT_SCALE[0][1]]
    assert grid_spec(latent, GRID, region=np.ones((8, 8), bool))["region"] is None
    assert grid_spec(latent, GRID, limits=(-3, 3))["groups"]["latent"]["vmax"] == 3
    with pytest.raises(ValueError, match="does not match"):
        grid_spec(latent[:4], GRID)


def test_grid_spec_carries_its_buttons_and_notes() -> None:
    from diano.viz.canvas import Button

    latent = RNG.standard_normal(GRID.shape)
    spec = grid_spec(
        latent,
        GRID,
        buttons=[Button("apply", "apply", primary=True), Button("undo", "undo", enabled=False)],
        notes=["2 cell(s) selected"],
    )
    assert spec["buttons"] == [
        {"id": "apply", "label": "apply", "enabled": True, "primary": True},
        {"id": "undo", "label": "undo", "enabled": False, "primary": False},
    ]
    assert spec["notes"] == ["2 cell(s) selected"]
    json.dumps(spec)
    # "select" is the grid's own action; ids must tell the buttons apart
    for bad in ([Button("select", "x")], [Button("a", "x"), Button("a", "y")]):
        with pytest.raises(ValueError, match="unique"):
            grid_spec(latent, GRID, buttons=bad)
    x = np.linspace(-2, 6, 16)
    row = panels_spec([Panel("f", np.zeros((16, 16)), x, x)], notes=["shared scale"])
    assert row["notes"] == ["shared scale"]


def test_views_spec_puts_views_side_by_side_with_one_grid_at_most() -> None:
    x = np.linspace(-2, 6, 16)
    row = panels_spec([Panel("f", np.zeros((16, 16)), x, x)])
    grid = grid_spec(RNG.standard_normal(GRID.shape), GRID)
    spec = views_spec([grid, row], widths=[1, 1.8])
    assert spec["kind"] == "views" and spec["widths"] == [1.0, 1.8]
    assert [v["kind"] for v in spec["views"]] == ["grid", "panels"]
    assert views_spec([row, row])["widths"] == [1.0, 1.0]
    with pytest.raises(ValueError, match="one grid"):
        views_spec([grid, grid])
    with pytest.raises(ValueError, match="width"):
        views_spec([grid, row], widths=[1])
    with pytest.raises(ValueError, match="width"):
        views_spec([])
    with pytest.raises(ValueError, match="panels_spec or grid_spec"):
        views_spec([spec])
