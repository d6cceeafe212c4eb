"""Overview: what DIANO is, the pipeline drawn from the loaded model, the model card."""

from __future__ import annotations

import streamlit as st

from diano.ui import views, widgets

chosen = widgets.selection()
st.title("DIANO Explorer")
st.markdown(
    """
**DIANO** (Differentiable Autoencoding Neural Operator, Viknesh & Arzani, arXiv 2510.00233)
compresses a flow field in three steps:

1. an **FNO encoder** maps the field on an N×N grid to a coarse **M×M latent grid that lives
   on physical coordinates**;
2. a **differentiable PDE solver** (here 2D advection–diffusion, ∂z/∂t + c·∇z = ν∇²z; the
   shipped model adds a small learned local rate f(z, x, y) downstream of the cylinder,
   see the model card) is the only thing that moves the latent forward in time;
3. an **FNO decoder** rebuilds the full field from the latent.

Because the latent is a grid in space, you can look at it, edit it and march it with the
solver yourself. The pages on the left let you scrub through time, edit the latent, play with
the solver and compare DIANO with a CNO and two autoencoders.
"""
)
loaded = widgets.require_model(chosen)
case = widgets.require_case(chosen)
if loaded is not None and case is not None:
    st.subheader("The pipeline on real data")
    t = st.slider("snapshot", 0, case.n_times - 1, 0, key="overview_t")
    with widgets.guard("the pipeline figure"), st.spinner("encoding, stepping, decoding …"):
        fig = views.pipeline_view(loaded, case, t)
        if fig is None:
            st.info(f"{widgets.MODEL_LABELS[loaded.name]} has a vector latent, not a grid to draw.")
        else:
            widgets.show(fig, "overview_pipeline")
            st.caption(
                f"Left to right: the field at t = {case.coords['t'][t]:.2f} "
                f"({views.time_unit(case)}), its latent, the latent one solver step later, and "
                "that step decoded. The latent has its own colour scale: it follows the "
                "field's pattern, not its units."
            )
if loaded is not None:
    st.subheader("Model card")
    with widgets.guard("the model card"):
        st.table(views.model_card(loaded, case))
