"""DIANO Explorer: look inside a latent neural operator (``streamlit run app.py``).

Navigation over ``pages/`` is declared here once (Streamlit's auto-discovery of ``pages/``
is then off); the shared sidebar (benchmark, model, case, device) is drawn on every page.
"""

from __future__ import annotations

import os

# 3D views render off screen through EGL; VTK reads this before it opens a window.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import streamlit as st  # noqa: E402
import torch  # noqa: E402

from diano.device import interactive_threads  # noqa: E402
from diano.ui.widgets import sidebar  # noqa: E402

# leave a core to the server's event loop (and a local browser): see interactive_threads
torch.set_num_threads(interactive_threads())

st.set_page_config(page_title="DIANO Explorer", page_icon="🌀", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/explore.py", title="Explore in time", icon=":material/movie:"),
    st.Page("pages/latent_editor.py", title="Latent editor", icon=":material/edit:"),
    st.Page("pages/playground.py", title="Solver playground", icon=":material/science:"),
    st.Page("pages/compare.py", title="Compare models", icon=":material/compare:"),
    st.Page("pages/inverse.py", title="Inverse edit & resolution", icon=":material/tune:"),
    st.Page("pages/vessel3d.py", title="3D vessel", icon=":material/view_in_ar:"),
    st.Page("pages/stenosis.py", title="Stenosis 2D → 1D", icon=":material/linear_scale:"),
    st.Page("pages/transfer.py", title="Import & export", icon=":material/swap_vert:"),
]

page = st.navigation(PAGES)
sidebar(page)
page.run()
