"""3D vessel: pressure from velocity (coronary3d, many-to-one) in linked 3D and slice views."""

from __future__ import annotations

import streamlit as st

from diano.ui import vessel3d, widgets

chosen = widgets.selection()
st.title("3D vessel: pressure from velocity")
st.markdown(
    "Steady flow through a curved, stenosed vessel. Each model maps the velocity (u, v, w) "
    "to the pressure p inside the vessel wall; DIANO does it through a pressure–Poisson solve "
    "on a coarse latent lattice. Slices, isosurfaces and colours are shared by every view."
)
case = widgets.require_case(chosen)
if case is None:
    st.stop()
with widgets.guard("the 3D vessel page"):
    vessel3d.vessel_page(chosen, case)
