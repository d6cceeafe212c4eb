"""AppTest for every page: widgets driven by key, figures present, no exception raised."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import REPO, canvas_notes, canvas_specs, editor_action, figure_titles
from streamlit.testing.v1 import AppTest

from diano.latent_edit import AddLatent, FourierFilter, GaussianBump, SetRegion

PAGES = {
    "explore": "pages/explore.py",
    "editor": "pages/latent_editor.py",
    "playground": "pages/playground.py",
    "compare": "pages/compare.py",
}


def figures(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as their JSON specs."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def titles(at: AppTest) -> list[str]:
    return figure_titles(at)


def texts(at: AppTest) -> str:
    parts = [el.value for kind in ("markdown", "caption", "info", "warning", "success")
             for el in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def test_overview_draws_pipeline_and_model_card(app: AppTest) -> None:
    figs = figures(app)
    assert len(figs) == 1
    traces = figs[0]["data"]
    assert [t["type"] for t in traces] == ["heatmap"] * 4
    assert len(app.table) == 1
    card = app.table[0].value
    assert "compression ratio" in card.index and "checkpoint sha256" in card.index
    assert "trained rollout horizon" in card.index
    assert card.loc["network", "value"].startswith("FNO encoder and decoder")
    app.slider(key="overview_t").set_value(5).run()
    assert not app.exception and len(figures(app)) == 1
    assert not app.error


def test_sidebar_switches_model_and_case(app: AppTest) -> None:
    assert app.selectbox(key="case").options == ["Re 180 (held out)", "Re 225 (held out)"]
    app.selectbox(key="model").set_value("cnn_ae").run()
    app.selectbox(key="case").set_value("cylinder2d_re225").run()
    assert not app.exception
    assert app.session_state["selection"].model == "cnn_ae"
    assert app.session_state["selection"].case_id == "cylinder2d_re225"
    assert len(figures(app)) == 1


def test_explore_animates_every_mode(app: AppTest) -> None:
    at = goto(app, "explore")
    fig = figures(at)[0]
    assert len(fig["frames"]) == 21  # a 20-step window and its start (24 snapshots)
    assert fig["layout"]["sliders"][0]["steps"][0]["method"] == "animate"
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 5  # truth, prediction, |error|, pooled truth, latent
    names = {t.get("name") for t in fig["data"] if t["type"] == "scatter"}
    assert {"reconstruction", "latent-only rollout", "persistence", "time mean"} <= names
    for mode in ("latent", "reencoded"):
        at.radio(key="explore_mode").set_value(mode).run()
        assert not at.exception
    at.slider(key="explore_start").set_value(4).run()
    assert not at.exception
    fig = figures(at)[0]
    # the fixture's trained horizon (20 steps) lies past this 10-step window: no shading
    assert len(at.dataframe) == 1
    assert "latent-only rollout" in at.dataframe[0].value.index


def buttons(at: AppTest) -> dict[str, dict]:
    """The grid view's buttons by id."""
    return {b["id"]: b for b in canvas_specs(at)[0]["buttons"]}


def test_latent_editor_apply_undo_redo_reset(app: AppTest) -> None:
    at = goto(app, "editor")
    assert any("0 edit(s) in effect" in t for t in titles(at))
    kinds = [spec["kind"] for spec in canvas_specs(at)]
    assert kinds == ["grid", "panels"]
    assert [p["title"] for p in canvas_specs(at)[1]["panels"]] == [
        "before (encoded truth)",
        "after the edits",
        "difference after − before",
    ]
    assert {k: b["enabled"] for k, b in buttons(at).items()} == {
        "apply": True, "undo": False, "redo": False, "reset": True, "clear": False
    }  # fmt: skip
    at.slider(key="bump_a").set_value(2.0).run()
    editor_action(at, "apply")
    assert not at.exception
    state = at.session_state["editor"]
    assert isinstance(state.history.applied[0], GaussianBump)
    assert any("1 edit(s) in effect" in t for t in titles(at))
    assert any(n.startswith("edits in effect: bump") for n in canvas_notes(at))
    assert buttons(at)["undo"]["enabled"] and not buttons(at)["redo"]["enabled"]
    at.run()  # the view reports the same event again: the edit is not applied twice
    assert len(at.session_state["editor"].history.applied) == 1
    editor_action(at, "undo")
    assert at.session_state["editor"].history.applied == ()
    editor_action(at, "redo")
    assert len(at.session_state["editor"].history.applied) == 1
    at.radio(key="editor_tool").set_value("Fourier modes").run()
    at.radio(key="fourier_action").set_value("zero").run()
    editor_action(at, "apply")
    assert isinstance(at.session_state["editor"].history.applied[-1], FourierFilter)
    editor_action(at, "reset")
    assert at.session_state["editor"].history.applied == ()
    assert not at.exception


def test_latent_editor_region_tools_use_the_selection(app: AppTest) -> None:
    at = goto(app, "editor")
    at.radio(key="editor_tool").set_value("set region").run()
    assert "select cells on the latent grid first" in " ".join(canvas_notes(at))
    assert not buttons(at)["apply"]["enabled"]
    at.session_state["editor"].selected = ((0, 0), (1, 1))
    at.run()
    at.slider(key="set_value").set_value(1.5).run()
    editor_action(at, "apply")
    edit = at.session_state["editor"].history.applied[-1]
    assert isinstance(edit, SetRegion) and edit.cells == ((0, 0), (1, 1))
    at.toggle(key="preview").set_value(True).run()
    assert any("previewing the tool" in t for t in titles(at))
    assert not at.exception


def test_latent_editor_saliency_vortex_and_readability(app: AppTest) -> None:
    at = goto(app, "editor")
    at.slider(key="probe_x").set_value(2.0).run()
    assert not at.exception
    names = [t.get("name") for fig in figures(at) for t in fig["data"]]
    assert "|∂u(probe) / ∂z| on the latent grid" in names
    assert "latent change Δz" in names
    assert "latent z (own colour scale)" in names
    assert "correlation of the latent with the box-averaged truth" in texts(at)
    at.slider(key="vortex_gamma").set_value(-4.0).run()
    at.button(key="vortex_adopt").click().run()
    assert not at.exception
    edit = at.session_state["editor"].history.applied[-1]
    assert isinstance(edit, AddLatent) and "vortex" in edit.describe()


def test_edits_never_change_the_shared_model(app: AppTest) -> None:
    from diano.ui.cache import load_model

    sel = app.session_state["selection"]
    before = {
        k: v.clone() for k, v in load_model(sel.benchmark, "diano").model.state_dict().items()
    }
    at = goto(app, "editor")
    editor_action(at, "apply")
    at.slider(key="probe_y").set_value(1.0).run()
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    other.run()
    other.switch_page(PAGES["editor"]).run()
    assert other.session_state["editor"].history.applied == ()  # another session's edits
    after = load_model(sel.benchmark, "diano").model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in load_model(sel.benchmark, "diano").model.parameters())


def test_playground_steps_forks_and_warns(app: AppTest) -> None:
    at = goto(app, "playground")
    assert "0 step(s) marched" in texts(at)
    at.button(key="pg_step10").click().run()
    assert not at.exception
    assert "10 step(s) marched" in texts(at)
    state = at.session_state["playground"]
    assert set(state.forks) == {"A", "B"} and len(state.forks["A"].latents) == 11
    assert len(state.forks["A"].errors) == 11
    fig_names = [t.get("name") for fig in figures(at) for t in fig["data"]]
    assert {"persistence", "time mean", "latent A", "latent B"} <= set(fig_names)
    at.radio(key="pg_fork").set_value("same latent, other ν and velocity").run()
    at.number_input(key="pg_cx_b").set_value(1.0).run()
    at.button(key="pg_step1").click().run()
    assert not at.exception and "1 step(s) marched" in texts(at)
    # an unstable fixed sub-step count: a clear warning, nothing marches, no exception
    at.selectbox(key="pg_sub").set_value(1).run()
    at.number_input(key="pg_cx").set_value(20.0).run()
    at.number_input(key="pg_dt").set_value(0.5).run()
    assert any("Not marching" in w.value for w in at.warning)
    assert at.button(key="pg_step1").disabled
    assert not at.exception


def test_playground_play_switch_marches_and_stops(app: AppTest) -> None:
    at = goto(app, "playground")
    at.toggle(key="pg_playing").set_value(True).run()
    assert not at.exception
    assert "2 step(s) marched" in texts(at)  # one timed run happened with the page's run
    at.toggle(key="pg_playing").set_value(False).run()
    assert "2 step(s) marched" in texts(at)  # switched off: no step
    # reset while playing stops the play and drops the march
    at.toggle(key="pg_playing").set_value(True).run()
    at.button(key="pg_reset").click().run()
    assert not at.exception
    assert at.toggle(key="pg_playing").value is False
    assert "0 step(s) marched" in texts(at)


def test_pages_work_on_a_carrier_latent(carrier_dirs, make_app) -> None:
    """A two-channel carrier latent: the playground marches it with the model's own solver
    by default (the x boundary reads "carrier"), the editor edits and reads the decoded
    field channel and says where marching resets it."""
    at = make_app(*carrier_dirs)
    at.run()
    at = goto(at, "playground")
    assert at.selectbox(key="pg_bx").value == "carrier"
    assert "carrier" in at.selectbox(key="pg_bx").options
    assert any("Carrier latent" in c.value for c in at.caption)
    # the model's learned local rate is on by default; off, the march is the pure PDE
    assert at.checkbox(key="pg_learned").value is True
    at.button(key="pg_step1").click().run()
    with_rate = at.session_state["playground"].forks["A"].latents[-1].clone()
    at.button(key="pg_reset").click().run()
    at.checkbox(key="pg_learned").uncheck().run()
    at.button(key="pg_step1").click().run()
    assert not torch.equal(at.session_state["playground"].forks["A"].latents[-1], with_rate)
    at.checkbox(key="pg_learned").check().run()
    at.button(key="pg_reset").click().run()
    at.button(key="pg_step10").click().run()
    assert not at.exception and "10 step(s) marched" in texts(at)
    latents = at.session_state["playground"].forks["A"].latents
    assert tuple(latents[0].shape) == (1, 2, 8, 8)
    assert any("first marched step also sets the field" in c.value for c in at.caption)
    assert torch.all(latents[-1][0, 0, :, :1] == 0)  # nothing upstream of the source
    # against the flow, the carrier cannot march: a warning, no exception
    at.number_input(key="pg_cx").set_value(-1.0).run()
    assert not at.exception and any("Not marching" in w.value for w in at.warning)
    # another x boundary marches both channels as a plain latent
    at.number_input(key="pg_cx").set_value(1.0).run()
    at.selectbox(key="pg_bx").set_value("periodic").run()
    # the rate belongs to the carrier's field: no switch for it here
    assert "pg_learned" not in [getattr(c, "key", None) for c in at.checkbox]
    at.button(key="pg_step1").click().run()
    assert not at.exception and "1 step(s) marched" in texts(at)
    at = goto(at, "editor")
    assert any("carrier latent: you edit the decoded field" in n for n in canvas_notes(at))
    editor_action(at, "apply")
    assert not at.exception
    at = goto(at, "playground")
    at.selectbox(key="pg_bx").set_value("carrier").run()
    at.button(key="pg_step1").click().run()
    forks = at.session_state["playground"].forks
    assert forks["B"].label == "B: edited latent" and not at.exception


def test_playground_marches_the_edited_latent(app: AppTest) -> None:
    at = goto(app, "editor")
    editor_action(at, "apply")
    at = goto(at, "playground")
    at.button(key="pg_step1").click().run()
    forks = at.session_state["playground"].forks
    assert forks["B"].label == "B: edited latent"
    assert not torch.equal(forks["A"].latents[0], forks["B"].latents[0])


def test_compare_drives_every_model(app: AppTest) -> None:
    at = goto(app, "compare")
    figs = figures(at)
    assert len(figs) == 3
    assert len([t for t in figs[0]["data"] if t["type"] == "heatmap"]) == 5
    assert len([t for t in figs[1]["data"] if t["type"] == "heatmap"]) == 4
    table = at.dataframe[0].value
    assert list(table.index) == ["DIANO", "CNO", "CNN-AE", "MLP-AE"]
    assert {"rel-L2 (mean)", "MSE (mean)", "parameters", "encode+decode (ms)"} <= set(table)
    at.slider(key="compare_t").set_value(3).run()
    at.radio(key="compare_mode").set_value("latent").run()
    assert not at.exception


@pytest.mark.parametrize("page", ["explore", "editor", "playground", "compare"])
def test_pages_explain_a_missing_checkpoint(app_env, tmp_path, monkeypatch, page: str) -> None:
    monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert "no trained checkpoint for diano on cylinder2d yet" in texts(at)
    goto(at, page)
    assert "no trained checkpoint" in texts(at)
    assert not at.error


def test_missing_samples_are_a_message(app_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DIANO_SAMPLES_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert "no committed samples for 'cylinder2d'" in "\n".join(w.value for w in at.sidebar.warning)
    assert "no sample data for cylinder2d" in texts(at)
    for page in PAGES:
        goto(at, page)


def test_live_editor_decodes_on_a_coarser_grid_unless_full() -> None:
    import numpy as np

    from diano.data import FlowData
    from diano.ui.editor import LIVE_GRID, output_grid

    n = 128
    x = -2.0 + 8.0 / n * (np.arange(n) + 0.5)
    case = FlowData(
        fields=np.zeros((2, 1, n, n), np.float32),
        channels=("vorticity",),
        mask=np.ones((n, n), bool),
        coords={"t": np.arange(2.0), "x": x, "y": x - 2.0},
        units={"t": "D/U", "x": "D", "y": "D"},
    )
    shape, (xc, yc) = output_grid(case, full=False)
    assert shape == (LIVE_GRID, LIVE_GRID) and len(xc) == LIVE_GRID
    # the same box: the coarse cells' centres sit between pairs of fine ones
    assert xc[0] == pytest.approx((x[0] + x[1]) / 2)
    assert yc[-1] == pytest.approx((x[-2] + x[-1]) / 2 - 2.0)
    shape, (xf, _) = output_grid(case, full=True)
    assert shape == (n, n) and np.array_equal(xf, x)


def test_a_failure_inside_a_fragment_is_a_message(app: AppTest, monkeypatch) -> None:
    """Fragments rerun outside the page's guard blocks; each carries its own."""
    from diano.ui import editor

    def broken(*args, **kwargs):
        raise RuntimeError("broken grid")

    monkeypatch.setattr(editor, "latent_grid", broken)
    at = goto(app, "editor")
    errors = "\n".join(e.value for e in at.error)
    assert "the latent editor failed (RuntimeError: broken grid)" in errors
    assert "the saliency view failed" in errors and "the vortex view failed" in errors


def test_case_labels_name_the_case_where_re_does_not() -> None:
    from diano.ui.cache import CaseEntry

    assert CaseEntry("cylinder2d_re180", 180.0, "heldout", 301).label == "Re 180 (held out)"
    assert CaseEntry("coronary3d_0182", 30.18, "heldout", 1).label == "0182 · Re 30.2 (held out)"
    assert CaseEntry("stenosis2d_s45_re110", 110.0, "train", 100).label == "s45_re110 · Re 110"
    assert CaseEntry("mine", None, None, 3).label == "mine"


def test_latent_editor_takes_new_grid_selections_only(app: AppTest) -> None:
    at = goto(app, "editor")
    # the grid view reports {"cells", "event"}; a new event replaces the selection
    at.session_state["editor_grid"] = {"cells": [[0, 0]], "event": 3}
    at.run()
    assert at.session_state["editor"].selected == ((0, 0),)
    # another frame makes a new editor state, which does not take the old event
    at.slider(key="editor_t").set_value(1).run()
    assert at.session_state["editor"].selected == ()
    at.session_state["editor_grid"] = {"cells": [[2, 1], [0, 0], [99, 0]], "event": 4}
    at.run()
    assert at.session_state["editor"].selected == ((0, 0), (2, 1))  # sorted, off-grid dropped
    assert canvas_specs(at)[0]["selected"] == [[0, 0], [2, 1]]
    editor_action(at, "clear")
    assert at.session_state["editor"].selected == ()
    at.run()  # the view still reports event 4: the cleared selection stays cleared
    assert at.session_state["editor"].selected == ()
    assert not at.exception
