"""Pure plotly figure builders: arrays in, ``go.Figure`` out (no streamlit, no session state).

- ``fields``: :class:`Panel`, :func:`panel_figure` (heatmaps with shared colour scales);
- ``scrub``: :func:`scrub_figure` (prebuilt frames, slider and play/pause, error curve with
  a cursor);
- ``curves``: :func:`error_curve_figure`, :func:`spectrum_figure`;
- ``latent``: :func:`pipeline_figure`, :func:`saliency_figure`, :func:`latent_vs_truth_figure`;
- ``canvas``: specs of the canvas view, the latent editor's fast figures
  (:func:`~diano.viz.canvas.panels_spec`, :func:`~diano.viz.canvas.grid_spec`);
- ``style``: colour scales, shared limits, compact float32 arrays;
- ``slices3d``: :func:`~diano.viz.slices3d.slice_figure` (orthogonal slices of 3D fields);
- ``line``: :func:`~diano.viz.line.stenosis_figure` (2D fields over the 1D latent line);
- ``scene3d``: pyvista scene builders of the 3D vessel view (imported on its own: it needs
  pyvista and VTK).

Importing ``diano`` never imports this package; the app does.
"""

from __future__ import annotations

from diano.viz.curves import error_curve_figure, spectrum_figure
from diano.viz.fields import Panel, panel_axes, panel_figure
from diano.viz.latent import (
    latent_vs_truth_figure,
    pipeline_figure,
    region_outline,
    saliency_figure,
)
from diano.viz.scrub import scrub_figure
from diano.viz.style import compact, positive_limits, symmetric_limits

__all__ = [
    "Panel",
    "compact",
    "error_curve_figure",
    "latent_vs_truth_figure",
    "panel_axes",
    "panel_figure",
    "pipeline_figure",
    "positive_limits",
    "region_outline",
    "saliency_figure",
    "scrub_figure",
    "spectrum_figure",
    "symmetric_limits",
]
