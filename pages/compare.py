"""Compare models: one time cursor drives every model's field and error."""

from __future__ import annotations

import streamlit as st

from diano import MODEL_NAMES
from diano.errors import DianoError
from diano.ui import views, widgets
from diano.ui.cache import load_model, model_truth

chosen = widgets.selection()
st.title("Compare models")
st.markdown(
    "DIANO against three baselines with the same compression: a CNO, a CNN autoencoder and an "
    "MLP autoencoder (the baselines march with learned steps, DIANO with its PDE). Move the "
    "cursor, or click a point on the error curves, and every panel follows."
)
case = widgets.require_case(chosen)
if case is None:
    st.stop()
models = []
missing = []
for name in MODEL_NAMES:
    try:
        models.append(load_model(chosen.benchmark, name, chosen.device))
    except DianoError as exc:
        missing.append(str(exc))
for text in missing:
    st.info(text)
if not models:
    st.stop()
c1, c2, c3 = st.columns([2, 1, 1])
mode = c1.radio(
    "prediction",
    ["reconstruction", "latent"],
    format_func=views.MODE_LABELS.get,
    horizontal=True,
    key="compare_mode",
)
options = [n for n in (10, 20, 40, 60) if n < case.n_times] or [case.n_times - 1]
n_steps = c2.select_slider(
    "frames", options, value=20 if 20 in options else options[-1], key="compare_frames"
)
start = c3.number_input("start frame", 0, case.n_times - 1 - n_steps, 0, key="compare_start")


def _cursor_from_curve() -> None:
    event = st.session_state.get("compare_curve") or {}
    points = (event.get("selection") or {}).get("points") or []
    if points and "customdata" in points[0]:
        data = points[0]["customdata"]
        st.session_state["compare_t"] = int(data[0] if isinstance(data, list) else data)


with widgets.guard("the comparison"), st.spinner("running every model over the window …"):
    full = model_truth(case, models[0])
    truth = full[start : start + n_steps + 1]
    preds = views.compare_predictions(models, case, mode, start, n_steps)
    t = st.slider("time cursor (frames after the start)", 0, n_steps, 0, key="compare_t")
    channel = models[0].model.config.in_channels[0]
    fields, errors = views.compare_panels(case, truth, preds, t, channel)
    widgets.show(fields, "compare_fields")
    widgets.show(errors, "compare_errors")
    widgets.show(
        views.compare_curves(case, truth, preds, start, n_steps, t, full),
        key="compare_curve",
        on_select=_cursor_from_curve,
        selection_mode="points",
    )
    st.markdown("**Errors over the window, size, and speed on this machine**")
    st.dataframe(views.compare_table(models, truth, preds, case.mask))
    st.caption(
        "rel-L2 and MSE over fluid cells, averaged over the frames shown; latency is the median "
        f"of 5 runs of one frame on {chosen.device} (encode+decode, and one step+decode)."
    )
