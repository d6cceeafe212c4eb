"""The canvas field view as a Streamlit component (a plain HTML/JS page, no build step).

The latent editor redraws its figures on every edit; plotly needs 150–250 ms a figure for
that in the browser, the canvas view a few milliseconds. :func:`show_canvas` draws a spec of
:mod:`diano.viz.canvas`; when it holds a grid it returns the user's last action there.
"""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "frontend" / "fieldcanvas"
_component = components.declare_component("fieldcanvas", path=str(FRONTEND))


def show_canvas(spec: dict, key: str, event: int = 0) -> dict | None:
    """Draw ``spec``, a view of :mod:`diano.viz.canvas`.

    Args:
        spec: what to draw (from ``panels_spec``, ``grid_spec`` or ``views_spec``).
        key: the widget key; the last action is also in ``st.session_state[key]``.
        event: the number of the last event the app has seen, so that a
            remounted view keeps counting from there.

    Returns:
        For a view holding a grid, ``{"cells": [[row, col], …], "event": n, "action": a}``
        after the user's first click, box or button press on it, else None.
    """
    return _component(spec=spec, event=int(event), key=key, default=None)
