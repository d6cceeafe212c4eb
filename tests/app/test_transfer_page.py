"""AppTest for the Import & export page: downloads, bundle round trip, field import."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import numpy as np
import pytest
from conftest import REPO, editor_action, figure_titles
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
    editor_action(at, "apply")  # the default Gaussian bump
    at.radio(key="editor_tool").set_value("Fourier modes").run()
    editor_action(at, "apply")
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
    return figure_titles(at)


# -- the solver playground's march travels with the bundle ---------------------------------
KNOBS = {"pg_nu": 0.0025, "pg_cx": 0.4, "pg_cy": -0.05, "pg_dt": 0.02, "pg_sub": 4,
         "pg_bx": "free"}  # fmt: skip
OTHER = "same latent, other ν and velocity"


def march_in_playground(at: AppTest, t: int, knobs: dict, other: dict | None = None) -> AppTest:
    """Set the playground's knobs (and fork B's, if ``other``), then march 10 + 1 steps."""
    at.switch_page("pages/playground.py").run()
    at.slider(key="pg_t").set_value(t).run()
    for key, value in knobs.items():
        widget = at.selectbox(key=key) if key in ("pg_sub", "pg_scheme", "pg_bx") else None
        (widget or at.number_input(key=key)).set_value(value).run()
    if other is not None:
        at.radio(key="pg_fork").set_value(OTHER).run()
        for key, value in other.items():
            at.number_input(key=key).set_value(value).run()
    at.button(key="pg_step10").click().run()
    at.button(key="pg_step1").click().run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.session_state["playground"].n_steps == 11
    return at


def knob_values(at: AppTest) -> dict:
    out = {"pg_t": at.slider(key="pg_t").value, "pg_fork": at.radio(key="pg_fork").value}
    for key in ("pg_nu", "pg_cx", "pg_cy", "pg_dt", "pg_nu_b", "pg_cx_b", "pg_cy_b"):
        if any(w.key == key for w in at.number_input):
            out[key] = at.number_input(key=key).value
    for key in ("pg_sub", "pg_scheme", "pg_bx", "pg_by"):
        out[key] = at.selectbox(key=key).value
    return out


def restore_in_fresh_session(
    bundle_bytes: bytes, at: AppTest | None = None, downloads: dict | None = None
) -> AppTest:
    """Upload the bundle on the Import & export page, restore it, open the playground."""
    if at is None:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.run()
    open_page(at)
    at.file_uploader(key="bundle_upload").set_value(
        ("session.zip", bundle_bytes, "application/zip")
    ).run()
    assert not at.exception and not at.error, messages(at, "error")
    at.button(key="bundle_restore").click().run()
    assert not at.exception, at.exception
    if downloads is not None:  # exported again before the playground opens: the same march
        again = tx.read_bundle(_bytes(downloads, "dl_bundle")).playground
        assert again == tx.read_bundle(bundle_bytes).playground
    at.switch_page("pages/playground.py").run()
    assert not at.exception, at.exception
    return at


def same_march(a: AppTest, b: AppTest) -> None:
    """Both sessions hold the same forks, latents and decoded frames, bit for bit."""
    import torch

    from diano.ui.cache import load_model

    fa, fb = a.session_state["playground"].forks, b.session_state["playground"].forks
    assert fa.keys() == fb.keys()
    sel = a.session_state["selection"]
    model = load_model(sel.benchmark, "diano", sel.device).model
    for name in fa:
        assert fa[name].label == fb[name].label
        assert len(fa[name].latents) == len(fb[name].latents) == 12
        for za, zb in zip(fa[name].latents, fb[name].latents, strict=True):
            assert za.numpy().tobytes() == zb.numpy().tobytes()
        with torch.no_grad():
            ua, ub = (model.decode(f[name].latents[-1], output_shape=(32, 32)) for f in (fa, fb))
        assert tx.identical(ua.numpy(), ub.numpy())
    # what the page draws: truth, both decoded forks, B − A and both latents at step 11
    spec_a, spec_b = (json.loads(x.get("plotly_chart")[0].proto.spec) for x in (a, b))
    assert spec_a["data"] == spec_b["data"]
    assert "step 11 of the latent-only march from frame" in _titles(b)[0]


def test_bundle_restores_the_playground_march_from_the_edited_latent(
    app: AppTest, downloads: dict
) -> None:
    at = edit_in_editor(app)  # two edits of frame 3
    march_in_playground(at, 3, KNOBS)
    assert at.session_state["playground"].forks["B"].label == "B: edited latent"
    before = knob_values(at)
    open_page(at)
    bundle_bytes = _bytes(downloads, "dl_bundle")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(bundle_bytes)).read("manifest.json"))
    record = manifest["playground"]
    assert (record["start_frame"], record["n_steps"], record["fork_b"]) == (3, 11, "edited")
    assert record["b_edited"] is True and record["B"] is None
    assert record["A"] == {"nu": 0.0025, "velocity": [0.4, -0.05], "dt": 0.02, "n_substeps": 4,
                           "scheme": "central2", "boundary": ["free", "periodic"],
                           "source": None, "learned": False}  # fmt: skip
    assert manifest["solver_settings"] == record["A"]  # the settings in use, not the defaults
    at.slider(key="transfer_t").set_value(4).run()  # a frame without the edits fork B marches
    assert any("fork B marches the edits of frame 3" in w for w in messages(at, "warning"))
    # the playground keeps its knobs and march when the person comes back to it
    at.switch_page("pages/playground.py").run()
    assert knob_values(at) == before and at.session_state["playground"].n_steps == 11

    fresh = restore_in_fresh_session(bundle_bytes, downloads=downloads)
    assert knob_values(fresh) == before
    assert "11 step(s) marched" in messages(fresh, "caption")
    same_march(at, fresh)


def test_bundle_restores_fork_b_with_its_own_settings(app: AppTest, downloads: dict) -> None:
    at = march_in_playground(app, 5, KNOBS, other={"pg_nu_b": 0.004, "pg_cx_b": 0.25})
    before = knob_values(at)
    assert (before["pg_fork"], before["pg_nu_b"], before["pg_cx_b"]) == (OTHER, 0.004, 0.25)
    open_page(at)
    bundle = tx.read_bundle(_bytes(downloads, "dl_bundle"))
    assert bundle.playground is not None and bundle.playground.fork_b == "other"
    assert bundle.playground.settings_b.nu == 0.004
    # a session whose playground was used differently gets the bundle's march
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    other.run()
    march_in_playground(other, 2, {"pg_nu": 0.01})
    fresh = restore_in_fresh_session(tx.write_bundle(bundle), other)
    assert knob_values(fresh) == before
    at.switch_page("pages/playground.py").run()
    same_march(at, fresh)


def test_bundle_made_before_any_march_restores_the_playground_defaults(
    app: AppTest, downloads: dict
) -> None:
    open_page(app)
    defaults_bundle = _bytes(downloads, "dl_bundle")
    assert tx.read_bundle(defaults_bundle).playground is None
    app.switch_page("pages/playground.py").run()
    defaults = knob_values(app)
    # another session with its own knobs and march imports it: the playground starts afresh
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    other.run()
    march_in_playground(other, 4, KNOBS, other={"pg_cx_b": 0.1})
    restored = restore_in_fresh_session(defaults_bundle, other)
    assert knob_values(restored) == defaults
    assert restored.session_state["playground"].n_steps == 0
    assert "0 step(s) marched" in messages(restored, "caption")


def test_bundle_with_a_playground_march_the_knobs_cannot_show_is_refused(
    app: AppTest, downloads: dict
) -> None:
    at = march_in_playground(app, 1, {"pg_nu": 0.003})
    open_page(at)
    bundle = tx.read_bundle(_bytes(downloads, "dl_bundle"))
    far = dataclasses.replace(bundle.playground, start_frame=500)
    at.file_uploader(key="bundle_upload").set_value(
        ("far.zip", tx.write_bundle(dataclasses.replace(bundle, playground=far)), "x")
    ).run()
    assert not at.exception
    assert any("start frame 500" in e for e in messages(at, "error")), messages(at, "error")
    assert "bundle_restore" not in {b.key for b in at.button}
