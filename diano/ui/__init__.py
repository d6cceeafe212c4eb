"""The app's library side: the only code in ``diano`` that imports streamlit.

- ``cache``: models (``st.cache_resource``, read-only), cases and predictions;
- ``state``: per-session state objects (editor, playground) in ``st.session_state``;
- ``widgets``: the shared sidebar, units, and messages instead of tracebacks;
- ``views``: figures and tables of the Overview, Explore and Compare pages;
- ``editor``: the latent editor's fragments (edits, saliency, vortex, readability);
- ``playground``: the solver playground's knobs, stability indicator and forked marches.
"""
