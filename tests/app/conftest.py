"""AppTest fixtures: tiny random-weight checkpoints and synthetic cases in a temporary folder.

``DIANO_CHECKPOINT_DIR`` and ``DIANO_SAMPLES_DIR`` point there for the whole module; the
Streamlit caches are cleared around every test so no test sees another's models or data.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def _fixture_script():
    spec = importlib.util.spec_from_file_location(
        "make_fixture_checkpoints", REPO / "scripts" / "make_fixture_checkpoints.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steady_navigation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every AppTest through ``app.py``'s ``st.navigation``, as a served app does.

    A server switches Streamlit's legacy ``pages/`` mode off for good once ``app.py`` has
    called ``st.navigation``; ``AppTest.run`` switches it on again before every run (the
    folder exists), which would run page scripts without ``app.py``.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="session")
def fixture_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(checkpoint_dir, samples_dir)`` with all four models and two cases (Re 180, 225)."""
    return _fixture_script().make_fixture(tmp_path_factory.mktemp("app"), n=32, n_times=24)


@pytest.fixture(scope="session")
def carrier_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(checkpoint_dir, samples_dir)``: a DIANO with a carrier latent (8×8, two channels)
    and a learned local rate in its latent PDE, on the same two cases."""
    return _fixture_script().make_fixture(
        tmp_path_factory.mktemp("carrier"), n=32, n_times=24, latent=8, models=("diano",),
        carrier=True, correction=4,
    )  # fmt: skip


@pytest.fixture()
def app_env(fixture_dirs, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    checkpoints, samples = fixture_dirs
    _steady_navigation(monkeypatch)
    monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(checkpoints))
    monkeypatch.setenv("DIANO_SAMPLES_DIR", str(samples))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield checkpoints, samples
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture()
def app(app_env) -> AppTest:
    """The app, run once on its default page."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="session")
def geometric_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(checkpoint_dir, samples_dir)`` with a synthetic stenosis (16×64, 12 snapshots) and
    a 32³ vessel, and tiny random-weight stenosis2d and coronary3d checkpoints."""
    return _fixture_script().make_geometric_fixture(tmp_path_factory.mktemp("geometric"))


@pytest.fixture(scope="session")
def standing_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """As :func:`geometric_dirs`, stenosis only, DIANO's line a standing profile plus a
    travelling part."""
    return _fixture_script().make_geometric_fixture(
        tmp_path_factory.mktemp("standing"), benchmarks=("stenosis2d",), standing=True
    )


@pytest.fixture()
def scenes(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """``diano.ui.scene.show_scene`` replaced: each scene is built (and closed), not exported;
    the list records what each call drew."""
    import diano.ui.scene

    shown: list[dict] = []

    def show_scene(build, scene_key, key) -> None:
        plotter = build()
        try:
            shown.append({"key": key, "scene_key": scene_key, "views": len(plotter.renderers)})
        finally:
            plotter.close()

    monkeypatch.setattr(diano.ui.scene, "show_scene", show_scene)
    return shown


@pytest.fixture()
def make_app(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``make_app(checkpoint_dir, samples_dir)``: the app (not yet run) on those folders."""

    def make(checkpoints: Path, samples: Path) -> AppTest:
        _steady_navigation(monkeypatch)
        monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(checkpoints))
        monkeypatch.setenv("DIANO_SAMPLES_DIR", str(samples))
        st.cache_resource.clear()
        st.cache_data.clear()
        return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)

    yield make
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture()
def geometric_app(geometric_dirs, make_app) -> AppTest:
    """The app on the geometric fixtures (not yet run)."""
    return make_app(*geometric_dirs)


def canvas_specs(at: AppTest) -> list[dict]:
    """The canvas views on the page (the latent editor's fast figures), as their specs; views
    side by side in one component are listed one by one."""
    import json

    specs = [
        json.loads(el.proto.json_args)["spec"]
        for el in at.get("component_instance")
        if el.proto.component_name.endswith("fieldcanvas")
    ]
    return [view for spec in specs for view in spec.get("views", [spec])]


def canvas_notes(at: AppTest) -> list[str]:
    """The caption lines the canvas views show under their figures."""
    return [note for spec in canvas_specs(at) for note in spec.get("notes", [])]


def editor_action(at: AppTest, action: str, cells=None) -> AppTest:
    """Press a button of the latent editor's grid view (``"select"``: pick ``cells``), as the
    view reports it: a component value with a new event number; then rerun."""
    state = at.session_state["editor"]
    try:
        last = at.session_state["editor_grid"]
    except KeyError:
        last = None
    seen = int(last["event"]) if isinstance(last, dict) else 0
    cells = state.selected if cells is None else cells
    at.session_state["editor_grid"] = {
        "cells": [list(c) for c in cells],
        "event": max(seen, state.last_event) + 1,
        "action": action,
    }
    return at.run()


def figure_titles(at: AppTest) -> list[str]:
    """Titles of the page's plotly figures and canvas views."""
    import json

    out = []
    for el in at.get("plotly_chart"):
        title = json.loads(el.proto.spec).get("layout", {}).get("title")
        if isinstance(title, dict) and title.get("text"):
            out.append(title["text"])
    return out + [spec["title"] for spec in canvas_specs(at) if spec["title"]]
