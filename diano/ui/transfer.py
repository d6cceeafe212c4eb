"""Import & export UI: downloads of the current view and data, session bundles, own fields.

Every export is handed to the browser with ``st.download_button`` (nothing is written on the
server unless the person asks for a copy in the export folder); uploads are read from memory.
The numerics and file formats live in :mod:`diano.explore.transfer`; this module only
collects the session's state (the latent editor's edits for the chosen model, case and
frame, and the solver playground's march) and puts a restored bundle back into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from diano.data import FlowData, code_version
from diano.errors import DianoError
from diano.explore import settings_from_model
from diano.explore import transfer as tx
from diano.explore.playground import PlaygroundRecord, settings_to_dict
from diano.explore.predict import rel_l2_curve
from diano.latent_edit import EditHistory, LatentGrid
from diano.ui import playground
from diano.ui.cache import LoadedModel, list_cases, load_model, model_truth
from diano.ui.editor import STATE_KEY as EDITOR_KEY
from diano.ui.editor import base_latent, decode, grid_event
from diano.ui.state import EditorState
from diano.ui.views import coords, latent_grid, length_unit, time_unit
from diano.ui.widgets import Selection, show, units
from diano.viz import Panel, panel_figure

#: session key of the last imported field (its model, case, frame, latent and values)
IMPORTED_KEY = "transfer_imported"
#: session key of the message a restore leaves for the next run
RESTORED_KEY = "transfer_restored"
FIELD_TYPES = [s.lstrip(".") for s in tx.FIELD_SUFFIXES]


@dataclass(frozen=True, eq=False)
class Session:
    """What the page exports: the frame, its latent with the edits, and the decoded field."""

    t: int
    base: torch.Tensor  # (1, Lc, M_y, M_x) or a vector latent (1, L)
    history: EditHistory
    grid: LatentGrid | None  # None for a vector latent
    latent: torch.Tensor  # base with the edits in effect
    decoded: np.ndarray  # (C, H, W) float32
    imported: dict | None  # the imported field this base came from, if any


def editor_frame(loaded: LoadedModel, case: FlowData) -> int | None:
    """The frame the latent editor holds for this model and case (``None``: none)."""
    state = st.session_state.get(EDITOR_KEY)
    if state is not None and tuple(state.source[:-1]) == (*loaded.key, case.case_id):
        return int(state.source[-1])
    return None


def default_frame(loaded: LoadedModel, case: FlowData, key: str = "transfer_t") -> None:
    """Start the page's frame slider at the latent editor's frame (a restore sets it too)."""
    if key not in st.session_state:
        st.session_state[key] = editor_frame(loaded, case) or 0
    if st.session_state[key] > case.n_times - 1:  # another case with fewer frames
        st.session_state[key] = case.n_times - 1


def current_session(loaded: LoadedModel, case: FlowData, t: int) -> Session:
    """The latent editor's state for this model, case and frame, or the encoded frame."""
    source = (*loaded.key, case.case_id, int(t))
    state = st.session_state.get(EDITOR_KEY)
    if state is not None and state.source == source:
        base, history = state.base, state.history
    else:
        base, history = base_latent(loaded, case, t), EditHistory()
    grid = latent_grid(case, tuple(base.shape)) if base.dim() == 4 else None
    latent = history.current(base, grid) if grid is not None else base
    decoded = decode(loaded, latent, tuple(case.spatial_shape))
    imported = st.session_state.get(IMPORTED_KEY)
    if not (imported and imported["source"] == source and torch.equal(imported["latent"], base)):
        imported = None
    return Session(int(t), base, history, grid, latent, decoded, imported)


def view_figure(loaded: LoadedModel, case: FlowData, session: Session):
    """The current view: the truth of the frame, the decoded field, and their difference."""
    x, y = coords(case)
    channel = loaded.model.config.out_channels[0]
    truth = model_truth(case, loaded)[session.t, 0]
    decoded = session.decoded[0]
    n = len(session.history.applied)
    what = f"{n} latent edit(s)" if n else "no edits"
    if session.imported:
        what += f", latent of {session.imported['name']}"
    title = f"frame {session.t} · {loaded.name} ({loaded.scenario}) · {what}"
    panels = [
        Panel(f"truth ({channel})", truth, x, y),
        Panel("decoded", decoded, x, y),
        Panel("|decoded − truth|", np.abs(decoded - truth), x, y, "error"),
    ]
    return panel_figure(
        panels, units=units(channel), length_unit=length_unit(case), height=380, title=title
    )


def _attrs(loaded: LoadedModel, case: FlowData, session: Session, what: str) -> dict:
    return {
        "content": what,
        "benchmark": loaded.benchmark,
        "model": loaded.name,
        "scenario": loaded.scenario,
        "checkpoint_sha256": loaded.info.sha256,
        "case_id": case.case_id,
        "time_index": session.t,
        "edits": session.history.describe(),
        "code_version": code_version(),
    }


def field_arrays(loaded: LoadedModel, case: FlowData, session: Session) -> tx.GridArrays:
    """Truth, decoded field and their difference per channel on the case's grid."""
    x, y = coords(case)
    truth = model_truth(case, loaded)[session.t]
    arrays = {}
    for k, c in enumerate(loaded.model.config.out_channels):
        arrays[f"{c}_decoded"] = session.decoded[k]
        if c in loaded.model.config.in_channels:
            i = list(loaded.model.config.in_channels).index(c)
            arrays[c] = np.asarray(truth[i], dtype=np.float32)
            arrays[f"{c}_error"] = session.decoded[k] - arrays[c]
    units_ = {"x": length_unit(case), "y": length_unit(case), "t": time_unit(case)}
    t_value = float(np.asarray(case.coords["t"])[session.t])
    attrs = _attrs(loaded, case, session, "decoded field, truth and their difference")
    return tx.GridArrays(arrays, x, y, np.asarray(case.mask), attrs, units_, t_value)


def latent_arrays(loaded: LoadedModel, case: FlowData, session: Session) -> tx.GridArrays:
    """The encoded latent and the edited one, per latent channel, on the latent's cells."""
    yc, xc = session.grid.centres()
    arrays = {}
    for k in range(session.base.shape[1]):
        arrays[f"latent_encoded_{k}"] = session.base[0, k].numpy()
        arrays[f"latent_edited_{k}"] = session.latent[0, k].numpy()
    units_ = {"x": length_unit(case), "y": length_unit(case), "t": time_unit(case)}
    t_value = float(np.asarray(case.coords["t"])[session.t])
    attrs = _attrs(loaded, case, session, "latent grid: encoded and with the edits")
    return tx.GridArrays(arrays, xc, yc, None, attrs, units_, t_value)


def solver_settings(loaded: LoadedModel, marched: PlaygroundRecord | None) -> dict | None:
    """The latent solver's settings: fork A's of the playground's march when there is one,
    else the checkpoint's; ``None`` for a model without a latent PDE."""
    if marched is not None:
        return settings_to_dict(marched.settings_a)
    try:
        return settings_to_dict(settings_from_model(loaded.model))
    except DianoError:
        return None


def make_bundle(loaded: LoadedModel, case: FlowData, session: Session, device: str) -> bytes:
    """The session as a bundle ``.zip`` (see :func:`diano.explore.transfer.write_bundle`),
    with the solver playground's march for this model and case, if it has one."""
    imported = session.imported
    marched = playground.record(loaded, case)
    bundle = tx.SessionBundle(
        benchmark=loaded.benchmark,
        model=loaded.name,
        scenario=loaded.scenario,
        checkpoint_sha256=loaded.info.sha256,
        case_id=case.case_id,
        time_index=session.t,
        history=session.history,
        base_latent=session.base.numpy(),
        grid=session.grid,
        decoded=session.decoded,
        solver_settings=solver_settings(loaded, marched),
        playground=marched,
        seed=0,
        code_version=code_version(),
        source="imported" if imported else "case",
        source_field=imported["field"] if imported else None,
        extra={"device": device, **({"imported_file": imported["name"]} if imported else {})},
    )
    return tx.write_bundle(bundle)


def export_buttons(loaded: LoadedModel, case: FlowData, session: Session, fig) -> None:
    """Download buttons: the view (PNG, HTML), the data (npz, HDF5, VTK), the bundle."""
    stem = tx.sanitise_filename(f"{case.case_id}_t{session.t}_{loaded.name}")
    st.markdown("**The view**")
    c = st.columns(2)
    # PNG rendering starts a headless browser (~3 s): done only when the button is pressed.
    c[0].download_button(
        "view as PNG", lambda: tx.figure_png(fig), f"{stem}.png", "image/png",
        key="dl_png", on_click="ignore",
    )  # fmt: skip
    c[1].download_button(
        "view as HTML (interactive, offline)", lambda: tx.figure_html(fig), f"{stem}.html",
        "text/html", key="dl_html", on_click="ignore",
    )  # fmt: skip
    st.markdown("**The data**")
    what = st.radio(
        "arrays", ("decoded field, truth, difference", "latent grid"), horizontal=True,
        key="dl_what", disabled=session.grid is None,
    )  # fmt: skip
    latent = what == "latent grid" and session.grid is not None
    data = (latent_arrays if latent else field_arrays)(loaded, case, session)
    name = f"{stem}_{'latent' if latent else 'field'}"
    c = st.columns(3)
    formats = (
        ("npz", tx.to_npz, "application/octet-stream"),
        ("h5", tx.to_hdf5, "application/x-hdf5"),
        ("vti", tx.to_vti, "application/xml"),
    )
    labels = {"npz": "NumPy .npz", "h5": "HDF5 .h5", "vti": "VTK .vti (ParaView)"}
    for col, (ext, writer, mime) in zip(c, formats, strict=True):
        col.download_button(
            labels[ext], lambda w=writer: w(data), f"{name}.{ext}", mime,
            key=f"dl_{ext}", on_click="ignore",
        )  # fmt: skip


def bundle_export(loaded: LoadedModel, case: FlowData, session: Session, chosen: Selection) -> None:
    """Download (or save in the export folder) the session bundle."""
    if session.grid is None:
        st.info("Session bundles hold latent-grid edits; this model has a vector latent.")
        return
    stem = tx.sanitise_filename(f"session_{case.case_id}_t{session.t}_{loaded.name}")
    data = make_bundle(loaded, case, session, chosen.device)
    marched = playground.record(loaded, case)
    if marched is not None:
        st.caption(f"Solver playground: {describe_march(marched)}.")
        if marched.b_edited and marched.start_frame != session.t:
            st.warning(
                f"The playground's fork B marches the edits of frame {marched.start_frame}; "
                f"this bundle holds frame {session.t}, so a restored fork B would start from "
                f"the original latent. Set the frame to {marched.start_frame} to keep them."
            )
    n = len(session.history.applied)
    st.download_button(
        f"session bundle (.zip, {n} edit(s), {len(data) / 1024:.0f} kB)", data, f"{stem}.zip",
        "application/zip", key="dl_bundle", type="primary", on_click="ignore",
    )  # fmt: skip
    with st.expander("save a copy on the server instead"):
        name = st.text_input("file name", f"{stem}.zip", key="save_name")
        overwrite = st.checkbox("replace a file of that name", False, key="save_overwrite")
        if st.button("save in the export folder", key="save_bundle"):
            path = tx.save_export(data, name, overwrite=overwrite)
            st.success(f"saved as {path}")
        st.caption(
            f"Export folder: `{tx.export_dir()}` (`DIANO_EXPORT_DIR`). Names are sanitised; "
            "an existing file gets a numbered sibling unless you tick *replace*."
        )


def describe_march(marched: PlaygroundRecord) -> str:
    """One line on a playground march: start frame, steps, settings of both forks."""
    a, b = marched.settings_a, marched.settings_b

    def knobs(s) -> str:
        return f"ν = {s.nu:.4g}, c = ({s.velocity[0]:.4g}, {s.velocity[1]:.4g})"

    if b is not None:
        fork_b = f"B with {knobs(b)}"
    else:
        fork_b = f"B from the {'edited' if marched.b_edited else 'original'} latent"
    return (
        f"{marched.n_steps} step(s) from frame {marched.start_frame}, A with {knobs(a)}, "
        f"dt = {a.dt:.4g}, {a.n_substeps} sub-step(s), {a.scheme}; {fork_b}"
    )


def _restore(bundle: tx.SessionBundle, device: str) -> None:
    """Button callback (runs before the next run draws any widget): put the bundle's model,
    case, frame and edits into this session, so the sidebar and the latent editor show them,
    and queue the playground's knobs and steps (its defaults when the bundle has none)."""
    loaded = load_model(bundle.benchmark, bundle.model, device)
    playground.request_restore((*loaded.key, bundle.case_id), bundle.playground)
    source = (*loaded.key, bundle.case_id, bundle.time_index)
    base = torch.from_numpy(np.array(bundle.base_latent))
    st.session_state[EDITOR_KEY] = EditorState(
        source,
        base,
        bundle.history,
        applied=len(bundle.history.applied),
        last_event=grid_event(),
    )
    if bundle.source == "imported" and bundle.source_field is not None:
        st.session_state[IMPORTED_KEY] = {
            "source": source,
            "latent": base,
            "field": bundle.source_field,
            "name": bundle.extra.get("imported_file", "imported field"),
        }
    st.session_state["benchmark"] = bundle.benchmark
    st.session_state["model"] = bundle.model
    st.session_state["case"] = bundle.case_id
    st.session_state["transfer_t"] = bundle.time_index
    st.session_state["editor_t"] = bundle.time_index
    marched = bundle.playground
    if marched is None:
        march_note = "The Solver playground is back to its defaults."
    else:
        march_note = (
            f"The Solver playground marches {marched.n_steps} step(s) from frame "
            f"{marched.start_frame} with the bundle's settings."
        )
    st.session_state[RESTORED_KEY] = (
        f"Restored {bundle.model} ({bundle.scenario}) on case {bundle.case_id}, frame "
        f"{bundle.time_index}, with {len(bundle.history.applied)} edit(s) in effect; the "
        f"Latent editor page shows them. {march_note}"
    )


def bundle_import(chosen: Selection) -> None:
    """Upload a bundle, check it against the checkpoint, replay it, offer to restore it."""
    message = st.session_state.pop(RESTORED_KEY, None)
    if message:
        st.success(message, icon=":material/restore:")
        c = st.columns(2)
        c[0].page_link("pages/latent_editor.py", label="open the Latent editor", icon="✏️")
        c[1].page_link(
            "pages/playground.py", label="open the Solver playground", icon=":material/science:"
        )
    upload = st.file_uploader("session bundle (.zip)", type=["zip"], key="bundle_upload")
    if upload is None:
        return
    try:
        bundle = tx.read_bundle(upload.getvalue())
    except DianoError as exc:
        st.error(f"{tx.sanitise_filename(upload.name)}: {exc}")
        return
    st.caption(
        f"{bundle.model} ({bundle.scenario}) on {bundle.benchmark}, case {bundle.case_id}, "
        f"frame {bundle.time_index}, {len(bundle.history.applied)} edit(s) in effect, "
        f"checkpoint {bundle.checkpoint_sha256[:12]}…, made by code {bundle.code_version}"
    )
    try:
        loaded = load_model(bundle.benchmark, bundle.model, chosen.device)
        tx.check_bundle(
            bundle, benchmark=loaded.benchmark, model=loaded.name, scenario=loaded.scenario,
            sha256=loaded.info.sha256,
        )  # fmt: skip
    except DianoError as exc:
        st.error(f"Cannot restore this bundle: {exc}")
        return
    cases = {c.case_id: c for c in list_cases(bundle.benchmark)}
    if bundle.case_id not in cases:
        st.error(f"Cannot restore this bundle: case {bundle.case_id!r} is not among {list(cases)}")
        return
    if bundle.playground is not None:
        problems = playground.knob_problems(bundle.playground, cases[bundle.case_id].n_times)
        if problems:
            st.error(f"Cannot restore this bundle's playground march: {'; '.join(problems)}")
            return
        st.caption(f"Solver playground: {describe_march(bundle.playground)}.")
    replayed = tx.replay(bundle, loaded.model)
    if tx.identical(replayed, bundle.decoded):
        st.caption("Replaying its edits on the loaded checkpoint gives the bundle's decoded "
                   "field bit for bit.")  # fmt: skip
    else:
        diff = float(np.abs(replayed.astype(np.float64) - bundle.decoded).max())
        st.warning(
            f"Replayed here, the decoded field differs from the bundle's by up to {diff:.3g} "
            "(another device or library version); the edits themselves are restored exactly."
        )
    st.button(
        "restore this session", key="bundle_restore", type="primary",
        on_click=_restore, args=(bundle, chosen.device),
    )  # fmt: skip


def _use_imported(source: tuple, latent: torch.Tensor, field: np.ndarray, name: str) -> None:
    st.session_state[EDITOR_KEY] = EditorState(source, latent, last_event=grid_event())
    st.session_state[IMPORTED_KEY] = {
        "source": source, "latent": latent, "field": field, "name": name,
    }  # fmt: skip
    st.session_state["editor_t"] = source[-1]
    st.session_state["transfer_t"] = source[-1]


def field_import(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Upload a field, validate it against the model, encode and decode it."""
    config = loaded.model.config
    grid_shape = tuple(case.spatial_shape)  # the grid the app encodes on: the case's cells
    h, w = grid_shape[-2:]
    x, y = coords(case)
    dx, dy = (x[-1] - x[0]) / max(w - 1, 1), (y[-1] - y[0]) / max(h - 1, 1)
    st.caption(
        f"The model reads {', '.join(config.in_channels)} on the case's {h}×{w} grid (cell "
        f"centres from x = {x[0]:.4g}, y = {y[0]:.4g}, spacing {dx:.4g} × {dy:.4g}); files "
        f"up to {tx.MAX_IMPORT_BYTES / 2**20:.0f} MB in .npz, .h5/.hdf5 or .vti/.vtk."
    )
    upload = st.file_uploader("your field", type=FIELD_TYPES, key="field_upload")
    if upload is None:
        return
    try:
        imported = tx.read_field(
            upload.getvalue(), upload.name, config.in_channels, grid_shape, x, y
        )
    except tx.FieldImportError as exc:
        for problem in exc.problems:
            st.error(problem, icon=":material/error:")
        return
    for note in imported.notes:
        st.caption(f"{imported.name}: {note}")
    latent = tx.encode_field(loaded.model, imported)
    decoded = decode(loaded, latent, tuple(case.spatial_shape))
    mine = imported.fields[0]
    error = float(rel_l2_curve(decoded[None], imported.fields[None], case.mask)[0])
    show(
        panel_figure(
            [
                Panel(f"{imported.name}", mine, x, y),
                Panel("encoded and decoded", decoded[0], x, y),
                Panel("|decoded − yours|", np.abs(decoded[0] - mine), x, y, "error"),
            ],
            units=units(config.in_channels[0]),
            length_unit=length_unit(case),
            height=360,
            title=f"your field through {loaded.name}: rel. L2 error {error:.3f}",
        ),
        key="import_fig",
    )
    if latent.dim() == 4:
        source = (*loaded.key, case.case_id, int(t))
        st.button(
            f"edit this latent in the Latent editor (replaces frame {t}'s latent there)",
            key="import_use", on_click=_use_imported,
            args=(source, latent, imported.fields, imported.name),
        )  # fmt: skip
