"""The app's library side: the only code in ``diano`` that imports streamlit.

- ``cache``: models (``st.cache_resource``, read-only), cases and predictions;
- ``state``: per-session state objects (editor, playground) in ``st.session_state``;
- ``widgets``: the shared sidebar, units, and messages instead of tracebacks;
- ``views``: figures and tables of the Overview, Explore and Compare pages;
- ``editor``: the latent editor's fragments (edits, saliency, vortex, readability);
- ``playground``: the solver playground's knobs, stability indicator and forked marches;
- ``vessel3d``: the 3D vessel page (coronary3d): linked pyvista and slice views, the latent
  lattice;
- ``stenosis``: the stenosis page (2D → 1D): the latent line and its 1D march;
- ``scene``: :func:`~diano.ui.scene.show_scene`, the one place stpyvista is imported.
"""
