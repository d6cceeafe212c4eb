"""AppTest of the inverse-edit & resolution page: run, apply to the editor and the
playground, discard, every model, and the error table with a fine reference."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import REPO, canvas_notes
from streamlit.testing.v1 import AppTest

from diano.data.generators.samples import fine_reference_path
from diano.data.io import write_case
from diano.explore.vortex import vortex_street
from diano.latent_edit import AddLatent

PAGE = "pages/inverse.py"


def figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def goto(at: AppTest, page: str = PAGE) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def run_edit(at: AppTest, iterations: int = 5) -> AppTest:
    at.slider(key="inv_iters").set_value(iterations).run()
    at.button(key="inv_run").click().run()
    assert not at.exception, at.exception
    return at


def test_page_draws_region_picker_and_resolutions(app: AppTest) -> None:
    at = goto(app)
    assert not at.error
    titles = [f["layout"].get("title", {}) for f in figures(at)]
    texts = [t.get("text", "") for t in titles if isinstance(t, dict)]
    assert any("decoded from one latent" in t for t in texts)
    region = figures(at)[0]
    assert [t["type"] for t in region["data"]] == ["heatmap", "scatter"]
    assert region["layout"]["dragmode"] == "select"
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert set(table["model"]) >= {"DIANO", "CNN-AE"}
    assert set(table["factor"]) == {"0.5×", "1×", "2×"}


def test_latent_edit_runs_and_applies_to_the_editor(app: AppTest) -> None:
    at = goto(app)
    at.slider(key="inv_x").set_value((0.5, 3.0)).run()
    at.slider(key="inv_value").set_value(1.0).run()
    run_edit(at, 10)
    state = at.session_state["inverse"]
    assert [s.iteration for s in state.steps] == list(range(11))
    assert state.steps[-1].loss < state.steps[0].loss
    assert any("objective" in str(el.value) for el in at.info)
    assert any("result" in str(f["layout"].get("title", {})) for f in figures(at))
    at.button(key="inv_apply").click().run()
    assert not at.exception, at.exception
    edits = at.session_state["editor"].history.applied
    assert len(edits) == 1 and isinstance(edits[0], AddLatent)
    assert "inverse edit" in edits[0].describe()
    assert any("Applied" in str(el.value) for el in at.success)
    # the editor shows it; the next inverse edit starts from the edited latent
    goto(at, "pages/latent_editor.py")
    assert any("edits in effect: inverse edit" in note for note in canvas_notes(at))
    goto(at)
    assert any("latent editor's latent" in str(el.value) for el in at.caption)


def test_truth_target_and_discard(app: AppTest) -> None:
    at = goto(app)
    at.radio(key="inv_target").set_value("truth at another frame").run()
    at.slider(key="inv_frame").set_value(6).run()
    at.number_input(key="inv_n_latent").set_value(2).run()
    run_edit(at)
    assert at.session_state["inverse"].request["target"] == "the truth at frame 6"
    at.button(key="inv_discard").click().run()
    assert not at.exception, at.exception
    assert at.session_state["inverse"].steps == []


def test_pde_edit_applies_to_the_playground(app: AppTest) -> None:
    at = goto(app)
    at.number_input(key="inv_n_latent").set_value(0).run()
    at.radio(key="inv_variable").set_value("pde").run()
    assert not at.exception, at.exception
    assert at.number_input(key="inv_n_pde").value == 10
    at.number_input(key="inv_n_pde").set_value(3).run()
    at.radio(key="inv_target").set_value("truth at another frame").run()
    run_edit(at, 5)
    state = at.session_state["inverse"]
    last = state.steps[-1]
    assert last.nu is not None and last.velocity is not None
    # the result is the start latent marched with the new settings, not the old ones
    from diano.ui.cache import load_model
    from diano.ui.inverse import _marched

    sel = at.session_state["selection"]
    model = load_model(sel.benchmark, sel.model, sel.device).model
    before, after = _marched(model, state, state.request["config"], last)
    assert not torch.allclose(before, after)
    at.button(key="inv_apply").click().run()
    assert not at.exception, at.exception
    goto(at, "pages/playground.py")
    assert at.number_input(key="pg_nu").value == pytest.approx(last.nu)
    assert at.number_input(key="pg_cx").value == pytest.approx(last.velocity[0])


def test_model_weights_stay_unchanged(app: AppTest) -> None:
    at = goto(app)
    from diano.ui.cache import load_model

    sel = at.session_state["selection"]
    model = load_model(sel.benchmark, sel.model, sel.device).model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run_edit(at)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", ["cnn_ae", "mlp_ae"])
def test_baselines_edit_their_latent(app: AppTest, name: str) -> None:
    app.selectbox(key="model").set_value(name).run()
    at = goto(app)
    assert [o for o in at.radio(key="inv_variable").options] == ["the latent"]
    run_edit(at, 5)
    assert len(at.session_state["inverse"].steps) == 6
    if name == "mlp_ae":  # a vector latent cannot go to the grid editor
        assert at.button(key="inv_apply").disabled


def test_error_table_uses_a_fine_reference(app_env, tmp_path, monkeypatch) -> None:
    _, samples = app_env
    ours = tmp_path / "samples"
    shutil.copytree(samples, ours)
    case = vortex_street(n=64, n_times=4, re=180.0)
    case["fields"], case["channels"] = case["fields"][:, :1], ["vorticity"]
    case["coords"] = {k: (np.asarray(v[0]), v[1]) for k, v in case["coords"].items()}
    write_case(fine_reference_path("cylinder2d_re180", ours), **case)
    monkeypatch.setenv("DIANO_SAMPLES_DIR", str(ours))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    goto(at)
    table = at.dataframe[0].value
    assert "64×64 fine reference" in set(table["against"])
    assert "truth, interpolated" in set(table["model"])
    fine_rows = table[(table["model"] == "DIANO") & (table["factor"] == "2×")]
    assert np.isfinite(fine_rows["rel. L2 error"].iloc[0])
    # at a frame the fine reference does not cover there is no 2× error, and a note says why
    at.slider(key="inv_t").set_value(10).run()
    assert not at.exception, at.exception
    assert any("No finer truth" in str(el.value) for el in at.info)


def test_unstable_playground_settings_are_a_message(app: AppTest) -> None:
    at = goto(app)
    # the playground's knobs, as a person left them: far past the CFL limit
    at.session_state["pg_nu"], at.session_state["pg_cx"], at.session_state["pg_cy"] = (
        1e-4,
        500.0,
        0.0,
    )
    at.radio(key="inv_variable").set_value("pde").run()
    run_edit(at, 5)
    assert not at.exception, at.exception
    assert any("unstable" in str(el.value) and "CFL" in str(el.value) for el in at.warning)
