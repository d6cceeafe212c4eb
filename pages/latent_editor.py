"""Latent editor: edit the latent grid and watch the decoded field answer."""

from __future__ import annotations

import streamlit as st

from diano.ui import editor, widgets

chosen = widgets.selection()
st.title("Latent editor")
st.markdown(
    "The latent is a coarse grid on the same coordinates as the flow. Pick cells on it "
    "(click a cell, or drag a box), choose a tool and **apply**: the decoder answers at "
    "once, with the field before, after, and their difference. Undo, redo and reset work on "
    "the list of edits; the model itself is never changed, your edits live in your session."
)
loaded = widgets.require_model(chosen)
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
t = st.slider("frame to edit", 0, case.n_times - 1, 0, key="editor_t")
with widgets.guard("the latent editor"):
    if editor.base_latent(loaded, case, t).dim() != 4:
        st.info(f"{widgets.MODEL_LABELS[loaded.name]} has a vector latent; pick DIANO or CNN-AE.")
        st.stop()
    editor.edit_panel(loaded, case, t)

st.subheader("Is an edit physics or noise? The measured answer")
st.markdown(
    "Before trusting what an edit does, see how this model answers a standard one: does the "
    "decoded change have the bump's sign, sit where the bump was put, stay local, and move "
    "downstream with the latent as it is marched?"
)
with widgets.guard("the edit measurement"):
    editor.edit_response_panel(loaded, case)

st.subheader("How far does the latent read as the field?")
with widgets.guard("the latent-versus-truth view"):
    editor.readability_view(loaded, case, t)

st.subheader("Saliency: which latent cells shape one point of the output?")
st.markdown(
    "Place the probe; autograd through the decoder gives |∂u(probe)/∂z| for every latent "
    "cell, with the edits in effect when the probe last moved."
)
with widgets.guard("the saliency view"):
    editor.saliency_panel(loaded, case, t)

st.subheader("Edit the field instead: add a vortex and see the latent answer")
st.markdown(
    "A Lamb–Oseen vortex, ω = Γ/(π r_c²)·exp(−r²/r_c²), is added to the frame; the encoder "
    "maps the edited field to a new latent. The latent change Δz shows which cells carry the "
    "vortex. You can add that change to your latent edits and march it in the playground."
)
with widgets.guard("the vortex view"):
    editor.vortex_panel(loaded, case, t)
