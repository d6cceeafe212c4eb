"""Solver playground: march the latent with your own PDE settings."""

from __future__ import annotations

import streamlit as st

from diano.ui import playground, widgets

chosen = widgets.selection()
st.title("Solver playground")
st.markdown(
    "Only the latent PDE moves the latent: ∂z/∂t + c·∇z = ν∇²z on the M×M grid, RK4 in time. "
    "Change ν, the velocity (c_x, c_y), the step dt, sub-steps, the derivative scheme and the "
    "boundaries, then **step** or **play**. Every step is decoded. The stability indicator "
    "shows the CFL number |c|·dt/h and the diffusion number ν·dt/h² against their limits; "
    "with *auto* sub-steps the solver splits a step as much as stability needs. Two futures "
    "are marched side by side: the original latent (A) and either your edited latent or the "
    "same latent with other settings (B). Changing a knob restarts both. A model trained "
    "with a learned local rate (the shipped temporal DIANO) adds f(z, x, y) to the right-hand "
    "side downstream of the cylinder; its switch marches with or without it."
)
loaded = widgets.require_model(chosen, "diano")
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
if chosen.model != "diano":
    st.caption("The playground marches DIANO's latent PDE; the baselines step with learned maps.")
playground.keep_knobs(case)  # before any knob is drawn: a restored bundle's, or kept ones
t = st.slider("start frame", 0, case.n_times - 2, key="pg_t")
with widgets.guard("the solver playground"):
    playground.march_panel(loaded, case, t)
