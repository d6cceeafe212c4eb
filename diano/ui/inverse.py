"""Inverse edit UI (the upper half of ``pages/inverse.py``).

Inverse edit: the person picks a rectangle of the decoded field (sliders, or a box dragged on
the figure) and a target (a constant, or the truth at another frame) and runs Adam on the
latent, or on the latent PDE's ν and velocity (:mod:`diano.explore.inverse`). The loss curve
and a progress bar update while it runs; every iteration is stored in this session's
:class:`InverseState` at once, so a rerun (another click) keeps what was reached. The result
is applied to the latent editor (as one edit in its undo list) or to the solver playground
(its ν and velocity), or discarded. The cached model is never changed. The multi-resolution
decode below it on the page is :mod:`diano.ui.resolution`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch

from diano.data import FlowData
from diano.explore import SolverSettings, model_solver, settings_from_model
from diano.explore.inverse import (
    MAX_ITERS,
    InverseConfig,
    InverseStep,
    Region,
    inverse_edit,
    pde_settings,
)
from diano.latent_edit import AddLatent
from diano.ui.cache import (
    LoadedModel,
    model_truth,
)
from diano.ui.editor import STATE_KEY as EDITOR_KEY
from diano.ui.editor import base_latent, decode, editor_state, latent_grid
from diano.ui.state import page_state
from diano.ui.views import coords, length_unit
from diano.ui.widgets import guarded, show, units
from diano.viz import Panel, panel_figure
from diano.viz.inverse import loss_figure, outline_region, region_figure

STATE_KEY = "inverse"
TARGETS = ("constant value", "truth at another frame")
VARIABLES = {"latent": "the latent", "pde": "ν and velocity of the latent PDE"}
#: redraw the live loss curve every this many iterations
LIVE_EVERY = 5


@dataclass
class InverseState:
    """This session's inverse edit.

    Attributes:
        source: ``(model key…, case, frame)`` the start latent belongs to.
        start: the start latent ``(1, Lc, M_y, M_x)`` (the editor's current latent).
        steps: the iterations of the last run, the start included.
        request: what was asked (config, region, target label) for the last run.
        target: the target of the last run (a float or an ``(H, W)`` field).
        message: the last outcome, shown until the next action.
        last_box: the figure's last reported box (a new one moves the region).
    """

    source: tuple
    start: torch.Tensor
    steps: list[InverseStep] = field(default_factory=list)
    request: dict | None = None
    target: float | np.ndarray | None = None
    message: str | None = None
    last_box: tuple | None = None


def _editor_for(loaded: LoadedModel, case: FlowData, t: int):
    """The latent editor's state if it belongs to this model, case and frame (else None)."""
    state = st.session_state.get(EDITOR_KEY)
    if state is None or state.source != (*loaded.key, case.case_id, int(t)):
        return None
    return state


def _start_latent(loaded: LoadedModel, case: FlowData, t: int) -> tuple[torch.Tensor, str]:
    """The latent editor's current latent for this frame (its edits applied), or the
    encoded frame."""
    z0 = base_latent(loaded, case, t)
    state = _editor_for(loaded, case, t)
    if z0.dim() != 4 or state is None or not state.history.applied:
        return z0, "the encoded frame"
    n = len(state.history.applied)
    return state.history.current(state.base, latent_grid(case, tuple(state.base.shape))), (
        f"the latent editor's latent ({n} edit(s) in effect)"
    )


def inverse_state(loaded: LoadedModel, case: FlowData, t: int) -> tuple[InverseState, str]:
    start, label = _start_latent(loaded, case, t)
    digest = float(start.double().sum())
    source = (*loaded.key, case.case_id, int(t), digest)
    return page_state(STATE_KEY, source, lambda: InverseState(source, start)), label


# -- region ----------------------------------------------------------------------------
def _box_from_chart() -> tuple | None:
    """The box last dragged on the region figure, as ``(x0, x1, y0, y1)``."""
    event = st.session_state.get("inv_region_fig")
    if not event or "selection" not in event:
        return None
    boxes = event["selection"].get("box") or []
    if boxes:
        b = boxes[-1]
        xs, ys = b.get("x", []), b.get("y", [])
        if len(xs) >= 2 and len(ys) >= 2:
            return (min(xs), max(xs), min(ys), max(ys))
    points = event["selection"].get("points") or []
    if points:
        xs, ys = [p["x"] for p in points], [p["y"] for p in points]
        return (min(xs), max(xs), min(ys), max(ys))
    return None


def region_widgets(state: InverseState, x: np.ndarray, y: np.ndarray) -> Region:
    """Sliders for the rectangle; a new box dragged on the figure moves them."""
    lo_x, hi_x, lo_y, hi_y = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    box = _box_from_chart()
    if box is not None and box != state.last_box:
        state.last_box = box
        clip = lambda v, lo, hi: float(min(max(v, lo), hi))  # noqa: E731
        st.session_state["inv_x"] = (clip(box[0], lo_x, hi_x), clip(box[1], lo_x, hi_x))
        st.session_state["inv_y"] = (clip(box[2], lo_y, hi_y), clip(box[3], lo_y, hi_y))
    st.session_state.setdefault("inv_x", (1.0, 3.0) if lo_x < 1 < 3 < hi_x else (lo_x, hi_x))
    st.session_state.setdefault("inv_y", (-1.0, 1.0) if lo_y < -1 < 1 < hi_y else (lo_y, hi_y))
    c1, c2 = st.columns(2)
    xr = c1.slider("region x", lo_x, hi_x, key="inv_x", step=0.05)
    yr = c2.slider("region y", lo_y, hi_y, key="inv_y", step=0.05)
    return Region((float(xr[0]), float(xr[1])), (float(yr[0]), float(yr[1])))


def target_widgets(case: FlowData, loaded: LoadedModel, t: int, field_now: np.ndarray):
    """The target (a float or an ``(H, W)`` field) and its label."""
    kind = st.radio("target", TARGETS, horizontal=True, key="inv_target")
    if kind == TARGETS[0]:
        scale = float(np.abs(field_now).max()) or 1.0
        value = st.slider(
            "value", -scale, scale, 0.0, key="inv_value", help="field units; 0 erases"
        )
        return float(value), f"constant {value:.3g}"
    n = case.n_times
    frame = st.slider("frame of the truth", 0, n - 1, min(t + 10, n - 1), key="inv_frame")
    return model_truth(case, loaded)[frame, 0], f"the truth at frame {frame}"


def config_widgets(loaded: LoadedModel, scale: float) -> InverseConfig:
    """What to optimise, how many iterations, the step size, the marching steps."""
    diano_pde = loaded.name == "diano" and loaded.model.config.scenario == "temporal"
    options = list(VARIABLES) if diano_pde else ["latent"]
    c = st.columns(4)
    variable = c[0].radio("optimise", options, format_func=VARIABLES.get, key="inv_variable")
    marching = loaded.model.scenario in ("temporal",)
    # each option keeps its own steps and step size (the PDE needs at least one step)
    n_min, n_default = (1, 10) if variable == "pde" else (0, 0)
    n_steps = (
        c[1].number_input(
            "solver steps before decoding",
            n_min,
            50,
            n_default,
            key=f"inv_n_{variable}",
            help="the target is met this many latent steps after the optimised start",
        )
        if marching
        else 0
    )
    n_iters = c[2].slider("iterations", 5, min(MAX_ITERS, 300), 60, 5, key="inv_iters")
    lr_default = 0.02 * scale if variable == "latent" else 0.05
    lr = c[3].number_input(
        "Adam step size", 1e-4, 10.0, float(round(lr_default, 4)), format="%.4f",
        key=f"inv_lr_{variable}",
        help="latent units for the latent; units of log ν and of |c| for the PDE",
    )  # fmt: skip
    keep = c[3].select_slider(
        "keep the rest", (0.0, 0.1, 1.0, 10.0), 1.0, key="inv_keep",
        help="weight of keeping the field outside the region as it was",
    )  # fmt: skip
    return InverseConfig(variable, int(n_iters), float(lr), int(n_steps), float(keep))


# -- running -----------------------------------------------------------------------------
def run(loaded, case, state: InverseState, region, mask, target, label, config) -> None:
    """Run the optimisation with a progress bar and a live loss curve."""
    settings = _solver_settings(loaded)
    steps = inverse_edit(
        loaded.model,
        state.start,
        mask,
        target,
        config,
        output_shape=tuple(mask.shape),
        settings=settings,
    )
    state.steps = []
    state.request = {"config": config, "region": region, "target": label, "settings": settings}
    state.target = target
    bar = st.progress(0.0, text="optimising …")
    chart = st.empty()
    for step in steps:
        state.steps.append(step)
        done = step.iteration / config.n_iters
        bar.progress(min(done, 1.0), text=f"iteration {step.iteration} of {config.n_iters}")
        if step.iteration % LIVE_EVERY == 0:
            its = [s.iteration for s in state.steps]
            figure = loss_figure(its, [s.loss for s in state.steps], total=config.n_iters)
            show(figure, key=f"inv_live_{step.iteration}", container=chart)
    bar.empty()
    chart.empty()
    first, last = state.steps[0], state.steps[-1]
    state.message = (
        f"{last.iteration} iterations: objective {first.loss:.3g} → {last.loss:.3g}, RMS misfit "
        f"in the region {first.rms:.3g} → {last.rms:.3g}"
    )


def _solver_settings(loaded: LoadedModel) -> SolverSettings | None:
    """DIANO's latent PDE settings: the playground's ν and velocity when its widgets hold
    some, else the model's own; ``None`` for a model without a latent PDE."""
    if loaded.name != "diano" or loaded.model.config.scenario != "temporal":
        return None
    defaults = settings_from_model(loaded.model)
    keys = ("pg_nu", "pg_cx", "pg_cy")
    if all(k in st.session_state for k in keys):
        nu, cx, cy = (float(st.session_state[k]) for k in keys)
        return dataclasses.replace(defaults, nu=nu, velocity=(cx, cy))
    return defaults


def _may_replace_editor(loaded: LoadedModel, case: FlowData, t: int) -> bool:
    """False (with a warning) when the latent editor holds edits of another frame or model,
    which applying here would replace, and the person has not agreed to that."""
    state = st.session_state.get(EDITOR_KEY)
    if state is None or not state.history.applied or _editor_for(loaded, case, t) is not None:
        return True
    if st.session_state.get("inv_replace_ok"):
        return True
    st.warning(
        f"The latent editor holds {len(state.history.applied)} edit(s) of another frame or "
        "model; tick 'replace them' and apply again, or apply them there first."
    )
    return False


def apply_buttons(loaded: LoadedModel, case: FlowData, t: int, state: InverseState) -> None:
    """Apply the result to the latent editor / the playground, or discard it."""
    last = state.steps[-1]
    config: InverseConfig = state.request["config"]
    c = st.columns(3)
    if config.variable == "latent":
        grid_latent = state.start.dim() == 4
        if c[0].button(
            "apply to the latent editor", key="inv_apply", type="primary",
            disabled=not grid_latent,
            help=None if grid_latent else "this model's latent is a vector, not a grid",
        ):  # fmt: skip
            if not _may_replace_editor(loaded, case, t):
                return
            editor = editor_state(loaded, case, t)
            delta = (last.z - state.start)[0].numpy()
            label = (
                f"inverse edit: {state.request['target']} in {state.request['region'].describe()}"
            )
            editor.history = editor.history.push(AddLatent(delta, label))
            editor.applied += 1
            st.session_state["editor_t"] = int(t)
            st.session_state.pop(STATE_KEY, None)
            st.session_state["inv_done"] = (
                f"Applied as one edit in the latent editor (frame {t}); the solver playground's "
                "fork B marches it. Undo it there."
            )
            st.rerun()
    elif c[0].button("apply to the solver playground", key="inv_apply", type="primary"):
        st.session_state.update(
            pg_t=int(t), pg_nu=float(last.nu), pg_cx=float(last.velocity[0]),
            pg_cy=float(last.velocity[1]),
        )  # fmt: skip
        st.session_state.pop(STATE_KEY, None)
        st.session_state["inv_done"] = (
            f"The solver playground now starts at frame {t} with ν = {last.nu:.4g}, "
            f"c = ({last.velocity[0]:.3f}, {last.velocity[1]:.3f})."
        )
        st.rerun()
    if config.variable == "latent":
        c[2].checkbox("replace the editor's edits of another frame", key="inv_replace_ok")
    if c[1].button("discard", key="inv_discard"):
        state.steps, state.request, state.message = [], None, "discarded"
        st.rerun()


def _marched(model, state: InverseState, config: InverseConfig, last: InverseStep):
    """The start and the result after the edit's solver steps: the start latent with the
    start settings, the result with the optimised latent or settings."""
    settings = state.request["settings"]
    if config.n_steps == 0:
        return state.start, last.z
    with torch.no_grad():
        if settings is None:  # a baseline's learned step
            return model.step(state.start, config.n_steps), model.step(last.z, config.n_steps)
        after = pde_settings(last, settings) if last.nu is not None else settings
        marched = []
        for z, chosen in ((state.start, settings), (last.z, after)):
            solver = model_solver(chosen, model)
            marched.append(solver(z, config.n_steps, n_substeps=chosen.n_substeps))
        return marched[0], marched[1]


def result_view(loaded: LoadedModel, case: FlowData, state: InverseState, shape, x, y) -> None:
    """Start, result, target and change, with the region outlined; the loss curve."""
    config: InverseConfig = state.request["config"]
    last = state.steps[-1]
    model = loaded.model
    z_start, z_end = _marched(model, state, config, last)
    before = decode(loaded, z_start.contiguous(), shape)[0]
    after = decode(loaded, z_end.contiguous(), shape)[0]
    when = f", {config.n_steps} step(s) on" if config.n_steps else ""
    panels = [
        Panel(f"before{when}", before, x, y),
        Panel(f"after the inverse edit{when}", after, x, y),
    ]
    if isinstance(state.target, np.ndarray):
        panels.append(Panel(f"target: {state.request['target']}", state.target, x, y))
    panels.append(Panel("change after − before", after - before, x, y))
    r = state.request["region"]
    region = (*r.x_range, *r.y_range)
    fig = panel_figure(
        panels,
        units=units(model.config.in_channels[0]),
        length_unit=length_unit(case),
        height=380,
        title=f"result: {state.request['target']} in {r.describe()}",
    )
    show(outline_region(fig, region, range(len(panels))), key="inv_result")
    left, right = st.columns([1, 1])
    its = [s.iteration for s in state.steps]
    show(loss_figure(its, [s.loss for s in state.steps]), key="inv_loss", container=left)
    if last.nu is not None:
        first = state.steps[0]
        right.markdown(
            f"**ν**: {first.nu:.4g} → {last.nu:.4g}  \n**c_x**: {first.velocity[0]:.4f} → "
            f"{last.velocity[0]:.4f}  \n**c_y**: {first.velocity[1]:.4f} → "
            f"{last.velocity[1]:.4f}"
        )
        if any(s.cut for s in state.steps):
            right.caption("Some steps were cut back to keep the solver within its stable range.")
    else:
        change = (last.z - state.start).abs()
        right.metric("largest latent change", f"{float(change.max()):.3g}")
        right.caption("The latent edit spreads over the cells the decoder reads for the region.")


def inverse_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Region, target and settings; run; the result with apply / discard. A fragment: a
    click inside it reruns the panel only, with failures shown as a message."""
    st.fragment(guarded(_inverse_panel, "the inverse edit"))(loaded, case, t)


def _inverse_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    state, start_label = inverse_state(loaded, case, t)
    x, y = coords(case)
    shape = tuple(case.spatial_shape)
    field_now = decode(loaded, state.start.contiguous(), shape)[0]
    done = st.session_state.pop("inv_done", None)
    if done:
        st.success(done, icon=":material/check_circle:")
    st.caption(f"Start latent: {start_label}, frame {t}.")
    picker, controls = st.columns([1, 1.4])
    with controls:
        region = region_widgets(state, x, y)
        target, label = target_widgets(case, loaded, t, field_now)
        scale = float(state.start.abs().max()) or 1.0
        config = config_widgets(loaded, scale)
        mask = region.mask(x, y)
        st.caption(f"{int(mask.sum())} grid points in the region.")
        start_run = st.button("run the inverse edit", key="inv_run", type="primary")
    with picker:
        fig = region_figure(
            field_now,
            x,
            y,
            (*region.x_range, *region.y_range),
            units=units(loaded.model.config.in_channels[0]),
            length_unit=length_unit(case),
            title="drag a box to pick the region",
        )
        show(fig, key="inv_region_fig", on_select="rerun", selection_mode=("box",))
    if start_run:
        run(loaded, case, state, region, mask, target, label, config)
    if state.message:
        st.info(state.message)
    if state.steps and state.request is not None:
        result_view(loaded, case, state, shape, x, y)
        apply_buttons(loaded, case, t, state)
