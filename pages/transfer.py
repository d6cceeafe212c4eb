"""Import & export: the view and the data as files, session bundles, your own field."""

from __future__ import annotations

import streamlit as st

from diano.ui import transfer, widgets

chosen = widgets.selection()
st.title("Import & export")
st.markdown(
    "Download what you see and the numbers behind it, save the whole session (model, "
    "checkpoint, frame, latent edits, the Solver playground's settings and march) as one "
    "bundle and restore it later exactly, or bring your own field and encode it with the "
    "selected model. Downloads go straight to your browser; uploads are read in memory."
)
loaded = widgets.require_model(chosen)
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
transfer.default_frame(loaded, case)
t = st.slider(
    "frame", 0, case.n_times - 1, key="transfer_t",
    help="The latent editor's edits are included when this is the frame it edits.",
)  # fmt: skip
with widgets.guard("the current view"):
    session = transfer.current_session(loaded, case, t)
    figure = transfer.view_figure(loaded, case, session)
    widgets.show(figure, key="transfer_view")

st.subheader("Export")
with widgets.guard("the export"):
    transfer.export_buttons(loaded, case, session, figure)

st.subheader("Session bundle")
with widgets.guard("the session bundle"):
    transfer.bundle_export(loaded, case, session, chosen)
    transfer.bundle_import(chosen)

st.subheader("Import your own field")
with widgets.guard("the field import"):
    transfer.field_import(loaded, case, t)
