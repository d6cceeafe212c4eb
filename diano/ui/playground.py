"""Solver playground UI: knobs, stability indicator, stepping and playing two forked futures.

Fork A marches the encoded latent of the chosen frame with the chosen settings. Fork B is
either the edited latent from the latent editor (same settings) or the same latent with a
second set of ν and velocity. Both are decoded every step; the error of each against the
truth is recorded per step. Changing a knob restarts both marches from the start latent.

The knobs keep their values when the person visits another page (Streamlit drops the state
of widgets that are not drawn, so :func:`keep_knobs` puts them back before they are drawn).
A session bundle records the march in use (:func:`record`) and restoring it queues the
knobs and the number of steps (:func:`request_restore`); the playground applies them the
next time it opens and marches the same steps again, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st
import torch

from diano import metrics
from diano.data import FlowData
from diano.errors import DianoError
from diano.explore import (
    SolverSettings,
    latent_residual,
    march,
    model_solver,
    pool_to,
    reference_curves,
    rel_l2_curve,
    settings_from_model,
    stability,
)
from diano.explore.playground import BOUNDARIES, CARRIER, SCHEMES, PlaygroundRecord
from diano.explore.predict import to_tensor
from diano.solvers import StabilityReport
from diano.ui.cache import LoadedModel, model_truth, prediction
from diano.ui.editor import STATE_KEY as EDITOR_KEY
from diano.ui.editor import decode, latent_grid
from diano.ui.state import Fork, PlaygroundState, page_state
from diano.ui.views import coords, length_unit, time_unit, trained_horizon
from diano.ui.widgets import guarded, show, units
from diano.viz import Panel, error_curve_figure, panel_figure, spectrum_figure

FORK_B = ("edited latent, same settings", "same latent, other ν and velocity")
LABEL_EDITED = "B: edited latent"
MAX_STEPS = 1000
NU_RANGE = (0.0, 1.0)
C_RANGE = (-20.0, 20.0)
DT_RANGE = (1e-4, 1.0)
SUBSTEPS = ("auto", 1, 2, 4, 8, 16, 32)
#: session keys: the fork state, the knob values last drawn, a queued restore and march
STATE_KEY = "playground"
KNOBS_KEY = "pg_knobs"
RESTORE_KEY = "pg_restore"
MARCH_KEY = "pg_march"
PLAY_KEY = "pg_playing"
STOP_KEY = "pg_stop"
KNOB_KEYS = ("pg_t", "pg_nu", "pg_cx", "pg_cy", "pg_dt", "pg_sub", "pg_scheme", "pg_bx",
             "pg_by", "pg_fork", "pg_nu_b", "pg_cx_b", "pg_cy_b", "pg_learned",
             "pg_learned_b")  # fmt: skip
LEARNED_HELP = (
    "The model's latent PDE has a learned local rate next to the advection–diffusion "
    "(two 3×3 convolutions of the field and the position, acting downstream of the "
    "cylinder): it reshapes and re-weights the vortices as they travel, which transport "
    "alone cannot. Off: the pure advection–diffusion."
)


def settings_widgets(defaults: SolverSettings) -> tuple[SolverSettings, SolverSettings | None]:
    """Knobs for the march (fork A) and, optionally, fork B's ν and velocity."""
    c = st.columns(4)
    nu = c[0].number_input(
        "ν (latent units)", *NU_RANGE, float(defaults.nu), 1e-4, format="%.5f", key="pg_nu"
    )
    cx = c[1].number_input("c_x", *C_RANGE, float(defaults.velocity[0]), 0.05, key="pg_cx")
    cy = c[2].number_input("c_y", *C_RANGE, float(defaults.velocity[1]), 0.05, key="pg_cy")
    dt = c[3].number_input("dt", *DT_RANGE, float(defaults.dt), 0.005, format="%.4f", key="pg_dt")
    substeps = c[0].selectbox("sub-steps", SUBSTEPS, key="pg_sub")
    scheme = c[1].selectbox(
        "scheme", SCHEMES, index=SCHEMES.index(defaults.scheme), key="pg_scheme"
    )
    x_choices = BOUNDARIES if defaults.source is None else (CARRIER, *BOUNDARIES)
    if st.session_state.get("pg_bx", x_choices[0]) not in x_choices:  # kept from another model
        st.session_state.pop("pg_bx")
    bx = c[2].selectbox(
        "boundary x",
        x_choices,
        x_choices.index(defaults.boundary[0]),
        key="pg_bx",
        help=None
        if defaults.source is None
        else "carrier: the model's own latent, an open field fed at the cylinder by a periodic "
        "carrier; the others march both latent channels with that boundary",
    )
    by = c[3].selectbox(
        "boundary y", BOUNDARIES, BOUNDARIES.index(defaults.boundary[1]), key="pg_by"
    )
    learned = False
    if defaults.learned and bx == CARRIER:
        learned = c[0].checkbox("learned local rate", True, key="pg_learned", help=LEARNED_HELP)
    a = SolverSettings(nu, (cx, cy), dt, substeps, scheme, (bx, by), defaults.source, learned)
    if a.carrier and a.source is not None:
        st.caption(
            f"Carrier latent: the decoded field (latent channel 0) is 0 upstream of latent "
            f"column {a.source[0]}, equals the periodic carrier (channel 1) in columns "
            f"{a.source[0]}–{a.source[1] - 1}, and is advected downstream of them on an open box "
            "fed by the carrier, so the wake keeps shedding."
        )
    kind = st.radio("fork B", FORK_B, horizontal=True, key="pg_fork")
    settings_b = None
    if kind == FORK_B[1]:
        c = st.columns(3)
        nu_b = c[0].number_input("ν of B", *NU_RANGE, 10 * nu, 1e-4, format="%.5f", key="pg_nu_b")
        cx_b = c[1].number_input("c_x of B", *C_RANGE, 0.8 * cx, 0.05, key="pg_cx_b")
        cy_b = c[2].number_input("c_y of B", *C_RANGE, cy, 0.05, key="pg_cy_b")
        learned_b = False
        if defaults.learned and bx == CARRIER:
            learned_b = c[0].checkbox(
                "learned local rate in B", learned, key="pg_learned_b", help=LEARNED_HELP
            )
        settings_b = dataclasses.replace(a, nu=nu_b, velocity=(cx_b, cy_b), learned=learned_b)
    knobs = dict(st.session_state.get(KNOBS_KEY, {}))
    knobs.update({k: st.session_state[k] for k in KNOB_KEYS if k in st.session_state})
    st.session_state[KNOBS_KEY] = knobs
    return a, settings_b


# -- keeping and restoring the knobs -----------------------------------------------------
def keep_knobs(case: FlowData) -> None:
    """Call before any knob is drawn: apply a restore queued by :func:`request_restore`, put
    back the knob values a visit to another page dropped, keep the start frame in range."""
    pending = st.session_state.pop(RESTORE_KEY, None)
    if pending is not None:
        for key in (*KNOB_KEYS, STATE_KEY, MARCH_KEY):
            st.session_state.pop(key, None)
        st.session_state[PLAY_KEY] = False
        record = pending["record"]
        st.session_state[KNOBS_KEY] = {} if record is None else knobs_from_record(record)
        if record is not None and record.n_steps:
            source = (*pending["source"], record.start_frame)
            st.session_state[MARCH_KEY] = {"source": source, "n_steps": record.n_steps}
    for key, value in st.session_state.get(KNOBS_KEY, {}).items():
        if key not in st.session_state:
            st.session_state[key] = value
    last = max(case.n_times - 2, 0)
    if st.session_state.get("pg_t", 0) > last:  # another case with fewer frames
        st.session_state["pg_t"] = last


def knobs_from_record(record: PlaygroundRecord) -> dict:
    """The knob values (widget key -> value) that show ``record``."""
    a, b = record.settings_a, record.settings_b
    knobs = {
        "pg_t": int(record.start_frame),
        "pg_nu": float(a.nu),
        "pg_cx": float(a.velocity[0]),
        "pg_cy": float(a.velocity[1]),
        "pg_dt": float(a.dt),
        "pg_sub": a.n_substeps,
        "pg_scheme": a.scheme,
        "pg_bx": a.boundary[0],
        "pg_by": a.boundary[1],
        "pg_fork": FORK_B[0] if b is None else FORK_B[1],
        "pg_learned": bool(a.learned),
    }
    if b is not None:
        knobs["pg_learned_b"] = bool(b.learned)
        knobs["pg_nu_b"] = float(b.nu)
        knobs["pg_cx_b"] = float(b.velocity[0])
        knobs["pg_cy_b"] = float(b.velocity[1])
    return knobs


def knob_problems(record: PlaygroundRecord, n_times: int) -> list[str]:
    """Why the playground's knobs cannot show ``record`` (empty: they can)."""
    problems = []
    if record.start_frame > n_times - 2:
        problems.append(f"start frame {record.start_frame} is past the case's last, {n_times - 2}")
    if record.n_steps > MAX_STEPS:
        problems.append(f"{record.n_steps} steps marched, the playground marches {MAX_STEPS}")
    a, b = record.settings_a, record.settings_b
    for name, s in (("A", a), ("B", b)):
        if s is None:
            continue
        checks = (
            ("ν", s.nu, NU_RANGE),
            ("c_x", s.velocity[0], C_RANGE),
            ("c_y", s.velocity[1], C_RANGE),
            ("dt", s.dt, DT_RANGE),
        )
        for what, value, (lo, hi) in checks:
            if not lo <= value <= hi:
                problems.append(f"fork {name}: {what} = {value:.6g} is outside [{lo:g}, {hi:g}]")
        if s.n_substeps not in SUBSTEPS:
            problems.append(f"fork {name}: {s.n_substeps!r} sub-steps is not among {SUBSTEPS}")
    # the knobs give B its own ν, velocity and learned rate only; the rest is A's
    if (
        b is not None
        and dataclasses.replace(b, nu=a.nu, velocity=a.velocity, learned=a.learned) != a
    ):
        problems.append("fork B differs from A in more than ν, velocity and the learned rate")
    return problems


def record(loaded: LoadedModel, case: FlowData) -> PlaygroundRecord | None:
    """The march the playground shows for this model and case (a restore not yet shown
    included); ``None`` when the playground has not marched them."""
    source = (*loaded.key, case.case_id)
    pending = st.session_state.get(RESTORE_KEY)
    if pending is not None:
        return pending["record"] if pending["source"] == source else None
    state = st.session_state.get(STATE_KEY)
    if state is None or tuple(state.source[: len(source)]) != source or not state.settings:
        return None
    return PlaygroundRecord(
        start_frame=state.start_frame,
        n_steps=state.n_steps,
        settings_a=state.settings["A"],
        settings_b=state.settings["B"] if state.b_other else None,
        b_edited=state.b_edited,
    )


def request_restore(source: tuple, restored: PlaygroundRecord | None) -> None:
    """Queue ``restored`` (``None``: the defaults) for the model and case ``source``; the
    playground applies it before drawing its knobs next time (:func:`keep_knobs`)."""
    st.session_state.pop(STATE_KEY, None)
    st.session_state.pop(MARCH_KEY, None)
    st.session_state[RESTORE_KEY] = {"source": tuple(source), "record": restored}


def stability_view(report: StabilityReport, label: str = "") -> bool:
    """CFL and diffusion numbers against their limits; a warning when unstable."""
    n = report.n_substeps
    c = st.columns(4)
    limit = {"delta_color": "off", "delta_arrow": "off"}
    c[0].metric(
        f"CFL per sub-step {label}", f"{report.cfl / n:.3g}", f"limit {report.cfl_limit:.3g}",
        **limit,
    )  # fmt: skip
    c[1].metric(
        "diffusion number per sub-step",
        f"{report.diffusion_number / n:.3g}",
        f"limit {report.diffusion_limit:.3g}",
        **limit,
    )
    c[2].metric("sub-steps per step", str(n), f"needed {report.n_substeps_needed}", **limit)
    c[3].metric("max |amplification| per step", f"{report.max_amplification:.4f}")
    if report.ok:
        st.success(report.explain(), icon=":material/check_circle:")
    else:
        st.warning(f"Not marching: {report.explain()}", icon=":material/warning:")
    return report.ok


def _edited_start(loaded: LoadedModel, case: FlowData, t: int) -> torch.Tensor | None:
    """The latent editor's edited latent for this model, case and frame, if any edits."""
    state = st.session_state.get(EDITOR_KEY)
    if state is None or state.source != (*loaded.key, case.case_id, int(t)):
        return None
    if not state.history.applied:
        return None
    return state.history.current(state.base, latent_grid(case, tuple(state.base.shape)))


def start_latents(
    loaded: LoadedModel, case: FlowData, t: int, settings_b: SolverSettings | None
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Start latents of forks A and B and B's label."""
    from diano.ui.editor import base_latent

    z0 = base_latent(loaded, case, t)
    if settings_b is not None:
        return z0, z0, "B: other ν, velocity"
    edited = _edited_start(loaded, case, t)
    if edited is None:
        st.info(
            "No edits for this frame yet: fork B starts from the original latent. Edit the "
            "latent on the Latent editor page (same model, case and frame) to fork it."
        )
        return z0, z0, "B: (no edits yet)"
    return z0, edited, LABEL_EDITED


def _errors(loaded: LoadedModel, case: FlowData, t: int, states: list[torch.Tensor], k0: int):
    truth = model_truth(case, loaded)
    shape = tuple(case.spatial_shape)
    out = []
    for k, z in enumerate(states, start=k0):
        if t + k >= truth.shape[0]:
            out.append(float("nan"))
            continue
        u = decode(loaded, z, shape)
        out.append(float(rel_l2_curve(u[None], truth[t + k : t + k + 1], case.mask)[0]))
    return out


def step_forks(
    loaded: LoadedModel,
    case: FlowData,
    t: int,
    state: PlaygroundState,
    settings: dict[str, SolverSettings],
    n: int,
) -> None:
    """March every fork ``n`` more steps (up to :data:`MAX_STEPS`), recording errors."""
    n = min(n, MAX_STEPS - state.n_steps)
    for name, fork in state.forks.items():
        solver = model_solver(settings[name], loaded.model)
        new = march(solver, fork.latents[-1], n, settings[name])
        fork.errors += _errors(loaded, case, t, new, len(fork.latents))
        fork.latents += new


def playground_state(
    loaded: LoadedModel,
    case: FlowData,
    t: int,
    settings: dict,
    starts: tuple,
    label_b: str,
    b_other: bool = False,
) -> PlaygroundState:
    key = (
        *loaded.key,
        case.case_id,
        int(t),
        tuple(settings.items()),
        label_b,
        float(starts[1].sum()),
    )

    def fresh() -> PlaygroundState:
        forks = {
            "A": Fork("A: original latent", [starts[0]]),
            "B": Fork(label_b, [starts[1]]),
        }
        for fork in forks.values():
            fork.errors = _errors(loaded, case, t, fork.latents, 0)
        return PlaygroundState(
            key, forks, start_frame=int(t), settings=dict(settings), b_other=b_other,
            b_edited=not b_other and label_b == LABEL_EDITED,
        )  # fmt: skip

    return page_state(STATE_KEY, key, fresh)


def forks_view(loaded: LoadedModel, case: FlowData, t: int, state: PlaygroundState) -> None:
    """Truth, both decoded forks and their difference; both latents; the error curves."""
    k = state.n_steps
    x, y = coords(case)
    shape = tuple(case.spatial_shape)
    truth = model_truth(case, loaded)
    a, b = state.forks["A"], state.forks["B"]
    ua, ub = decode(loaded, a.latents[k], shape)[0], decode(loaded, b.latents[k], shape)[0]
    panels = []
    if t + k < truth.shape[0]:
        panels.append(Panel(f"truth at step {k}", truth[t + k, 0], x, y))
    panels += [Panel(a.label, ua, x, y), Panel(b.label, ub, x, y), Panel("B − A", ub - ua, x, y)]
    grid = latent_grid(case, tuple(a.latents[0].shape))
    yc, xc = grid.centres()
    panels += [
        Panel("latent A", a.latents[k][0, 0].numpy(), xc, yc, "latent"),
        Panel("latent B", b.latents[k][0, 0].numpy(), xc, yc, "latent"),
    ]
    u = units(loaded.model.config.in_channels[0])
    show(
        panel_figure(
            panels,
            units=u,
            length_unit=length_unit(case),
            height=360,
            max_size=96,
            title=f"step {k} of the latent-only march from frame {t}",
        ),
        key="pg_fields",
    )
    times = np.asarray(case.coords["t"])
    n_ref = min(k, truth.shape[0] - 1 - t)
    step_dt = float(times[1] - times[0]) if len(times) > 1 else 1.0
    axis = float(times[t]) + step_dt * np.arange(k + 1)
    curves = {a.label: np.asarray(a.errors), b.label: np.asarray(b.errors)}
    curves.update(reference_curves(truth, t, n_ref, case.mask))
    horizon = trained_horizon(loaded)
    show(
        error_curve_figure(
            axis,
            curves,
            current=float(axis[-1]),
            horizon=None if horizon is None else float(times[t]) + step_dt * horizon,
            time_unit=time_unit(case),
            title="rel. L2 error against time",
        ),
        key="pg_curve",
    )
    if horizon is not None and k > horizon:
        st.warning(
            f"This march is {k} steps long, past the {horizon} steps the model was trained to "
            "roll out; errors usually grow from here.",
            icon=":material/schedule:",
        )


def physics_view(
    loaded: LoadedModel, case: FlowData, t: int, state: PlaygroundState, settings: SolverSettings
) -> None:
    """Latent energy spectrum against the pooled truth, and the PDE residual."""
    k = state.n_steps
    truth = model_truth(case, loaded)
    z = state.forks["A"].latents[k][0, 0]
    spectra = {"latent A": _spectrum(z)}
    if t + k < truth.shape[0]:
        pooled = pool_to(truth[t + k, 0], tuple(z.shape), case.mask)
        spectra["truth on the latent grid"] = _spectrum(torch.as_tensor(pooled))
    left, right = st.columns(2)
    show(spectrum_figure(spectra), "pg_spectrum", left)
    solver = model_solver(settings, loaded.model)
    n = min(60, truth.shape[0] - 1 - t)
    encoded = prediction(loaded, case, "reconstruction", t, n).latents
    times = np.asarray(case.coords["t"])[t : t + n + 1]
    curves = {}
    if encoded is not None and n >= 1:
        curves["encoded truth"] = latent_residual(solver, to_tensor(encoded), settings.dt)
    if k >= 1:
        marched = torch.cat(state.forks["A"].latents[: n + 1])
        curves["marched latent A"] = latent_residual(solver, marched, settings.dt)
    if curves:
        show(
            container=right,
            figure=error_curve_figure(
                times[1:],
                {name: c.numpy() for name, c in curves.items()},
                y_title="relative PDE residual",
                time_unit=time_unit(case),
                title="does the latent follow the latent PDE?",
            ),
            key="pg_residual",
        )
        carrier = (
            " In a carrier latent the first marched step also sets the field to 0 upstream "
            "and to the carrier at the cylinder, which the encoder only approximates, so the "
            "march's first residual is large."
            if settings.carrier
            else ""
        )
        equation = "∂z/∂t + c·∇z = ν∇²z" + (" + f(z, x, y)" if settings.learned else "")
        right.caption(
            f"0: the latent obeys {equation} with these settings; 1: its change is "
            "unexplained by the PDE. The encoded truth shows how well the encoder's latents "
            "follow the physics the solver imposes." + carrier
        )


def _spectrum(z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    k, energy = metrics.radial_energy_spectrum(z.float(), ndim=2)
    return k.numpy(), energy.numpy()


def march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """The play switch, then knobs, stability, step buttons and the forks as a fragment that
    reruns on its own (every 0.5 s while playing, stepping two steps each time).

    Play is a toggle outside the fragment, not a button inside it: its value is state, so a
    switch made while a timed run is in flight is never lost, and changing it reruns the page,
    which registers the fragment again with or without its timer."""
    if st.session_state.pop(STOP_KEY, False):  # the march asked to stop (end, reset, unstable)
        st.session_state[PLAY_KEY] = False
    playing = st.toggle(
        "play", key=PLAY_KEY, help="march two steps every 0.5 s, decoding each; switch off to pause"
    )
    st.fragment(guarded(_march_panel, "the march"), run_every=0.5 if playing else None)(
        loaded, case, t
    )


def _stop_playing() -> None:
    """Ask the page to switch play off (a widget's value is set before it is drawn)."""
    st.session_state[STOP_KEY] = True
    st.rerun(scope="app")


def _march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    try:
        defaults = settings_from_model(loaded.model)
    except DianoError as exc:
        st.info(str(exc))
        return
    settings_a, settings_b = settings_widgets(defaults)
    settings = {"A": settings_a, "B": settings_b or settings_a}
    try:  # e.g. a stencil wider than this latent grid
        solver_a = model_solver(settings_a, loaded.model)
    except DianoError as exc:
        st.warning(f"Not marching: {exc}", icon=":material/warning:")
        return
    ok = stability_view(stability(solver_a, settings_a), "(A)")
    if settings_b is not None:
        try:
            report_b = stability(model_solver(settings_b, loaded.model), settings_b)
        except DianoError as exc:  # e.g. a carrier marched against the flow
            st.warning(f"Fork B not marching: {exc}", icon=":material/warning:")
            ok = False
        else:
            if not report_b.ok:
                st.warning(f"Fork B not marching: {report_b.explain()}", icon=":material/warning:")
            ok = ok and report_b.ok
    starts = start_latents(loaded, case, t, settings_b)
    state = playground_state(
        loaded, case, t, settings, starts[:2], starts[2], b_other=settings_b is not None
    )
    queued = st.session_state.pop(MARCH_KEY, None)  # a restored bundle's steps
    here = (*loaded.key, case.case_id, int(t))
    if queued and ok and state.n_steps == 0 and queued["source"] == here:
        with st.spinner(f"marching the restored {queued['n_steps']} step(s) …"):
            step_forks(loaded, case, t, state, settings, queued["n_steps"])
    playing = bool(st.session_state.get(PLAY_KEY, False))
    c = st.columns(4)
    if c[0].button("step ×1", key="pg_step1", disabled=not ok):
        step_forks(loaded, case, t, state, settings, 1)
    if c[1].button("step ×10", key="pg_step10", disabled=not ok):
        with st.spinner("marching and decoding 10 steps …"):
            step_forks(loaded, case, t, state, settings, 10)
    if c[2].button("reset", key="pg_reset"):
        st.session_state.pop(STATE_KEY, None)
        _stop_playing()
    if playing:
        if not ok or state.n_steps >= MAX_STEPS:
            _stop_playing()
        step_forks(loaded, case, t, state, settings, 2)
    c[3].caption(f"{state.n_steps} step(s) marched")
    forks_view(loaded, case, t, state)
    physics_view(loaded, case, t, state, settings_a)
