"""Shared widgets: the sidebar selection, clear messages instead of tracebacks, units.

The sidebar (benchmark, model, case, device) is drawn once by ``app.py`` on every page;
pages read the result with :func:`selection`. :func:`require_model` and
:func:`require_case` turn a missing checkpoint or data file into a short message and let the
page carry on with what it has; :func:`guard` does the same for any failure inside a block.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st
import torch

from diano import MODEL_NAMES
from diano.data import FlowData
from diano.errors import DianoError
from diano.models.presets import supported_scenarios
from diano.ui.cache import LoadedModel, available_scenarios, list_cases, load_case, load_model

LOG = logging.getLogger("diano.ui")

#: benchmarks of the 2D time-marching pages
BENCHMARKS_2D = ("cylinder2d",)
#: pages showing one benchmark of their own: page url path -> benchmark
PAGE_BENCHMARKS = {"vessel3d": "coronary3d", "stenosis": "stenosis2d"}
BENCHMARK_HELP = {
    "cylinder2d": "2D wake behind a cylinder: vorticity on an 8D × 8D window, cylinder at (0, 0).",
    "stenosis2d": "2D pulsatile flow through a symmetric stenosed channel, 1H × 4H window, "
    "throat at x = 0; DIANO reduces it to a line along the axis.",
    "coronary3d": "3D steady flow in curved, stenosed vessels on 64³; pressure from (u, v, w).",
}
CASE_HELP = {
    "cylinder2d": "Reynolds number of the flow; held-out cases were not seen in training.",
    "stenosis2d": "Reynolds number of the pulsatile flow; held-out cases were not trained on.",
    "coronary3d": "One vessel (Reynolds number on the inlet diameter); held out if not trained on.",
}
MODEL_LABELS = {"diano": "DIANO", "cno": "CNO", "cnn_ae": "CNN-AE", "mlp_ae": "MLP-AE"}
UNITS = {
    "vorticity": ("ω", "U∞/D"),
    "u": ("u", "U∞"),
    "v": ("v", "U∞"),
    "p": ("p", "ρU∞²"),
}
#: units where a benchmark's data differ from the cylinder's
BENCHMARK_UNITS = {
    "stenosis2d": {"vorticity": ("ω", "U/H"), "u": ("u", "U"), "v": ("v", "U"), "p": ("p", "ρU²")},
    "coronary3d": {"u": ("u", "U"), "v": ("v", "U"), "w": ("w", "U"), "p": ("p", "ρU²")},
}


@dataclass(frozen=True)
class Selection:
    """What the sidebar picked."""

    benchmark: str
    model: str
    case_id: str | None
    device: str


def units(channel: str, benchmark: str = "cylinder2d") -> dict[str, str]:
    """Colour-bar titles for a channel: field, |error|, latent, saliency."""
    symbol, unit = BENCHMARK_UNITS.get(benchmark, UNITS).get(channel, (channel, ""))
    suffix = f" / ({unit})" if unit else ""
    return {
        "field": f"{symbol}{suffix}",
        "error": f"|Δ{symbol}|{suffix}",
        "latent": "z (latent units)",
        "saliency": "|∂u/∂z|",
    }


def sidebar(page=None) -> Selection:
    """Draw the shared sidebar and remember its selection for the pages.

    ``page`` is the page ``st.navigation`` chose: a page listed in :data:`PAGE_BENCHMARKS`
    shows its own benchmark, and the model and case pickers offer that benchmark's models and
    cases (with their own keys, so the 2D pages' choices are kept); the other pages pick from
    :data:`BENCHMARKS_2D`.
    """
    bar = st.sidebar
    bar.markdown("### DIANO Explorer")
    fixed = PAGE_BENCHMARKS.get(getattr(page, "url_path", None) or "")
    suffix = f"_{fixed}" if fixed else ""
    benchmark = bar.selectbox(
        "benchmark",
        (fixed,) if fixed else BENCHMARKS_2D,
        key=f"benchmark{suffix}",
        disabled=fixed is not None,
        help=BENCHMARK_HELP.get(fixed or "cylinder2d"),
    )
    models = [m for m in MODEL_NAMES if supported_scenarios(m, benchmark)]
    model = bar.selectbox(
        "model", models, key=f"model{suffix}", format_func=lambda m: MODEL_LABELS.get(m, m)
    )
    case_id = None
    try:
        cases = list_cases(benchmark)
    except DianoError as exc:
        bar.warning(str(exc))
        cases = []
    if cases:
        labels = {c.case_id: c.label for c in cases}
        case_id = bar.selectbox(
            "case",
            list(labels),
            key=f"case{suffix}",
            format_func=labels.get,
            help=CASE_HELP.get(benchmark),
        )
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    device = bar.radio("device", devices, key="device", horizontal=True)
    ready = [MODEL_LABELS[m] for m in models if available_scenarios(benchmark, m)]
    bar.caption(
        "trained checkpoints: "
        + (", ".join(ready) if ready else "none yet")
        + f" · running on {device}"
    )
    chosen = Selection(benchmark, model, case_id, device)
    st.session_state["selection"] = chosen
    return chosen


def selection() -> Selection:
    """The sidebar's selection (drawn by ``app.py`` before the page runs).

    Streamlit serves a ``pages/`` folder in its legacy mode, running a page script without
    ``app.py``, until some session has called ``st.navigation``: on a freshly started
    server, a link straight to ``/explore`` does that. Such a run switches the legacy mode
    off, as ``st.navigation`` itself does, and reruns, so the page comes up through
    ``app.py`` with its navigation, layout and sidebar.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    chosen = st.session_state.get("selection")
    return chosen if chosen is not None else sidebar()


def require_model(chosen: Selection, name: str | None = None) -> LoadedModel | None:
    """The model, or ``None`` after telling the person why it is not there."""
    name = name or chosen.model
    try:
        return load_model(chosen.benchmark, name, chosen.device)
    except DianoError as exc:
        st.info(str(exc))
        return None


def require_case(chosen: Selection) -> FlowData | None:
    """The selected case, or ``None`` after saying what is missing."""
    if chosen.case_id is None:
        st.info(
            f"no sample data for {chosen.benchmark} yet — make it with "
            f"`diano generate {chosen.benchmark}`"
        )
        return None
    try:
        return load_case(chosen.benchmark, chosen.case_id)
    except DianoError as exc:
        st.warning(str(exc))
        return None


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a failure inside the block as a one-line message; the rest of the page runs.

    Errors of this package (:class:`~diano.errors.DianoError`) name the problem and are
    shown as warnings; anything else is logged with its traceback on the server and shown
    as a short error line.
    """
    try:
        yield
    except DianoError as exc:
        st.warning(f"{what}: {exc}")
    except Exception as exc:
        LOG.exception("%s failed", what)
        st.error(f"{what} failed ({type(exc).__name__}: {exc}); the rest of the app still works")


def guarded(fn, what: str):
    """``fn`` with its body inside :func:`guard`: for fragments, which rerun on their own,
    outside any ``guard`` block of the page around them."""

    def run(*args, **kwargs) -> None:
        with guard(what):
            fn(*args, **kwargs)

    run.__name__ = run.__qualname__ = getattr(fn, "__name__", "fragment")
    return run


def show(figure, key: str, container=None, **kwargs):
    """Draw a plotly figure as built: Streamlit's chart theme would replace the colour
    scales' ends (a diverging field scale must stay white at zero, |error| black at zero).

    Returns what ``st.plotly_chart`` returns (the selection state with ``on_select``).
    """
    target = container if container is not None else st
    config = {"displaylogo": False}
    return target.plotly_chart(figure, key=key, theme=None, config=config, **kwargs)
