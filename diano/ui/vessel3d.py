"""3D vessel page: pressure from velocity in a coronary-like vessel (many-to-one).

Every model with a ``coronary3d`` checkpoint maps the case's (u, v, w) to p at full
resolution (cached per model and case); the page then shows, at the display resolution a
person picks (box-averaged, with a note when it is coarser than the data):

* a pyvista scene (stpyvista): the vessel wall, and per field (truth, DIANO, CNO, CNN-AE)
  the same three orthogonal slice planes and isosurfaces with one colour scale, velocity
  glyphs or streamlines in the truth's view;
* a plotly slice view of the same planes (pressure or |error|);
* DIANO's inside: the latent lattice drawn in the vessel, coloured by the latent pressure of
  the Poisson solve, beside the decoded pressure.

The controls and views sit in fragments: moving a slice reruns only its fragment, and each
pyvista scene is exported once per distinct input (``diano.ui.scene``).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from diano.data import FlowData
from diano.errors import DianoError
from diano.explore.vessel import (
    VesselPrediction,
    display_sizes,
    downsample,
    downsample_coords,
    downsample_mask,
    fullest_planes,
    lattice_centres,
    map_pressure,
    rel_l2,
    velocity_channels,
)
from diano.ui import scene
from diano.ui.cache import LoadedModel, load_case, load_model, samples_key
from diano.ui.widgets import MODEL_LABELS, Selection, guard, guarded, show, units
from diano.viz.scene3d import ScenePanel, shared_limits, vessel_scene, vessel_surface
from diano.viz.slices3d import slice_figure
from diano.viz.style import positive_limits

BENCHMARK = "coronary3d"
#: models with a many-to-one map on this benchmark, in display order
VESSEL_MODELS = ("diano", "cno", "cnn_ae")
VECTORS = {"none": "none", "glyphs": "velocity glyphs", "streamlines": "streamlines"}


@st.cache_resource(show_spinner=False, max_entries=12)
def _prediction(model_key: tuple, case_id: str, samples: str) -> VesselPrediction:
    benchmark, name, _scenario, device, _path, _sha = model_key
    loaded = load_model(benchmark, name, device)
    case = load_case(benchmark, case_id)
    out = map_pressure(loaded.model, velocity_channels(case.fields, case.channels), case.mask)
    for a in (out.pressure, out.latent_pressure, out.latent_velocity, out.latent_mask):
        if a is not None:
            a.setflags(write=False)
    return out


def prediction(loaded: LoadedModel, case: FlowData) -> VesselPrediction:
    """The model's pressure for this case (computed once per model and case)."""
    return _prediction(loaded.key, case.case_id, samples_key())


@st.cache_resource(show_spinner=False, max_entries=8)
def _surface(case_id: str, samples: str, factor: int):
    case = load_case(BENCHMARK, case_id)
    return vessel_surface(downsample_mask(case.mask, factor), coords_of(case, factor))


def coords_of(case: FlowData, factor: int = 1) -> list[np.ndarray]:
    """``(z, y, x)`` cell centres at the display factor."""
    return [downsample_coords(case.coords[a], factor) for a in ("z", "y", "x")]


def truth_pressure(case: FlowData) -> np.ndarray:
    if "p" not in case.channels:
        raise DianoError(f"case {case.case_id} holds no pressure channel p: {list(case.channels)}")
    return np.asarray(case.fields[0, case.channels.index("p")], np.float32)


def available_models(chosen: Selection) -> dict[str, LoadedModel]:
    """Loaded many-to-one models, the sidebar's model first; a line for each model without
    a checkpoint."""
    loaded, missing = {}, []
    order = sorted(VESSEL_MODELS, key=lambda m: m != chosen.model)
    for name in order:
        try:
            loaded[name] = load_model(BENCHMARK, name, chosen.device)
        except DianoError as exc:
            missing.append(f"{MODEL_LABELS[name]}: {exc}")
    if missing:
        st.info(
            "Not shown, no checkpoint yet:\n\n" + "\n".join(f"- {m}" for m in missing),
            icon=":material/info:",
        )
    return loaded


def vessel_page(chosen: Selection, case: FlowData) -> None:
    """The whole page below the title (the page script checks the case exists)."""
    if len(case.spatial_shape) != 3:
        st.warning(f"case {case.case_id} is not a 3D case (shape {case.fields.shape})")
        return
    loaded = available_models(chosen)
    truth = truth_pressure(case)
    preds: dict[str, VesselPrediction] = {}
    with st.spinner("mapping velocity to pressure with each model …"):
        for name, model in loaded.items():
            with guard(f"{MODEL_LABELS[name]} on {case.case_id}"):
                preds[name] = prediction(model, case)
    if preds:
        c = st.columns(len(preds) + 1)
        c[0].metric("fluid cells", f"{int((case.mask > 0).sum()):,}")
        for col, (name, pred) in zip(c[1:], preds.items(), strict=True):
            col.metric(
                f"{MODEL_LABELS[name]} rel. L2 of p",
                f"{rel_l2(pred.pressure, truth, case.mask):.3f}",
            )
    else:
        st.caption("Only the truth is shown until a coronary3d checkpoint is trained.")
    st.fragment(guarded(_views, "the 3D views"))(chosen, case, preds)
    if "diano" in preds and preds["diano"].latent_pressure is not None:
        st.fragment(guarded(_latent_view, "the latent view"))(case, preds["diano"])


def _views(chosen: Selection, case: FlowData, preds: dict[str, VesselPrediction]) -> None:
    n = case.spatial_shape[-1]
    c = st.columns([1, 2, 1, 1])
    res = c[0].selectbox(
        "display resolution",
        display_sizes(n),
        key="v3_res",
        format_func=lambda r: f"{r}³" + (" (full)" if r == n else ""),
        help="The models run at the data's resolution; the views can be box-averaged coarser.",
    )
    names = c[1].multiselect(
        "models",
        list(preds),
        default=list(preds),
        key="v3_models",
        format_func=MODEL_LABELS.get,
    )
    n_iso = c[2].slider("isosurfaces", 0, 5, 2, key="v3_iso")
    vectors = c[3].selectbox("velocity", list(VECTORS), key="v3_vec", format_func=VECTORS.get)
    factor = n // res
    if factor > 1:
        st.info(
            f"Down-sampled for display: shown at {res}³, box-averaged ×{factor} per axis from "
            f"the {n}³ data (the models ran at {n}³; the errors above are at full resolution).",
            icon=":material/photo_size_select_small:",
        )
    s = st.columns(4)
    position = []
    start = dict(zip("xyz", fullest_planes(case.mask), strict=True))
    start["x"] = n // 2
    for col, axis in zip(s, ("x", "y", "z"), strict=False):
        values = np.asarray(case.coords[axis], np.float64)
        mid = float(values[start[axis]])
        kept = st.session_state.get(f"v3_s{axis}")
        if kept is not None and not values[0] <= kept <= values[-1]:
            del st.session_state[f"v3_s{axis}"]  # from a case on another grid
        position.append(
            col.slider(
                f"slice {axis}",
                float(values[0]),
                float(values[-1]),
                mid,
                float(values[1] - values[0]),
                key=f"v3_s{axis}",
                format="%.2f",
            )
        )
    planes = s[3].multiselect("planes", ["x", "y", "z"], default=["x", "y", "z"], key="v3_planes")
    coords = coords_of(case, factor)
    mask = downsample_mask(case.mask, factor)
    fields = {"truth": downsample(truth_pressure(case), case.mask, factor)}
    for name in names:
        fields[MODEL_LABELS[name]] = downsample(preds[name].pressure, case.mask, factor)
    limits = shared_limits(fields.values(), mask)
    velocity = downsample(velocity_channels(case.fields, case.channels), case.mask, factor)
    panels = [ScenePanel(title, p, velocity=title == "truth") for title, p in fields.items()]
    surface = _surface(case.case_id, samples_key(), factor)

    def build():
        return vessel_scene(
            panels,
            mask,
            coords,
            slice_at=position,
            slice_axes="".join(sorted(planes)),
            n_iso=n_iso,
            limits=limits,
            vectors=vectors,
            velocity=velocity,
            surface=surface,
        )

    key = (
        case.case_id,
        samples_key(),
        tuple(names),
        res,
        tuple(position),
        tuple(planes),
        n_iso,
        vectors,
        tuple(sorted((k, preds[k].pressure.sum()) for k in names)),
    )
    u = units("p", BENCHMARK)
    order = "left to right, top to bottom: " if len(fields) > 2 else "left to right: "
    st.markdown(
        f"**Pressure** {u['field']} in the views {order}**" + "**, **".join(fields) + "**. "
        f"One colour scale (Viridis, {limits[0]:.3g} … {limits[1]:.3g}, the slice view's "
        "colour bar below); drag to rotate, the views turn together."
        + (" Velocity shown in the truth's view." if vectors != "none" else "")
    )
    with st.spinner("building the 3D scene …"), guard("the 3D view"):
        scene.show_scene(build, key, key="v3_scene")
    index = [int(np.abs(c_ - p).argmin()) for c_, p in zip(coords[::-1], position, strict=True)]
    kind = st.radio("slice view", ("pressure", "|error|"), horizontal=True, key="v3_kind")
    if kind == "|error|" and len(fields) > 1:
        truth = fields["truth"]
        errors = {t: np.abs(f - truth) for t, f in fields.items() if t != "truth"}
        figure = slice_figure(
            errors,
            mask,
            coords,
            index,
            limits=positive_limits(errors.values()),
            colour_title=u["error"],
            error=True,
        )
    else:
        figure = slice_figure(fields, mask, coords, index, limits=limits, colour_title=u["field"])
    show(figure, key="v3_slices")


def _latent_view(case: FlowData, pred: VesselPrediction) -> None:
    st.subheader("Inside DIANO: the latent lattice and its pressure–Poisson solve")
    m = pred.latent_pressure.shape
    st.markdown(
        f"Three encoders map u, v, w to latent velocities on a {m[0]}×{m[1]}×{m[2]} lattice; "
        "the latent pressure solves ∇²p = −ρ Σ ∂ᵢuⱼ ∂ⱼuᵢ on the lattice nodes inside the "
        "vessel (p = 0 on the others), and the decoder lifts it to the full grid. Left: the "
        "lattice's fluid nodes, coloured by the latent pressure (Plasma, as in the latent "
        "slices below); right: the decoded pressure (Viridis), cut at the fullest y plane."
    )
    centres = lattice_centres(coords_of(case), m)
    c = st.columns(3)
    c[0].metric("latent fluid nodes", f"{int(pred.latent_mask.sum())} of {int(np.prod(m))}")
    c[1].metric("compression", f"{np.prod(case.spatial_shape) * 3 / np.prod(m):,.0f} : 1")
    c[2].caption(f"Poisson solve: {pred.solve or 'n/a'}")
    lat_limits = shared_limits([pred.latent_pressure], pred.latent_mask)
    dec_limits = shared_limits([pred.pressure], case.mask)
    coords = coords_of(case)
    surface = _surface(case.case_id, samples_key(), 1)
    position = [float(a[i]) for a, i in zip(coords[::-1], fullest_planes(case.mask), strict=True)]

    def build():
        return vessel_scene(
            [
                ScenePanel(
                    "latent pressure on the lattice",
                    latent=(pred.latent_pressure, pred.latent_mask, centres),
                ),
                ScenePanel("DIANO decoded pressure", pred.pressure),
            ],
            case.mask,
            coords,
            slice_at=position,
            slice_axes="y",
            limits=dec_limits,
            latent_limits=lat_limits,
            surface=surface,
            window_size=(900, 420),
        )

    key = ("latent", case.case_id, samples_key(), float(pred.pressure.sum()))
    with st.spinner("building the latent scene …"), guard("the latent view"):
        scene.show_scene(build, key, key="v3_latent_scene")
    show(
        slice_figure(
            {"latent p": pred.latent_pressure},
            pred.latent_mask,
            centres,
            fullest_planes(pred.latent_mask),
            limits=lat_limits,
            colour_title="latent p",
            row_height=300,
        ),
        key="v3_latent_slices",
    )
    show(
        slice_figure(
            {"decoded p": pred.pressure},
            case.mask,
            coords,
            fullest_planes(case.mask),
            limits=dec_limits,
            colour_title=units("p", BENCHMARK)["field"],
            row_height=300,
        ),
        key="v3_decoded_slices",
    )
