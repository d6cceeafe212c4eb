"""AppTest of the 3D vessel page (coronary3d) on a synthetic 32³ vessel and tiny models."""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
from streamlit.testing.v1 import AppTest

PAGE = "pages/vessel3d.py"


def figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def values(array) -> np.ndarray:
    """A plotly array from figure JSON (a list or a base64 typed array)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def texts(at: AppTest) -> str:
    parts = [el.value for kind in ("markdown", "caption", "info", "warning", "success")
             for el in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def open_page(at: AppTest) -> AppTest:
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_vessel_page_shows_every_model_in_linked_views(geometric_app, scenes) -> None:
    at = open_page(geometric_app)
    selection = at.session_state["selection"]
    assert selection.benchmark == "coronary3d" and selection.case_id == "coronary3d_syn"
    assert at.selectbox(key="model_coronary3d").options == ["DIANO", "CNO", "CNN-AE"]
    labels = [m.label for m in at.metric]
    assert {"DIANO rel. L2 of p", "CNO rel. L2 of p", "CNN-AE rel. L2 of p"} <= set(labels)
    assert "latent fluid nodes" in labels
    assert [s["key"] for s in scenes] == ["v3_scene", "v3_latent_scene"]
    assert scenes[0]["views"] == 4 and scenes[1]["views"] == 2  # truth + 3 models; lattice, p
    slices = figures(at)[0]
    assert len([t for t in slices["data"] if t["type"] == "heatmap"]) == 4 * 3
    assert "Down-sampled" not in texts(at)
    assert "Poisson solve: cg" in texts(at)


def test_switching_the_case_redraws_the_vessel(geometric_app, scenes) -> None:
    at = open_page(geometric_app)
    case = at.selectbox(key="case_coronary3d")
    assert case.options == ["syn · Re 60 (held out)", "syn_b · Re 80 (held out)"]
    before = at.metric[1].value
    case.set_value("coronary3d_syn_b").run()
    assert not at.exception and not at.error
    assert at.session_state["selection"].case_id == "coronary3d_syn_b"
    assert at.metric[1].value != before
    assert scenes[-1]["scene_key"][0] == "latent" and "coronary3d_syn_b" in scenes[-1]["scene_key"]


def test_resolution_slices_and_error_view(geometric_app, scenes) -> None:
    at = open_page(geometric_app)
    at.selectbox(key="v3_res").set_value(16).run()
    assert not at.exception
    assert "Down-sampled for display: shown at 16³" in texts(at)
    slices = figures(at)[0]
    first = next(t for t in slices["data"] if t["type"] == "heatmap")
    assert len(values(first["x"])) == 16
    before = len(scenes)
    at.slider(key="v3_sx").set_value(at.slider(key="v3_sx").max).run()
    at.slider(key="v3_iso").set_value(0).run()
    at.selectbox(key="v3_vec").set_value("streamlines").run()
    at.multiselect(key="v3_models").set_value(["diano"]).run()
    assert not at.exception and not at.error
    assert len(scenes) > before and scenes[-1]["views"] in (2, 1)
    at.radio(key="v3_kind").set_value("|error|").run()
    assert not at.exception
    err = figures(at)[0]
    assert err["layout"]["coloraxis"]["cmin"] == 0


def test_vessel_page_without_checkpoints_says_how_to_train(
    geometric_dirs, tmp_path, make_app, scenes
) -> None:
    checkpoints, samples = geometric_dirs
    empty = tmp_path / "checkpoints"
    empty.mkdir()
    shutil.copy(checkpoints / "manifest.json", empty / "manifest.json")
    at = make_app(empty, samples)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    info = texts(at)
    assert "no trained checkpoint for diano on coronary3d yet" in info
    assert "diano train coronary3d diano" in info
    assert "Only the truth is shown" in info
    assert scenes and scenes[0]["views"] == 1  # the truth alone


def test_vessel_page_without_data_says_how_to_make_it(geometric_dirs, tmp_path, make_app) -> None:
    at = make_app(geometric_dirs[0], tmp_path)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "diano generate coronary3d" in texts(at)
