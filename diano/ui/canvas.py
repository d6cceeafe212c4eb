"""The canvas field view as a Streamlit component (a plain HTML/JS page, no build step).

The latent editor redraws its figures on every edit; plotly needs 150–250 ms a figure for
that in the browser, the canvas view a few milliseconds. :func:`show_canvas` draws a spec of
:mod:`diano.viz.canvas`; on a grid spec it returns the user's last selection.
"""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "frontend" / "fieldcanvas"
_component = components.declare_component("fieldcanvas", path=str(FRONTEND))


def show_canvas(spec: dict, key: str, event: int = 0) -> dict | None:
    """Draw ``spec`` (from :func:`diano.viz.canvas.panels_spec` or ``grid_spec``).

    Args:
        spec: what to draw.
        key: the widget key; the grid's selection is also in ``st.session_state[key]``.
        event: the number of the last selection event the app has seen, so that a
            remounted view keeps counting from there.

    Returns:
        For a grid, ``{"cells": [[row, col], …], "event": n}`` after the user's first
        click or box on it, else None.
    """
    return _component(spec=spec, event=int(event), key=key, default=None)
