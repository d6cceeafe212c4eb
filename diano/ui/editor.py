"""Latent editor UI: pick cells, apply edits with undo/redo, see the decoded answer live.

The edit panel is an ``st.fragment``: a click inside it reruns only the panel (not the
page), the model and the base latent come from caches, and the decoded field is computed
once per new latent. The panel's two figures, the latent grid (cells picked by a click or a
dragged box, with the edit buttons above it) and the decoded before / after / difference,
are drawn side by side by one canvas view (:mod:`diano.ui.canvas`), which redraws in
milliseconds where plotly takes 150–250 ms; a button press is that view's value, so an edit
reruns one element. The slower views below keep plotly.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from diano.data import FlowData
from diano.evaluation.edit import edit_verdict, vortex_edit_response
from diano.explore import (
    LambOseen,
    insert_vortex,
    latent_correlation,
    pool_to,
    readable_region,
    saliency,
)
from diano.explore.predict import to_tensor
from diano.latent_edit import (
    AddLatent,
    FourierFilter,
    GaussianBump,
    LatentGrid,
    ScaleRegion,
    SetRegion,
)
from diano.ui.cache import LoadedModel, load_case, load_model, model_truth, samples_key
from diano.ui.canvas import show_canvas
from diano.ui.state import EditorState, page_state
from diano.ui.views import coords, latent_grid, length_unit, tied_over_box
from diano.ui.widgets import guarded, show, units
from diano.viz import Panel, latent_vs_truth_figure, panel_figure, saliency_figure
from diano.viz.canvas import Button, grid_spec, panels_spec, views_spec

TOOLS = ("Gaussian bump", "set region", "scale region", "Fourier modes")
#: cells along the longer side of the live decoded field (the decoder emits any grid)
LIVE_GRID = 64
STATE_KEY = "editor"


@st.cache_resource(show_spinner=False, max_entries=64)
def _encode(model_key: tuple, case_key: tuple, t: int) -> torch.Tensor:
    loaded = load_model(model_key[0], model_key[1], model_key[3])
    truth = model_truth(load_case(*case_key[:2]), loaded)
    device = next(loaded.model.parameters()).device
    with torch.no_grad():
        return loaded.model.encode(to_tensor(truth[t : t + 1]).to(device)).cpu()


def base_latent(loaded: LoadedModel, case: FlowData, t: int) -> torch.Tensor:
    """Encoded latent of frame ``t``, ``(1, Lc, M_y, M_x)`` (shared, never modified)."""
    return _encode(loaded.key, (loaded.benchmark, case.case_id, samples_key()), int(t))


def editor_state(loaded: LoadedModel, case: FlowData, t: int) -> EditorState:
    """This session's editor state for the model, case and frame (fresh when they change)."""
    source = (*loaded.key, case.case_id, int(t))

    def fresh() -> EditorState:
        # the grid view's last event belongs to the previous state: start counting there
        return EditorState(source, base_latent(loaded, case, t), last_event=grid_event())

    return page_state(STATE_KEY, source, fresh)


def edited_latent(state: EditorState, grid: LatentGrid) -> torch.Tensor:
    return state.history.current(state.base, grid)


def decode(loaded: LoadedModel, z: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    """Decode ``z`` to ``(C, H, W)``, memoised per latent value in the session."""
    digest = hashlib.blake2b(z.numpy().tobytes(), digest_size=16).hexdigest()
    memo = st.session_state.setdefault("_decoded", {})
    key = (loaded.key, digest, shape)
    if key not in memo:
        device = next(loaded.model.parameters()).device
        with torch.no_grad():
            u = loaded.model.decode(z.to(device), output_shape=shape)
        if len(memo) > 16:
            memo.clear()
        memo[key] = u[0].cpu().numpy()
    return memo[key]


def output_grid(
    case: FlowData, full: bool
) -> tuple[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Grid the live view decodes onto, ``(H, W)``, and its cell centres ``(x, y)``.

    The case's own grid when ``full`` or already small; otherwise at most :data:`LIVE_GRID`
    cells along the longer side over the same box (half the decoding time at 128×128).
    """
    x, y = coords(case)
    h, w = case.spatial_shape
    if full or max(h, w) <= LIVE_GRID:
        return (h, w), (x, y)
    factor = LIVE_GRID / max(h, w)
    shape = (max(1, round(h * factor)), max(1, round(w * factor)))
    yc, xc = LatentGrid.from_coords(shape, x, y).centres()
    return shape, (xc, yc)


def grid_event() -> int:
    """Number of the grid view's last event (0: none yet)."""
    value = st.session_state.get("editor_grid")
    return int(value["event"]) if isinstance(value, dict) and "event" in value else 0


def _take_event(state: EditorState, grid: LatentGrid, make_edit) -> None:
    """Take a new event of the grid view: its selection, then its action.

    The view reports its last event on every rerun; only an event with a new number is
    taken, so an edit is applied once, "clear selection" and "reset" stay in effect, and a
    state made after the event (another frame, model or case) does not take it either. The
    actions are those of :func:`_buttons` (``"select"``: a click or box on the grid).
    """
    value = st.session_state.get("editor_grid")
    event = grid_event()
    if event == state.last_event:
        return
    state.last_event = event
    rows, cols = grid.shape
    cells = {(int(r), int(c)) for r, c in value.get("cells", ())}
    state.selected = tuple(sorted((r, c) for r, c in cells if 0 <= r < rows and 0 <= c < cols))
    action = value.get("action", "select")
    if action == "apply":
        pending = make_edit(state.selected)
        if pending is not None:
            state.history = state.history.push(pending)
            state.applied += 1
    elif action == "undo" and state.history.can_undo:
        state.history = state.history.undo()
        state.applied += 1
    elif action == "redo" and state.history.can_redo:
        state.history = state.history.redo()
        state.applied += 1
    elif action == "reset":
        state.history = state.history.reset()
        state.selected = ()
        state.applied += 1
    elif action == "clear":
        state.selected = ()


def _buttons(state: EditorState, pending) -> list[Button]:
    """The edit actions, drawn by the grid view above the grid."""
    return [
        Button("apply", "apply", pending is not None, primary=True),
        Button("undo", "undo", state.history.can_undo),
        Button("redo", "redo", state.history.can_redo),
        Button("reset", "reset"),
        Button("clear", "clear selection", bool(state.selected)),
    ]


def _tool_edit(tool: str, grid: LatentGrid, scale: float):
    """Widgets of the chosen tool.

    Returns a function of the selected cells giving the edit the widgets describe (None
    when a region tool has no cells), and the markers to draw on the grid.
    """
    yc, xc = grid.centres()
    hy, hx = grid.spacing
    if tool == "Gaussian bump":
        c1, c2 = st.columns(2)
        default_x = float(xc[int(len(xc) * 0.6)])
        bx = c1.slider("centre x", float(xc[0]), float(xc[-1]), default_x, key="bump_x")
        by = c2.slider(
            "centre y", float(yc[0]), float(yc[-1]), float(yc[len(yc) // 2]), key="bump_y"
        )
        radius = c1.slider("radius σ", 0.5 * hx, 6 * hx, 1.5 * hx, key="bump_r")
        amp = c2.slider("amplitude", -2 * scale, 2 * scale, scale, key="bump_a")
        bump = GaussianBump(bx, by, radius, amp)
        return (lambda cells: bump), {"bump": (bx, by)}
    if tool == "set region":
        value = st.slider("value", -2 * scale, 2 * scale, 0.0, key="set_value")
        return (lambda cells: SetRegion(cells, value) if cells else None), {}
    if tool == "scale region":
        factor = st.slider("factor", -2.0, 3.0, 0.0, 0.1, key="scale_factor")
        return (lambda cells: ScaleRegion(cells, factor) if cells else None), {}
    k_max = float(np.hypot(grid.shape[0] // 2, grid.shape[1] // 2))
    action = st.radio("action", ("keep", "zero"), horizontal=True, key="fourier_action")
    band = st.slider("|k| band", 0.0, k_max, (0.0, k_max / 3), 0.5, key="fourier_band")
    fourier = FourierFilter(band[0], band[1], action)
    return (lambda cells: fourier), {}


def _edit_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """The tool widgets under the edit view; a change of tool reruns both, an edit only
    the view (:func:`_edit_view`, a fragment inside this one)."""
    state = editor_state(loaded, case, t)
    grid = latent_grid(case, tuple(state.base.shape))
    scale = float(state.base[0, 0].abs().max()) or 1.0
    view, controls = st.container(), st.container()
    with controls:
        c_tool, c_params, c_options = st.columns([1, 2, 1.2])
        with c_tool:
            tool = st.radio("tool", TOOLS, key="editor_tool")
        with c_params:
            make_edit, markers = _tool_edit(tool, grid, scale)
        with c_options:
            preview = st.toggle("preview the tool before applying", False, key="preview")
            full = st.toggle(
                "decode at full resolution",
                False,
                key="editor_full",
                help=f"Off: the decoder emits the field on a {LIVE_GRID}-cell grid, "
                "which is faster; the decoder can produce any grid.",
            )
    with view:
        edit_view(loaded, case, t, make_edit, markers, preview, full)


def _edit_view(
    loaded: LoadedModel, case: FlowData, t: int, make_edit, markers: dict, preview: bool, full: bool
) -> None:
    """The editable latent grid with the edit buttons, and the decoded before / after /
    difference. A click here reruns only this view: its arguments are those of the last run
    of the tool widgets, which have not changed since."""
    state = editor_state(loaded, case, t)
    grid = latent_grid(case, tuple(state.base.shape))
    x, y = coords(case)
    region = readable_region(grid, case.mask, x, y, whole_box=tied_over_box(loaded))
    _take_event(state, grid, make_edit)
    scale = float(state.base[0, 0].abs().max()) or 1.0
    pending = make_edit(state.selected)
    done = state.history.describe()
    notes = [
        f"{len(state.selected)} cell(s) selected (click a cell, or drag a box; shift adds) · "
        "green dashes: where the latent reads as the field",
        "edits in effect: " + ("; ".join(done) if done else "none"),
    ]
    if pending is None:
        notes.insert(0, "select cells on the latent grid first (click a cell or drag a box)")
    source = getattr(getattr(loaded.model.config, "pde", None), "source", None)
    if source is not None:
        _, xc = grid.centres()
        edge = float(xc[source[1] - 1] + grid.spacing[1] / 2)
        notes.append(
            f"carrier latent: you edit the decoded field; marching resets it left of "
            f"x = {edge:.2g} {length_unit(case)} (to the carrier at the cylinder, to 0 "
            "upstream), so edits downstream of it live on"
        )
    current = edited_latent(state, grid)
    previewing = preview and pending is not None
    shown = pending.apply(current, grid) if previewing else current
    shape, (x_out, y_out) = output_grid(case, full)
    before = decode(loaded, state.base, shape)[0]
    after = decode(loaded, shown, shape)[0]
    n = len(state.history.applied)
    title = f"decoded field · {n} edit(s) in effect · action {state.applied}"
    if previewing:
        title += " · previewing the tool"
    grid_view = grid_spec(
        shown[0, 0].numpy(),
        grid,
        limits=(-2.0 * scale, 2.0 * scale),
        selected=state.selected,
        region=region,
        markers=markers,
        length_unit=length_unit(case),
        title="latent z (editable)",
        height=420,
        buttons=_buttons(state, pending),
        notes=notes,
    )
    decoded_view = panels_spec(
        [
            Panel("before (encoded truth)", before, x_out, y_out),
            Panel("after the edits", after, x_out, y_out),
            Panel("difference after − before", after - before, x_out, y_out),
        ],
        units=units(loaded.model.config.in_channels[0]),
        length_unit=length_unit(case),
        height=420,
        title=title,
        notes=[
            "The model decodes the edited latent; the difference shows what the edits did "
            "to the field. Before, after and difference share one colour scale."
        ],
    )
    # one component for both: the rerun sends one element
    spec = views_spec([grid_view, decoded_view], widths=[1, 1.8])
    show_canvas(spec, key="editor_grid", event=state.last_event)


def _saliency_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Which latent cells move one output value: ``|∂u(probe)/∂z|`` by autograd."""
    state = editor_state(loaded, case, t)
    grid = latent_grid(case, tuple(state.base.shape))
    x, y = coords(case)
    c1, c2 = st.columns(2)
    px = c1.slider("probe x", float(x[0]), float(x[-1]), float(x[int(len(x) * 0.7)]), key="probe_x")
    py = c2.slider("probe y", float(y[0]), float(y[-1]), float(y[len(y) // 2]), key="probe_y")
    col = int(np.abs(x - px).argmin())
    row = int(np.abs(y - py).argmin())
    z = edited_latent(state, grid)
    shape = tuple(case.spatial_shape)
    device = next(loaded.model.parameters()).device
    sal = saliency(lambda v: loaded.model.decode(v, output_shape=shape), z.to(device), (row, col))
    field = decode(loaded, z, shape)[0]
    show(
        saliency_figure(
            field,
            x,
            y,
            sal[0],
            grid,
            (float(x[col]), float(y[row])),
            units=units(loaded.model.config.in_channels[0]),
            length_unit=length_unit(case),
        ),
        key="saliency_fig",
    )


def _vortex_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Edit the field instead: insert a Lamb–Oseen vortex, encode, see the latent answer."""
    state = editor_state(loaded, case, t)
    grid = latent_grid(case, tuple(state.base.shape))
    x, y = coords(case)
    c = st.columns(4)
    vx = c[0].slider("vortex x", float(x[0]), float(x[-1]), 3.0, key="vortex_x")
    vy = c[1].slider("vortex y", float(y[0]), float(y[-1]), 0.0, key="vortex_y")
    rc = c[2].slider("core radius r_c", 0.1, 1.5, 0.4, key="vortex_rc")
    gamma = c[3].slider("circulation Γ (U∞D)", -6.0, 6.0, 3.0, key="vortex_gamma")
    vortex = LambOseen(vx, vy, rc, gamma)
    truth = model_truth(case, loaded)
    channels = tuple(loaded.model.config.in_channels)
    edited = insert_vortex(truth[t], channels, x, y, vortex, case.mask)
    device = next(loaded.model.parameters()).device
    with torch.no_grad():
        z_new = loaded.model.encode(torch.as_tensor(edited)[None].to(device)).cpu()
    delta = (z_new - state.base)[0]
    yc, xc = grid.centres()
    decoded = decode(loaded, z_new, tuple(case.spatial_shape))[0]
    show(
        panel_figure(
            [
                Panel("field with the vortex", edited[0], x, y),
                Panel("decoded from its latent", decoded, x, y),
                Panel("latent change Δz", delta[0].numpy(), xc, yc, "latent"),
            ],
            units=units(channels[0]),
            length_unit=length_unit(case),
            height=380,
        ),
        key="vortex_fig",
    )
    strongest = np.unravel_index(int(delta[0].abs().argmax()), grid.shape)
    cell_x, cell_y = xc[strongest[1]], yc[strongest[0]]
    st.caption(
        f"Largest latent change at cell {tuple(int(i) for i in strongest)} "
        f"(x = {cell_x:.2f}, y = {cell_y:.2f}); the vortex sits at ({vx:.2f}, {vy:.2f})."
    )
    if st.button("add this latent change to the edits", key="vortex_adopt"):
        label = f"vortex Γ={gamma:+.2g} at ({vx:.2f}, {vy:.2f}), r_c={rc:.2g}"
        state.history = state.history.push(AddLatent(delta.numpy(), label))
        state.applied += 1
        st.rerun(scope="app")


#: bump widths of the edit measurement, in latent cells (one ≈ a wake vortex)
PROBE_BUMPS = (1.0, 2.0)


@st.cache_data(show_spinner="Measuring how the decoder answers a latent bump …", max_entries=32)
def _edit_responses(model_key: tuple, case_key: tuple) -> dict[float, dict]:
    loaded = load_model(model_key[0], model_key[1], model_key[3])
    case = load_case(*case_key[:2])
    return {c: vortex_edit_response(loaded.model, case, bump_cells=c) for c in PROBE_BUMPS}


def measures_edits(loaded: LoadedModel) -> bool:
    """Whether the edit measurement applies: a marching model with a latent grid on the
    cylinder (the bump goes in the wake, 2 D behind the cylinder)."""
    return loaded.benchmark == "cylinder2d" and loaded.scenario == "temporal"


def edit_response_panel(loaded: LoadedModel, case: FlowData) -> None:
    """The measured answer to "is an edit physics or noise?" for this model and case."""
    if not measures_edits(loaded):
        st.info("Measured for the cylinder's marching models (the temporal checkpoints).")
        return
    responses = _edit_responses(loaded.key, (loaded.benchmark, case.case_id, samples_key()))
    unit = " U∞"
    rows = []
    for cells, e in responses.items():
        expected = e.get("expected_speed")
        rows.append(
            {
                "bump σ (cells)": float(cells),
                "sign": round(float(e["sign"]), 2),
                "from the bump, start (cells)": round(e["offset_cells"][0], 2),
                f"after {e['steps'][-1]} steps (cells)": round(e["offset_cells"][-1], 2),
                "% within 2 cells (worst step)": round(100 * min(e["locality"])),
                f"drift ({unit.strip()})": round(float(e["speed"]), 2),
                f"latent speed ({unit.strip()})": "–" if expected is None else round(expected, 2),
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    for cells, e in responses.items():
        st.markdown(f"**{cells:g}-cell bump.** {edit_verdict(e, unit=unit)}")
    st.caption(
        "A bump of two latent standard deviations is put at x = 2 D on the axis of frame 0, "
        "both latents are marched and decoded, and the decoded difference is measured: its "
        "correlation with the bump (sign), the distance of its centre from where the bump was "
        "put and from where the latent advection carries it, the share of it within two cells "
        "of its centre, and the speed of its centre. `docs/results.md` has the same "
        "measurement for every model and training variant."
    )


def readability_view(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """The latent next to the truth pooled to its grid, with their correlation."""
    state = editor_state(loaded, case, t)
    grid = latent_grid(case, tuple(state.base.shape))
    x, y = coords(case)
    region = readable_region(grid, case.mask, x, y, whole_box=tied_over_box(loaded))
    truth = model_truth(case, loaded)[t, 0]
    pooled = pool_to(truth, grid.shape, case.mask)
    latent = state.base[0, 0].numpy()
    corr = latent_correlation(latent, pooled, region)
    show(
        latent_vs_truth_figure(
            pooled,
            latent,
            grid,
            region=region,
            correlation=corr,
            units=units(loaded.model.config.in_channels[0]),
            length_unit=length_unit(case),
        ),
        key="readable_fig",
    )
    whole = latent_correlation(latent, pooled)
    where = (
        f"{whole:.2f} over the whole box, where the model was trained to read as the field"
        if region.all()
        else f"{corr:.2f} in the outlined region, {whole:.2f} over the whole box"
    )
    st.caption(
        f"Pearson correlation of the latent with the box-averaged truth: {where}. Near 1 the "
        "latent reads as a coarse copy of the field there; the latent has its own colour scale "
        "because correlation fixes the pattern, not the units."
    )


#: fragments rerun on their own, outside the page's guard blocks, so each carries its own guard
edit_panel = st.fragment(guarded(_edit_panel, "the latent editor"))
edit_view = st.fragment(guarded(_edit_view, "the latent editor"))
saliency_panel = st.fragment(guarded(_saliency_panel, "the saliency view"))
vortex_panel = st.fragment(guarded(_vortex_panel, "the vortex view"))
