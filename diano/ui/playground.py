"""Solver playground UI: knobs, stability indicator, stepping and playing two forked futures.

Fork A marches the encoded latent of the chosen frame with the chosen settings. Fork B is
either the edited latent from the latent editor (same settings) or the same latent with a
second set of ν and velocity. Both are decoded every step; the error of each against the
truth is recorded per step. Changing a knob restarts both marches from the start latent.
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
    build_solver,
    latent_residual,
    march,
    marching_latent,
    pool_to,
    reference_curves,
    rel_l2_curve,
    settings_from_model,
    stability,
)
from diano.explore.predict import to_tensor
from diano.solvers import StabilityReport
from diano.ui.cache import LoadedModel, model_truth, prediction
from diano.ui.editor import STATE_KEY as EDITOR_KEY
from diano.ui.editor import decode, latent_grid
from diano.ui.state import Fork, PlaygroundState, page_state
from diano.ui.views import coords, length_unit, time_unit, trained_horizon
from diano.ui.widgets import show, units
from diano.viz import Panel, error_curve_figure, panel_figure, spectrum_figure

FORK_B = ("edited latent, same settings", "same latent, other ν and velocity")
MAX_STEPS = 1000


def settings_widgets(defaults: SolverSettings) -> tuple[SolverSettings, SolverSettings | None]:
    """Knobs for the march (fork A) and, optionally, fork B's ν and velocity."""
    c = st.columns(4)
    nu = c[0].number_input(
        "ν (latent units)", 0.0, 1.0, float(defaults.nu), 1e-4, format="%.5f", key="pg_nu"
    )
    cx = c[1].number_input("c_x", -20.0, 20.0, float(defaults.velocity[0]), 0.05, key="pg_cx")
    cy = c[2].number_input("c_y", -20.0, 20.0, float(defaults.velocity[1]), 0.05, key="pg_cy")
    dt = c[3].number_input("dt", 1e-4, 1.0, float(defaults.dt), 0.005, format="%.4f", key="pg_dt")
    substeps = c[0].selectbox("sub-steps", ("auto", 1, 2, 4, 8, 16, 32), key="pg_sub")
    schemes = ("central2", "oucs2")
    scheme = c[1].selectbox(
        "scheme", schemes, index=schemes.index(defaults.scheme), key="pg_scheme"
    )
    boundaries = ("periodic", "free", "upwind")
    bx = c[2].selectbox(
        "boundary x", boundaries, boundaries.index(defaults.boundary[0]), key="pg_bx"
    )
    by = c[3].selectbox(
        "boundary y", boundaries, boundaries.index(defaults.boundary[1]), key="pg_by"
    )
    a = SolverSettings(nu, (cx, cy), dt, substeps, scheme, (bx, by))
    kind = st.radio("fork B", FORK_B, horizontal=True, key="pg_fork")
    if kind == FORK_B[0]:
        return a, None
    c = st.columns(3)
    nu_b = c[0].number_input("ν of B", 0.0, 1.0, 10 * nu, 1e-4, format="%.5f", key="pg_nu_b")
    cx_b = c[1].number_input("c_x of B", -20.0, 20.0, 0.8 * cx, 0.05, key="pg_cx_b")
    cy_b = c[2].number_input("c_y of B", -20.0, 20.0, cy, 0.05, key="pg_cy_b")
    return a, dataclasses.replace(a, nu=nu_b, velocity=(cx_b, cy_b))


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
    return z0, edited, "B: edited latent"


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
    shape, box = marching_latent(loaded.model)
    n = min(n, MAX_STEPS - state.n_steps)
    for name, fork in state.forks.items():
        solver = build_solver(settings[name], shape, box)
        new = march(solver, fork.latents[-1], n, settings[name])
        fork.errors += _errors(loaded, case, t, new, len(fork.latents))
        fork.latents += new


def playground_state(
    loaded: LoadedModel, case: FlowData, t: int, settings: dict, starts: tuple, label_b: str
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
        return PlaygroundState(key, forks)

    return page_state("playground", key, fresh)


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
    shape, box = marching_latent(loaded.model)
    solver = build_solver(settings, shape, box)
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
        right.caption(
            "0: the latent obeys ∂z/∂t + c·∇z = ν∇²z with these settings; 1: its change is "
            "unexplained by the PDE. The encoded truth shows how well the encoder's latents "
            "follow the physics the solver imposes."
        )


def _spectrum(z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    k, energy = metrics.radial_energy_spectrum(z.float(), ndim=2)
    return k.numpy(), energy.numpy()


def march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Knobs, stability, step/play buttons and the forks, as a fragment that reruns on its
    own (every 0.5 s while playing, stepping two steps each time)."""
    playing = bool(st.session_state.get("pg_playing", False))
    st.fragment(_march_panel, run_every=0.5 if playing else None)(loaded, case, t)


def _march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    try:
        defaults = settings_from_model(loaded.model)
    except DianoError as exc:
        st.info(str(exc))
        return
    settings_a, settings_b = settings_widgets(defaults)
    settings = {"A": settings_a, "B": settings_b or settings_a}
    shape, box = marching_latent(loaded.model)
    ok = stability_view(stability(build_solver(settings_a, shape, box), settings_a), "(A)")
    if settings_b is not None:
        report_b = stability(build_solver(settings_b, shape, box), settings_b)
        if not report_b.ok:
            st.warning(f"Fork B not marching: {report_b.explain()}", icon=":material/warning:")
        ok = ok and report_b.ok
    starts = start_latents(loaded, case, t, settings_b)
    state = playground_state(loaded, case, t, settings, starts[:2], starts[2])
    playing = bool(st.session_state.get("pg_playing", False))
    c = st.columns(5)
    if c[0].button("step ×1", key="pg_step1", disabled=not ok):
        step_forks(loaded, case, t, state, settings, 1)
    if c[1].button("step ×10", key="pg_step10", disabled=not ok):
        with st.spinner("marching and decoding 10 steps …"):
            step_forks(loaded, case, t, state, settings, 10)
    if c[2].button("pause" if playing else "play", key="pg_play", disabled=not ok):
        # a full rerun re-registers this fragment with (or without) its timer
        st.session_state["pg_playing"] = not playing
        st.rerun(scope="app")
    if c[3].button("reset", key="pg_reset"):
        st.session_state.pop("playground", None)
        st.session_state["pg_playing"] = False
        st.rerun(scope="app")
    if playing and ok and state.n_steps < MAX_STEPS:
        step_forks(loaded, case, t, state, settings, 2)
    c[4].caption(f"{state.n_steps} step(s) marched")
    forks_view(loaded, case, t, state)
    physics_view(loaded, case, t, state, settings_a)
