"""Stenosis, 2D → 1D: DIANO's latent line along the channel axis, stepped by a 1D solver."""

from __future__ import annotations

import streamlit as st

from diano.ui import stenosis, widgets

chosen = widgets.selection()
st.title("Stenosis: a 2D flow on a 1D latent line")
st.markdown(
    "Pulsatile flow through a stenosed channel. DIANO encodes the 2D field, averages it over "
    "the channel height to a **line along the axis**, and marches that line with a 1D "
    "advection–diffusion solver, ∂z/∂t + c ∂z/∂x = ν ∂²z/∂x² (RK4); the decoder lifts the "
    "line back to the plane. Scrub through the cardiac cycle, then step the line with your "
    "own ν, velocity, dt and sub-steps and compare the decoded field with the truth. "
    "The line is drawn next to the **centreline velocity** read from the vorticity (½ of "
    "∫ω dy above the axis minus ∫ω dy below), fitted to the line's scale: a line trained with "
    "a standing profile plus a travelling part reads as it, encoded and marched."
)
loaded = widgets.require_model(chosen, "diano")
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
if chosen.model != "diano":
    st.caption("The latent line is DIANO's; the baselines march the 2D field with learned maps.")
with widgets.guard("the stenosis page"):
    t = st.slider("frame (time in the cardiac cycle)", 0, case.n_times - 1, 0, key="sn_t")
    stenosis.frame_view(loaded, case, t)
    st.subheader("Step the 1D solver")
    stenosis.march_panel(loaded, case, t)
