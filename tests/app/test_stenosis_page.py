"""AppTest of the stenosis page (2D → 1D) on a synthetic channel and tiny models."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

PAGE = "pages/stenosis.py"


def figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def texts(at: AppTest) -> str:
    parts = [el.value for kind in ("markdown", "caption", "info", "warning", "success")
             for el in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


@pytest.fixture()
def at(geometric_app: AppTest) -> AppTest:
    geometric_app.run()
    geometric_app.switch_page(PAGE).run()
    assert not geometric_app.exception, geometric_app.exception
    return geometric_app


def test_stenosis_page_shows_field_line_and_error(at: AppTest) -> None:
    selection = at.session_state["selection"]
    assert selection.benchmark == "stenosis2d" and selection.case_id == "stenosis2d_syn"
    assert at.selectbox(key="model_stenosis2d").options == ["DIANO", "CNO", "CNN-AE", "MLP-AE"]
    frame = figures(at)[0]
    kinds = [t["type"] for t in frame["data"]]
    # truth, decoded, |error|; the line and the centreline velocity it is read against
    assert kinds == ["heatmap"] * 3 + ["scatter"] * 2
    assert len(frame["data"][3]["x"]["bdata"] if isinstance(frame["data"][3]["x"], dict)
               else frame["data"][3]["x"]) > 0  # fmt: skip
    assert "0 step(s) marched from frame 0" in texts(at)
    assert "stable" in texts(at)
    at.slider(key="sn_t").set_value(5).run()
    assert not at.exception
    assert "frame 5" in figures(at)[0]["layout"]["title"]["text"]


def test_stepping_the_line_records_errors(at: AppTest) -> None:
    at.button(key="sn_step1").click().run()
    assert "1 step(s) marched" in texts(at)
    at.button(key="sn_step10").click().run()
    assert not at.exception
    assert "11 step(s) marched from frame 0" in texts(at)
    state = at.session_state["stenosis_march"]
    assert len(state.lines) == 12 and len(state.errors) == 12
    curve = figures(at)[-1]
    assert [t["name"] for t in curve["data"]] == [
        "latent-only march",
        "reconstruction of the same snapshot",
        "persistence (frame held)",
    ]
    march = figures(at)[1]
    names = [t.get("name") for t in march["data"] if t["type"] == "scatter"]
    assert names[0] == "marched line, step 11" and "encoded frame 11 (target)" in names
    at.button(key="sn_reset").click().run()
    assert "0 step(s) marched" in texts(at)


def test_knobs_restart_and_unstable_settings_block_stepping(at: AppTest) -> None:
    at.button(key="sn_step1").click().run()
    at.number_input(key="sn_nu").set_value(0.002).run()
    assert "0 step(s) marched" in texts(at)  # a new setting starts a new march
    at.number_input(key="sn_c").set_value(50.0).run()
    at.number_input(key="sn_dt").set_value(1.0).run()
    at.selectbox(key="sn_sub").set_value(1).run()
    assert not at.exception
    assert "Not marching" in texts(at)
    assert at.button(key="sn_step1").disabled
    at.selectbox(key="sn_sub").set_value("auto").run()
    assert not at.button(key="sn_step1").disabled
    at.selectbox(key="sn_bc").set_value("upwind").run()
    at.selectbox(key="sn_scheme").set_value("oucs2").run()
    at.button(key="sn_step1").click().run()
    assert not at.exception and "1 step(s) marched" in texts(at)


def test_two_d_pages_keep_their_own_sidebar(at: AppTest) -> None:
    at.switch_page("pages/explore.py").run()
    assert not at.exception
    selection = at.session_state["selection"]
    assert selection.benchmark == "cylinder2d"
    assert at.selectbox(key="benchmark").options == ["cylinder2d"]


def test_the_line_is_read_against_the_centreline_velocity(at: AppTest) -> None:
    frame = figures(at)[0]
    names = [t.get("name") for t in frame["data"] if t["type"] == "scatter"]
    assert names == [
        "latent line z(x), channel 0",
        "centreline velocity of the truth, fitted to the line",
    ]
    assert "the centreline velocity (correlation" in texts(at) and "phase line" in texts(at)
    at.button(key="sn_step1").click().run()
    march = figures(at)[1]
    names = [t.get("name") for t in march["data"] if t["type"] == "scatter"]
    assert "centreline velocity, frame 1, fitted to the marched line" in names
    assert "Marched 1 step(s), against the truth 1 snapshot(s) later" in texts(at)


def test_a_standing_line_is_shown_as_its_sum_and_keeps_its_profile(standing_dirs, make_app) -> None:
    at = make_app(*standing_dirs)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    frame = figures(at)[0]
    names = [t.get("name") for t in frame["data"] if t["type"] == "scatter"]
    assert names == [
        "the line z(x) = z₀ + z₁",
        "standing part z₀ (never marched)",
        "travelling part z₁ (marched)",
        "centreline velocity of the truth, fitted to the line",
    ]
    assert "it was trained to" in texts(at)
    at.button(key="sn_step10").click().run()
    assert not at.exception
    state = at.session_state["stenosis_march"]
    start, last = state.lines[0], state.lines[-1]
    assert start.shape[1] == 2
    assert (last[:, 0] == start[:, 0]).all() and not (last[:, 1] == start[:, 1]).all()
    assert "The standing part stays as encoded" in texts(at)
