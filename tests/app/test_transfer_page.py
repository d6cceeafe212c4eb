"""AppTest for the Import & export page: downloads, bundle round trip, field import."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from diano.explore import transfer as tx
from diano.latent_edit import FourierFilter, GaussianBump

PAGE = "pages/transfer.py"


def open_page(at: AppTest) -> AppTest:
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def messages(at: AppTest, kind: str) -> list[str]:
    return [str(el.value) for el in getattr(at, kind)]


def edit_in_editor(at: AppTest) -> AppTest:
    """Apply two edits on the Latent editor page (frame 3)."""
    at.switch_page("pages/latent_editor.py").run()
    at.slider(key="editor_t").set_value(3).run()
    at.button(key="editor_apply").click().run()  # the default Gaussian bump
    at.radio(key="editor_tool").set_value("Fourier modes").run()
    at.button(key="editor_apply").click().run()
    assert not at.exception, at.exception
    assert len(at.session_state["editor"].history.applied) == 2
    return at


def test_page_offers_every_download(app: AppTest, downloads: dict) -> None:
    at = open_page(app)
    assert {"dl_png", "dl_html", "dl_npz", "dl_h5", "dl_vti", "dl_bundle"} <= set(downloads)
    assert len(at.get("plotly_chart")) == 1
    html = _bytes(downloads, "dl_html")
    assert b"<html>" in html[:100] and b'<script src="http' not in html
    vti = _bytes(downloads, "dl_vti")
    assert b'<VTKFile type="ImageData"' in vti[:300]
    at.radio(key="dl_what").set_value("latent grid").run()
    assert not at.exception and not at.error
    with np.load(io.BytesIO(_bytes(downloads, "dl_npz"))) as npz:
        assert "latent_edited_0" in npz.files and npz["latent_edited_0"].ndim == 2


@pytest.mark.parametrize("model", ["cno", "cnn_ae", "mlp_ae"])
def test_page_works_for_the_baselines(app: AppTest, downloads: dict, model: str) -> None:
    app.selectbox(key="model").set_value(model).run()
    at = open_page(app)
    assert not at.error and len(at.get("plotly_chart")) == 1
    assert {"dl_png", "dl_npz", "dl_h5", "dl_vti"} <= set(downloads)
    if model == "mlp_ae":  # a vector latent: no latent grid to edit or bundle
        assert "dl_bundle" not in downloads
        assert any("vector latent" in i for i in messages(at, "info"))
    else:
        assert tx.read_bundle(_bytes(downloads, "dl_bundle")).model == model


def test_bundle_restores_edits_into_the_latent_editor(app: AppTest, downloads: dict) -> None:
    at = edit_in_editor(app)
    state = at.session_state["editor"]
    open_page(at)
    assert at.slider(key="transfer_t").value == 3
    assert any("2 latent edit(s)" in t for t in _titles(at))
    bundle_bytes = _bytes(downloads, "dl_bundle")
    bundle = tx.read_bundle(bundle_bytes)
    assert (bundle.model, bundle.time_index, bundle.seed) == ("diano", 3, 0)
    assert bundle.history == state.history
    assert isinstance(bundle.history.applied[0], GaussianBump)
    assert isinstance(bundle.history.applied[1], FourierFilter)
    assert bundle.solver_settings is not None and "nu" in bundle.solver_settings

    # a fresh session on another model and frame restores the bundle
    fresh = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    fresh.run()
    fresh.selectbox(key="model").set_value("cnn_ae").run()
    open_page(fresh)
    fresh.file_uploader(key="bundle_upload").set_value(
        ("session.zip", bundle_bytes, "application/zip")
    ).run()
    assert not fresh.exception and not fresh.error, messages(fresh, "error")
    assert any("bit for bit" in c for c in messages(fresh, "caption"))
    fresh.button(key="bundle_restore").click().run()
    assert not fresh.exception, fresh.exception
    assert fresh.session_state["selection"].model == "diano"
    assert any("Restored" in s for s in messages(fresh, "success"))
    assert fresh.slider(key="transfer_t").value == 3
    # the page now exports the restored session: the same decoded field, bit for bit
    again = tx.read_bundle(_bytes(downloads, "dl_bundle"))
    assert tx.identical(again.decoded, bundle.decoded)
    assert again.history == bundle.history
    fresh.switch_page("pages/latent_editor.py").run()
    assert not fresh.exception, fresh.exception
    assert fresh.slider(key="editor_t").value == 3
    restored = fresh.session_state["editor"]
    assert restored.history == bundle.history
    assert restored.base.numpy().tobytes() == state.base.numpy().tobytes()
    assert "2 edit(s) in effect" in " ".join(_titles(fresh))


def test_bundle_for_another_checkpoint_is_refused(app: AppTest, downloads: dict) -> None:
    at = open_page(app)
    bundle = tx.read_bundle(_bytes(downloads, "dl_bundle"))
    other = dataclasses.replace(bundle, checkpoint_sha256="0" * 64)
    at.file_uploader(key="bundle_upload").set_value(
        ("other.zip", tx.write_bundle(other), "application/zip")
    ).run()
    assert not at.exception
    errors = messages(at, "error")
    assert any("checkpoint mismatch" in e for e in errors), errors
    assert "bundle_restore" not in {b.key for b in at.button}
    at.file_uploader(key="bundle_upload").set_value(("bad.zip", b"not a zip", "x")).run()
    assert any("not a .zip" in e for e in messages(at, "error"))


def test_field_import_encodes_or_names_the_problem(app: AppTest, downloads: dict) -> None:
    at = open_page(app)
    field = _bytes(downloads, "dl_npz")
    at.file_uploader(key="field_upload").set_value(("mine.npz", field, "x")).run()
    assert not at.exception and not at.error, messages(at, "error")
    assert len(at.get("plotly_chart")) == 2
    at.button(key="import_use").click().run()
    assert not at.exception
    assert at.session_state["transfer_imported"]["name"] == "mine.npz"
    assert tx.read_bundle(_bytes(downloads, "dl_bundle")).source == "imported"

    with np.load(io.BytesIO(field)) as npz:
        bad = npz["vorticity"].copy()
    bad[0, 0] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, vorticity=bad)
    at.file_uploader(key="field_upload").set_value(("../../bad.npz", buffer.getvalue(), "x"))
    at.run()
    errors = messages(at, "error")
    assert errors and all(e.startswith("bad.npz:") for e in errors), errors
    assert any("NaN" in e for e in errors)


@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict:
    """What every download button of the last runs would send, by key (bytes or a callable)."""
    import streamlit as st
    from streamlit.delta_generator import DeltaGenerator

    sent: dict = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        sent[kwargs.get("key")] = data
        return original(self, label, data, *args, **kwargs)

    def spy_main(label, data, *args, **kwargs):
        sent[kwargs.get("key")] = data
        return original(st._main, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(st, "download_button", spy_main)
    return sent


def _bytes(sent: dict, key: str) -> bytes:
    data = sent[key]
    return data() if callable(data) else data


def _titles(at: AppTest) -> list[str]:
    import json

    out = []
    for el in at.get("plotly_chart"):
        title = json.loads(el.proto.spec).get("layout", {}).get("title")
        if isinstance(title, dict):
            out.append(title.get("text", ""))
    return out
