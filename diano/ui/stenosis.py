"""Stenosis page (geometric scenario, 2D → 1D): the field, DIANO's latent line along the
channel axis, time scrubbing, and a 1D solver a person steps with their own settings.

The line of frame ``t`` is marched by a fresh :class:`~diano.solvers.AdvectionDiffusion1d`
(``diano.explore.line``); each state is decoded to the plane and compared with the truth
``k`` snapshots later, next to the reconstruction of that snapshot (encode, decode) and
persistence. The march lives in the session (:class:`LineState`); changing a knob or the
start frame starts it again.

Next to the line the page draws the physical line it can be read against: the centreline
velocity of the truth, read from the vorticity and fitted to the line's scale, with their
correlation. A line with a standing profile (``pde.standing``) is drawn as the sum of its
channels, which is what it was trained to read as, with its two parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch

from diano.data import FlowData
from diano.errors import DianoError
from diano.explore.line import (
    LineSettings,
    build_line_solver,
    centreline_line,
    decode_line,
    encode_line,
    fitted_to,
    line_array,
    line_coordinates,
    line_model,
    line_settings_from_model,
    line_stability,
    line_value,
    march_line,
    standing_channels,
)
from diano.explore.predict import abs_error, rel_l2_curve
from diano.ui.cache import LoadedModel, model_truth
from diano.ui.playground import stability_view
from diano.ui.state import page_state
from diano.ui.widgets import guard, guarded, show, units
from diano.viz.line import line_error_figure, stenosis_figure

STATE_KEY = "stenosis_march"
MAX_STEPS = 400


@dataclass
class LineState:
    """A march of the latent line from one frame.

    Attributes:
        source: ``(model key, case, frame, settings)`` it was started from.
        lines: latent lines ``(1, Lc, M_x)``, the encoded start first.
        errors: rel. L2 of each decoded state against the truth that many snapshots later.
        recon: rel. L2 of the reconstruction of the same truth snapshots.
        persistence: rel. L2 of the start snapshot held fixed.
    """

    source: tuple
    lines: list[torch.Tensor]
    errors: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    persistence: list[float] = field(default_factory=list)

    @property
    def n_steps(self) -> int:
        return len(self.lines) - 1


def blank(field: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """A field for display: NaN (drawn blank) in solid cells."""
    if mask is None:
        return np.asarray(field, np.float32)
    return np.where(np.asarray(mask) > 0, field, np.float32(np.nan)).astype(np.float32)


def frame_time(case: FlowData, t: int) -> str:
    """``t = 0.25 cardiac period`` for frame ``t`` (the case's time coordinate and unit)."""
    times = np.asarray(case.coords.get("t", []))
    if t >= len(times):
        return f"frame {t}"
    unit = case.units.get("t", "")
    return f"t = {float(times[t]):.2f} {unit}".strip()


def _rel(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    return float(rel_l2_curve(pred[None], truth[None], mask)[0])


def _record(loaded: LoadedModel, case: FlowData, t: int, state: LineState, new: list) -> None:
    """Errors of the lines ``new`` (the next ones of the march) against the truth (a
    one-cycle record continues periodically; NaN past the end of any other)."""
    truth = model_truth(case, loaded)
    shape = tuple(case.spatial_shape)
    for z in new:
        k = case.frame(t + len(state.errors))
        if k is None:
            state.errors.append(float("nan"))
            state.recon.append(float("nan"))
            state.persistence.append(float("nan"))
            continue
        decoded = decode_line(loaded.model, z, shape, case.mask)
        recon = decode_line(
            loaded.model, encode_line(loaded.model, truth[k], case.mask), shape, case.mask
        )
        state.errors.append(_rel(decoded, truth[k], case.mask))
        state.recon.append(_rel(recon, truth[k], case.mask))
        state.persistence.append(_rel(truth[t], truth[k], case.mask))


def line_state(loaded: LoadedModel, case: FlowData, t: int, settings: LineSettings) -> LineState:
    truth = model_truth(case, loaded)
    key = (*loaded.key, case.case_id, int(t), settings)

    def fresh() -> LineState:
        start = encode_line(loaded.model, truth[t], case.mask)
        state = LineState(key, [start])
        _record(loaded, case, t, state, [start])
        return state

    return page_state(STATE_KEY, key, fresh)


def settings_widgets(defaults: LineSettings) -> LineSettings:
    """ν, velocity, dt, sub-steps, scheme and boundary of the 1D march."""
    c = st.columns(6)
    nu = c[0].number_input(
        "ν (latent units)", 0.0, 1.0, float(defaults.nu), 1e-4, format="%.5f", key="sn_nu"
    )
    velocity = c[1].number_input(
        "velocity c", -50.0, 50.0, float(defaults.velocity), 0.05, key="sn_c"
    )
    dt = c[2].number_input("dt", 1e-4, 1.0, float(defaults.dt), 0.005, format="%.4f", key="sn_dt")
    options = ("auto", 1, 2, 4, 8, 16, 32)
    default_sub = defaults.n_substeps if defaults.n_substeps in options else "auto"
    substeps = c[3].selectbox(
        "sub-steps",
        options,
        index=options.index(default_sub),
        key="sn_sub",
        help="RK4 steps per snapshot interval; auto takes as many as stability needs",
    )
    schemes = ("central2", "central4", "oucs2")
    scheme = c[4].selectbox(
        "scheme",
        schemes,
        schemes.index(defaults.scheme) if defaults.scheme in schemes else 0,
        key="sn_scheme",
    )
    boundaries = ("periodic", "free", "upwind")
    boundary = c[5].selectbox(
        "boundary",
        boundaries,
        boundaries.index(defaults.boundary) if defaults.boundary in boundaries else 0,
        key="sn_bc",
    )
    return LineSettings(nu, velocity, dt, substeps, scheme, boundary)


def reading(
    loaded: LoadedModel, case: FlowData, frame: int, line: np.ndarray
) -> tuple[np.ndarray, float]:
    """The centreline velocity of truth ``frame``, fitted to ``line``'s scale, and their
    correlation (:func:`~diano.explore.line.fitted_to`)."""
    truth = model_truth(case, loaded)
    y = np.asarray(case.coords["y"])
    physical = centreline_line(truth[frame, 0], case.mask, y, line.size)
    return fitted_to(line, physical)


def reading_text(corr: float, standing: bool) -> str:
    """One sentence on what the line's correlation with the centreline velocity says."""
    if corr >= 0.9:
        verdict = "the line reads as the centreline velocity"
    elif corr >= 0.6:
        verdict = "the line follows the centreline velocity loosely"
    else:
        verdict = "the line does not read as the centreline velocity"
    why = (
        "it was trained to: a standing profile plus a travelling part, their sum tied to it"
        if standing
        else "a one-channel phase line, not trained to read as a flow quantity"
    )
    return f"{verdict} (correlation {corr:+.3f}; {why})"


def frame_view(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Truth at frame ``t``, its reconstruction through the line, |error| and the line."""
    truth = model_truth(case, loaded)
    z = encode_line(loaded.model, truth[t], case.mask)
    decoded = decode_line(loaded.model, z, tuple(case.spatial_shape), case.mask)
    channel = loaded.model.config.in_channels[0]
    x, y = np.asarray(case.coords["x"]), np.asarray(case.coords["y"])
    m = line_model(loaded.model)[0]
    standing = standing_channels(loaded.model)
    value = line_value(z)
    if standing:
        parts = line_array(z)
        lines = {
            "the line z(x) = z₀ + z₁": value,
            "standing part z₀ (never marched)": parts[:standing].sum(axis=0),
            "travelling part z₁ (marched)": parts[standing:].sum(axis=0),
        }
    else:
        lines = {f"latent line z(x), channel {c}": v for c, v in enumerate(line_array(z))}
    fitted, corr = reading(loaded, case, t, value)
    lines["centreline velocity of the truth, fitted to the line"] = fitted
    u = units(channel, "stenosis2d")
    show(
        stenosis_figure(
            {
                f"truth {channel}": blank(truth[t, 0], case.mask),
                "decoded from the line": blank(decoded[0], case.mask),
            },
            x,
            y,
            line_coordinates(x, m),
            lines,
            error=abs_error(decoded[0], truth[t, 0], case.mask),
            units={**u, "latent": "z (latent units)"},
            title=f"frame {t} ({frame_time(case, t)}): the field, encoded to a line of {m} "
            "points and decoded",
        ),
        key="sn_frame",
    )
    st.caption(
        f"rel. L2 error of the decoded field: {_rel(decoded, truth[t], case.mask):.3f}. "
        "The line is the encoder's features averaged over the channel height (fluid cells "
        "only); its points sit at the x of the columns they average. "
        f"Against the truth, {reading_text(corr, bool(standing))}. The centreline "
        "velocity is read from the vorticity, ½(∫ω dy above the axis − ∫ω dy below), and "
        "mapped onto the line's scale by a least-squares fit."
    )


def march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    """Knobs, stability, step buttons and the marched line (a fragment of its own)."""
    st.fragment(guarded(_march_panel, "the 1D march"))(loaded, case, t)


def _march_panel(loaded: LoadedModel, case: FlowData, t: int) -> None:
    try:
        defaults = line_settings_from_model(loaded.model)
    except DianoError as exc:
        st.info(str(exc))
        return
    settings = settings_widgets(defaults)
    length, extent = line_model(loaded.model)
    solver = build_line_solver(settings, length, extent)
    ok = stability_view(line_stability(solver, settings))
    state = line_state(loaded, case, t, settings)
    c = st.columns(4)
    for col, n in ((c[0], 1), (c[1], 10)):
        if col.button(f"step ×{n}", key=f"sn_step{n}", disabled=not ok):
            n = min(n, MAX_STEPS - state.n_steps)
            with st.spinner(f"marching and decoding {n} step(s) …"), guard("the 1D march"):
                new = march_line(
                    solver, state.lines[-1], n, settings, standing_channels(loaded.model)
                )
                state.lines += new
                _record(loaded, case, t, state, new)
    if c[2].button("reset", key="sn_reset"):
        st.session_state.pop(STATE_KEY, None)
        state = line_state(loaded, case, t, settings)
    c[3].caption(f"{state.n_steps} step(s) marched from frame {t}")
    k = state.n_steps
    truth = model_truth(case, loaded)
    shape = tuple(case.spatial_shape)
    x, y = np.asarray(case.coords["x"]), np.asarray(case.coords["y"])
    decoded = decode_line(loaded.model, state.lines[-1], shape, case.mask)[0]
    marched = line_value(state.lines[-1])
    lines = {
        f"marched line, step {k}": marched,
        f"encoded frame {t} (start)": line_value(state.lines[0]),
    }
    corr = None
    fields = {f"decoded after {k} step(s)": blank(decoded, case.mask)}
    error = None
    j = case.frame(t + k)
    if j is not None:
        later = f" (cycle {(t + k) // case.n_times + 1})" if j != t + k else ""
        fields = {f"truth, frame {j}{later}": blank(truth[j, 0], case.mask), **fields}
        error = abs_error(decoded, truth[j, 0], case.mask)
        target = encode_line(loaded.model, truth[j], case.mask)
        lines[f"encoded frame {j}{later} (target)"] = line_value(target)
        fitted, corr = reading(loaded, case, j, marched)
        lines[f"centreline velocity, frame {j}, fitted to the marched line"] = fitted
    channel = loaded.model.config.in_channels[0]
    show(
        stenosis_figure(
            fields,
            x,
            y,
            line_coordinates(x, length),
            lines,
            error=error,
            units={**units(channel, "stenosis2d"), "latent": "z (latent units)"},
            title=f"the line marched {k} step(s) by the 1D solver alone, decoded",
        ),
        key="sn_march",
    )
    if corr is not None:
        st.caption(
            f"Marched {k} step(s), against the truth {k} snapshot(s) later, "
            f"{reading_text(corr, bool(standing_channels(loaded.model)))}."
            + (
                " The standing part stays as encoded; the solver moves the rest."
                if standing_channels(loaded.model)
                else ""
            )
        )
    steps = np.arange(len(state.errors))
    show(
        line_error_figure(
            steps,
            {
                "latent-only march": np.asarray(state.errors),
                "reconstruction of the same snapshot": np.asarray(state.recon),
                "persistence (frame held)": np.asarray(state.persistence),
            },
            title="error against the truth, step by step",
        ),
        key="sn_curve",
    )
