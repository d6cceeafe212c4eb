"""Inverse edit & resolution: ask the decoded field for a target; decode at other grids."""

from __future__ import annotations

import streamlit as st

from diano.ui import inverse, resolution, widgets

chosen = widgets.selection()
st.title("Inverse edit & resolution")
st.markdown(
    "**Inverse edit.** Pick a rectangle of the decoded field (sliders, or drag a box on the "
    "figure) and what it should show: a constant, or the truth at another frame. Adam then "
    "changes the latent, or the latent PDE's ν and velocity, by gradient descent through the "
    "decoder (and through the solver when the target is met a few steps later). The loss "
    "curve grows while it runs; **apply** hands the result to the latent editor or the "
    "solver playground, **discard** drops it. The model itself never changes."
)
loaded = widgets.require_model(chosen)
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
t = st.slider("frame", 0, case.n_times - 1, 0, key="inv_t")
with widgets.guard("the inverse edit"):
    inverse.inverse_panel(loaded, case, t)

st.subheader("Multi-resolution decode")
st.markdown(
    "One latent, decoded at 0.5×, 1× and 2× the data grid. The error is measured against the "
    "finest truth there is for the frame: the committed 256×256 reference of the held-out "
    "Re 180 (its first snapshots, from the same lattice run as the 128×128 sample) or the "
    "data itself."
)
with widgets.guard("the multi-resolution decode"):
    resolution.resolution_panel(loaded, case, t, chosen.device)
