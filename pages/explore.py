"""Explore in time: truth, prediction, error and latent, animated in the browser."""

from __future__ import annotations

import streamlit as st

from diano.explore import MODES
from diano.ui import views, widgets

chosen = widgets.selection()
st.title("Explore in time")
st.markdown(
    "Press **play** or drag the slider under the figure: the frames are prebuilt, so scrubbing "
    "runs in your browser. *Reconstruction* encodes and decodes every true frame; a "
    "*latent-only rollout* encodes the start frame once and lets the latent PDE solver alone "
    "march; a *re-encoded rollout* decodes and encodes again after every step. The curve shows "
    "how far each tracks the truth, against two trivial forecasts: holding the start frame "
    "(persistence) and the time-mean field."
)
loaded = widgets.require_model(chosen)
case = widgets.require_case(chosen)
if loaded is None or case is None:
    st.stop()
modes = list(MODES) if views.marches(loaded) else ["reconstruction"]
c1, c2, c3 = st.columns([2, 1, 2])
mode = c1.radio(
    "prediction", modes, format_func=views.MODE_LABELS.get, horizontal=True, key="explore_mode"
)
options = [n for n in (10, 20, 40, 60, 100) if n < case.n_times] or [case.n_times - 1]
n_frames = c2.select_slider(
    "frames", options, value=40 if 40 in options else options[-1], key="explore_frames"
)
start = c3.slider("start frame", 0, case.n_times - 1 - n_frames, 0, key="explore_start")
with widgets.guard("the time view"), st.spinner(f"running {loaded.name} over {n_frames} frames …"):
    fig = views.scrub_view(loaded, case, mode, start, n_frames)
    widgets.show(fig, "explore_fig")
    field_units = widgets.units(loaded.model.config.in_channels[0])["field"]
    st.caption(
        f"Colour bars: field and |error| in {field_units}"
        "; the latent on its own scale. The latent is drawn on the physical coordinates of "
        "the box it covers, next to the truth averaged onto the same grid. Time in "
        f"{views.time_unit(case)}."
    )
    curves = views.mode_curves(loaded, case, start, n_frames)
    steps = [k for k in (1, 10, n_frames // 2, n_frames) if k <= n_frames]
    st.markdown("**rel. L2 error at a few steps after the start frame**")
    st.dataframe(views.tracking_table(curves, sorted(set(steps))))
