"""Multi-resolution decode UI (the lower half of ``pages/inverse.py``).

The frame's latent decoded at 0.5×, 1× and 2× the data grid, next to the finest truth there
is (the committed fine reference where it covers the frame), and the error against
resolution for the chosen model or every model with a checkpoint
(:mod:`diano.explore.resolution`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from diano.data import FlowData
from diano.data.generators.samples import fine_reference_path
from diano.data.io import read_case
from diano.explore.resolution import (
    FACTORS,
    Reference,
    decode_at,
    decode_shapes,
    decode_support,
    grid_points,
    resolution_errors,
    upsampled_truth_error,
)
from diano.ui.cache import LoadedModel, available_scenarios, load_model, model_truth, samples_key
from diano.ui.editor import base_latent
from diano.ui.views import coords, length_unit
from diano.ui.widgets import MODEL_LABELS, show, units
from diano.viz import Panel, panel_figure
from diano.viz.inverse import resolution_figure


@st.cache_resource(show_spinner=False, max_entries=4)
def _fine_reference(case_id: str, samples: str, stamp: float) -> FlowData:
    data = read_case(fine_reference_path(case_id))
    data.fields.setflags(write=False)
    return data


def fine_reference(case: FlowData) -> FlowData | None:
    """The committed fine-grid reference of ``case``, if there is one."""
    path = fine_reference_path(case.case_id)
    if not path.is_file():
        return None
    return _fine_reference(case.case_id, samples_key(), path.stat().st_mtime)


def references(case: FlowData, loaded: LoadedModel, t: int) -> list[Reference]:
    """The truths of frame ``t``: the case's grid, and the fine reference when it holds
    the same time."""
    x, y = coords(case)
    h, w = case.spatial_shape
    refs = [Reference(model_truth(case, loaded)[t, 0], x, y, case.mask, f"{h}×{w} data")]
    fine = fine_reference(case)
    channel = loaded.model.config.in_channels[0]
    if fine is None or channel not in fine.channels:
        return refs
    match = np.nonzero(np.isclose(np.asarray(fine.coords["t"]), float(case.coords["t"][t])))[0]
    if match.size:
        k, c = int(match[0]), fine.channels.index(channel)
        fh, fw = fine.spatial_shape
        refs.append(
            Reference(
                fine.fields[k, c],
                np.asarray(fine.coords["x"]),
                np.asarray(fine.coords["y"]),
                fine.mask,
                f"{fh}×{fw} fine reference",
            )
        )
    return refs


def _decoded(loaded: LoadedModel, case: FlowData, t: int, shapes) -> list[np.ndarray]:
    z = base_latent(loaded, case, t)
    return [d[0] for d in decode_at(loaded.model, z, shapes)]


def resolution_panel(loaded: LoadedModel, case: FlowData, t: int, device: str) -> None:
    """Decoded fields at 0.5×, 1×, 2×, the fine reference, and the error table and curve."""
    x, y = coords(case)
    shapes = decode_shapes(case.spatial_shape, FACTORS)
    refs = references(case, loaded, t)
    fine = refs[-1] if len(refs) > 1 else None
    with st.spinner("decoding at three resolutions …"):
        fields = _decoded(loaded, case, t, shapes)
    panels = []
    for f, s, arr in zip(FACTORS, shapes, fields, strict=True):
        gx, gy = grid_points(x, y, s)
        panels.append(Panel(f"{f:g}× ({s[0]}×{s[1]})", arr, gx, gy))
    if fine is not None:
        panels.append(Panel(fine.label, fine.field, fine.x, fine.y))
    show(
        panel_figure(
            panels,
            units=units(loaded.model.config.in_channels[0]),
            length_unit=length_unit(case),
            max_size=256,
            height=360,
            title=f"{MODEL_LABELS[loaded.name]} decoded from one latent of frame {t}",
        ),
        key="res_fields",
    )
    st.caption(decode_support(loaded.model))
    if fine is None:
        st.info(
            "No finer truth for this frame: the committed fine reference covers the first "
            "snapshots of Re 180 only. Errors are given where the data is at least as fine."
        )
    everyone = st.toggle("compare all models with a checkpoint", True, key="res_all")
    names = (
        [n for n in MODEL_LABELS if available_scenarios(loaded.benchmark, n)]
        if everyone
        else [loaded.name]
    )
    rows, curves = [], {}
    with st.spinner("decoding every model at three resolutions …"):
        for name in names:
            other = loaded if name == loaded.name else load_model(loaded.benchmark, name, device)
            arrays = fields if name == loaded.name else _decoded(other, case, t, shapes)
            result = resolution_errors(arrays, FACTORS, refs, x, y)
            label = MODEL_LABELS[name]
            curves[label] = ([s[0] for s in shapes], [r.rel_l2 for r in result])
            for r in result:
                rows.append(
                    {
                        "model": label,
                        "factor": f"{r.factor:g}×",
                        "grid": f"{r.shape[0]}×{r.shape[1]}",
                        "rel. L2 error": None if r.rel_l2 is None else round(r.rel_l2, 4),
                        "against": r.reference,
                    }
                )
    floor = {}
    if fine is not None:
        up = upsampled_truth_error(refs[0], fine, x, y, shapes[-1])
        floor[f"{refs[0].label} interpolated to {shapes[-1][0]}²"] = (shapes[-1][0], up)
        rows.append(
            {
                "model": "truth, interpolated",
                "factor": "2×",
                "grid": f"{shapes[-1][0]}×{shapes[-1][1]}",
                "rel. L2 error": round(up, 4),
                "against": fine.label,
            }
        )
    left, right = st.columns([1, 1])
    show(
        resolution_figure(curves, references=floor, data_size=case.spatial_shape[0]),
        key="res_curve",
        container=left,
    )
    right.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    right.caption(
        "A grid coarser than the data is compared with the data averaged over its cells; a "
        "finer one at its cell centres with the finest truth, bilinearly interpolated there "
        "(fluid points only). The diamond is the data itself interpolated to the fine grid: "
        "what plain interpolation reaches."
    )
