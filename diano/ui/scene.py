"""The one place a pyvista scene reaches the page: :func:`show_scene` (stpyvista, trame).

stpyvista exports the whole scene to a self-contained HTML page (vtk.js, about 1.3 MB) in a
subprocess on every call, which takes about half a second for a vessel. Here the export is
cached by the scene's inputs (``scene_key``), so a rerun that does not change the scene
sends the same page again without building or exporting anything; the tests replace this
function (it is the only one that imports stpyvista, which raises outside a Streamlit run).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import streamlit as st


@st.cache_resource(show_spinner=False, max_entries=12)
def _scene_html(scene_key: Hashable, _build: Callable) -> tuple[str, int]:
    """The exported page of ``_build()`` and the plotter's height (cached by ``scene_key``)."""
    from stpyvista.trame_backend import _trame_html

    plotter = _build()
    try:
        return _trame_html(plotter), int(plotter.window_size[1])
    finally:
        plotter.close()


def show_scene(build: Callable, scene_key: Hashable, key: str) -> None:
    """Show the ``pv.Plotter`` that ``build()`` makes, with stpyvista's trame backend.

    Args:
        build: makes the plotter (called only when ``scene_key`` is new).
        scene_key: hashable description of everything the scene depends on.
        key: the component's widget key (keeps the view's camera across reruns).
    """
    import stpyvista

    component = getattr(stpyvista, "_stpv_component", None)
    if component is None:  # another stpyvista release: let it export the scene itself
        stpyvista.stpyvista(build(), backend="trame", key=key)
        return
    html, height = _scene_html(scene_key, build)
    data = {
        "_html": html,
        "backend": "trame",
        "height": height,
        "width": "stretch",
        "use_container_width": True,
    }
    component(key=key, data=data)
