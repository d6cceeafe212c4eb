"""Figures and tables the pages show, from cached model outputs (Overview, Explore, Compare).

Each function takes the loaded model(s) and the case, pulls cached arrays from
``diano.ui.cache``, and returns a plotly figure built by ``diano.viz`` or a table. Heavy
figures (the animated scrub figure) are cached as well, keyed by their inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from diano import metrics
from diano.data import FlowData
from diano.explore import (
    MODES,
    abs_error,
    describe_pde,
    mse_curve,
    pipeline_arrays,
    pool_to,
    reference_curves,
    rel_l2_curve,
    time_call,
)
from diano.latent_edit import LatentGrid
from diano.ui.cache import (
    LoadedModel,
    load_case,
    load_model,
    model_truth,
    prediction,
    samples_key,
)
from diano.ui.widgets import MODEL_LABELS, units
from diano.viz import Panel, error_curve_figure, panel_figure, pipeline_figure, scrub_figure

MODE_LABELS = {
    "reconstruction": "reconstruction",
    "latent": "latent-only rollout",
    "reencoded": "re-encoded rollout",
}


def coords(case: FlowData) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates ``(x, y)`` of the case's grid."""
    return np.asarray(case.coords["x"]), np.asarray(case.coords["y"])


def length_unit(case: FlowData) -> str:
    return str(case.units.get("x", "D")).split(",")[0].strip() or "D"


def time_unit(case: FlowData) -> str:
    return str(case.units.get("t", "D/U∞")).split(",")[0].strip() or "D/U∞"


def latent_grid(case: FlowData, shape: tuple[int, ...]) -> LatentGrid:
    """Where a latent of ``shape`` lies: on the case's box."""
    x, y = coords(case)
    return LatentGrid.from_coords(shape[-2:], x, y)


def marches(loaded: LoadedModel) -> bool:
    return loaded.model.scenario in ("temporal", "geometric")


def trained_horizon(loaded: LoadedModel) -> int | None:
    """Steps the model was trained to roll out, when its checkpoint's ``extra`` says so."""
    extra = loaded.info.extra or {}
    for key in ("trained_horizon", "horizon", "rollout_horizon", "rollout_steps"):
        value = extra.get(key)
        if isinstance(value, (int, float)) and value > 0:
            return int(value)
    return None


def tied_over_box(loaded: LoadedModel) -> bool:
    """Whether the model's latent was tied to the pooled field over the whole box (its
    checkpoint's training settings say so), so that it reads as the field everywhere."""
    settings = (loaded.info.extra or {}).get("train_config") or {}
    return settings.get("tie_region") == "box" and float(settings.get("tie_weight", 0)) > 0


def _case_key(loaded: LoadedModel, case: FlowData) -> tuple:
    return (loaded.benchmark, case.case_id, samples_key())


# -- overview ---------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=32)
def _pipeline(model_key: tuple, case_key: tuple, t: int) -> dict:
    loaded = load_model(model_key[0], model_key[1], model_key[3])
    truth = model_truth(load_case(*case_key[:2]), loaded)
    return pipeline_arrays(loaded.model, truth[t])


def pipeline_view(loaded: LoadedModel, case: FlowData, t: int) -> go.Figure | None:
    """Field → latent → solver step → decoded field at frame ``t`` (None for vector latents)."""
    arrays = _pipeline(loaded.key, _case_key(loaded, case), int(t))
    z, z_next = arrays["latent"], arrays["latent_next"]
    if z.ndim != 3:
        return None
    x, y = coords(case)
    truth = model_truth(case, loaded)
    return pipeline_figure(
        truth[t, 0],
        z[0],
        (z if z_next is None else z_next)[0],
        arrays["decoded"][0],
        x,
        y,
        latent_grid(case, z.shape),
        units=units(loaded.model.config.in_channels[0]),
        length_unit=length_unit(case),
    )


_METRIC_LABELS = {
    "val_score": "validation score (mean rel-L2 over the rollout window)",
    "train_minutes": "training time (minutes)",
    "n_parameters": None,  # shown as "parameters"
}
_WHERE = {"sample": "committed held-out samples", "heldout": "full held-out cases"}


def metric_rows(metrics: dict) -> list[tuple[str, str]]:
    """Readable rows for a checkpoint's metrics: scalars as they are, and the nested scores
    on the samples and held-out cases as one line per quantity (``0.5T`` = half a period)."""
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict) or key in _METRIC_LABELS and _METRIC_LABELS[key] is None:
            continue
        where = next((w for p, w in _WHERE.items() if key.startswith(p + "_")), None)
        if where is not None:
            continue  # the headline copies of the nested scores below
        label = _METRIC_LABELS.get(key, key.replace("_", " "))
        rows.append((label, f"{value:.4g}" if isinstance(value, float) else str(value)))
    for prefix, where in (("samples", _WHERE["sample"]), ("heldout", _WHERE["heldout"])):
        scored = metrics.get(prefix)
        if not isinstance(scored, dict):
            continue
        mean = scored.get("mean", {})
        cases = ", ".join(scored.get("cases", {}))
        for name, label in (
            ("model", "latent-only rollout rel-L2 after a fraction of the period T"),
            ("persistence", "persistence rel-L2"),
            ("time_mean", "time-mean field rel-L2"),
            ("latent_corr_wake", "latent–truth correlation, wake"),
            ("latent_corr_box", "latent–truth correlation, whole box"),
            ("latent_corr_line", "latent line–centreline velocity correlation"),
        ):
            values = mean.get(name)
            if isinstance(values, dict) and values:
                shown = ", ".join(f"{k}: {v:.3f}" for k, v in values.items())
                rows.append((f"{label} ({where})", shown))
        for name, label in (("rel_l2", "rel-L2"), ("latent_corr", "latent–truth correlation")):
            if isinstance(mean.get(name), float):
                rows.append((f"{label} ({where})", f"{mean[name]:.4g}"))
        if cases:
            rows.append((f"cases ({where})", cases))
    return rows


def model_card(loaded: LoadedModel, case: FlowData | None) -> pd.DataFrame:
    """What the checkpoint says about the model, as a two-column table."""
    model, info = loaded.model, loaded.info
    rows = [
        ("model", MODEL_LABELS.get(loaded.name, loaded.name)),
        ("scenario", loaded.scenario),
        ("parameters", f"{model.n_parameters:,}"),
    ]
    network = getattr(model.config, "network", None)
    if isinstance(network, str):
        rows.append(("network", network))
    if case is not None:
        arrays = _pipeline(loaded.key, _case_key(loaded, case), 0)
        field_shape = model_truth(case, loaded).shape[1:]
        ratio = metrics.compression_ratio(field_shape, arrays["latent"].shape)
        rows.append(("latent shape", " × ".join(map(str, arrays["latent"].shape))))
        rows.append(("compression ratio", f"{ratio:.0f} : 1 (field values per latent value)"))
    rows += metric_rows(info.metrics or {})
    horizon = trained_horizon(loaded)
    if horizon:
        rows.append(("trained rollout horizon", f"{horizon} steps"))
    pde = describe_pde(model)
    if pde:
        rows.append(("latent PDE", pde))
    rows += [
        ("training command", info.command or "—"),
        ("checkpoint", f"{loaded.path.name} ({info.size / 1e6:.2f} MB, {info.dtype})"),
        ("checkpoint sha256", info.sha256),
        ("data sha256", info.data_sha256 or "—"),
        ("code version", info.code_version or "—"),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


# -- explore ----------------------------------------------------------------------------
def mode_curves(
    loaded: LoadedModel, case: FlowData, start: int, n_steps: int
) -> dict[str, np.ndarray]:
    """rel-L2 against time for every prediction mode the model has, plus the references."""
    truth = model_truth(case, loaded)
    window = truth[start : start + n_steps + 1]
    modes = list(MODES) if marches(loaded) else ["reconstruction"]
    curves = {}
    for mode in modes:
        pred = prediction(loaded, case, mode, start, n_steps)
        curves[MODE_LABELS[mode]] = rel_l2_curve(pred.fields, window, case.mask)
    curves.update(reference_curves(truth, start, n_steps, case.mask))
    return curves


@st.cache_resource(show_spinner=False, max_entries=12)
def _scrub(
    model_key: tuple, case_key: tuple, mode: str, start: int, n_steps: int, max_size: int
) -> go.Figure:
    loaded = load_model(model_key[0], model_key[1], model_key[3])
    case = load_case(*case_key[:2])
    truth = model_truth(case, loaded)[start : start + n_steps + 1, 0]
    pred = prediction(loaded, case, mode, start, n_steps)
    x, y = coords(case)
    name = MODEL_LABELS.get(loaded.name, loaded.name)
    panels = [
        Panel("truth", truth, x, y),
        Panel(f"{name}: {MODE_LABELS[mode]}", pred.fields[:, 0], x, y),
        Panel("|error|", abs_error(pred.fields[:, 0], truth, case.mask), x, y, "error"),
    ]
    if pred.latents is not None:
        grid = latent_grid(case, pred.latents.shape)
        yc, xc = grid.centres()
        pooled = pool_to(truth, grid.shape, case.mask)
        panels.append(Panel("truth on the latent grid", pooled, xc, yc))
        panels.append(Panel("latent z (own scale)", pred.latents[:, 0], xc, yc, "latent"))
    times = np.asarray(case.coords["t"])[start : start + n_steps + 1]
    horizon = trained_horizon(loaded)
    horizon_time = None
    if horizon and mode != "reconstruction" and horizon < n_steps:
        horizon_time = float(times[horizon])
    return scrub_figure(
        panels,
        times,
        mode_curves(loaded, case, start, n_steps),
        horizon=horizon_time,
        units=units(loaded.model.config.in_channels[0]),
        length_unit=length_unit(case),
        time_unit=time_unit(case),
        max_size=max_size,
    )


def scrub_view(
    loaded: LoadedModel, case: FlowData, mode: str, start: int, n_steps: int, max_size: int = 64
) -> go.Figure:
    """The animated truth / prediction / error / latent figure (cached per input)."""
    return _scrub(loaded.key, _case_key(loaded, case), mode, int(start), int(n_steps), max_size)


def tracking_table(curves: dict[str, np.ndarray], horizons: list[int]) -> pd.DataFrame:
    """rel-L2 of each curve at a few step counts (rows: curves, columns: steps)."""
    data = {
        f"step {k}": [float(c[k]) if k < len(c) else np.nan for c in curves.values()]
        for k in horizons
    }
    return pd.DataFrame(data, index=list(curves)).round(3)


# -- compare ----------------------------------------------------------------------------
def compare_predictions(
    models: list[LoadedModel], case: FlowData, mode: str, start: int, n_steps: int
) -> dict[str, np.ndarray]:
    """Each model's fields over the window, ``name -> (T, C, H, W)``."""
    out = {}
    for loaded in models:
        use = mode if marches(loaded) else "reconstruction"
        out[loaded.name] = prediction(loaded, case, use, start, n_steps).fields
    return out


def compare_panels(
    case: FlowData,
    truth: np.ndarray,
    preds: dict[str, np.ndarray],
    t: int,
    channel: str,
) -> tuple[go.Figure, go.Figure]:
    """Fields (truth and every model) and |error| maps at window frame ``t``."""
    x, y = coords(case)
    labels = {name: MODEL_LABELS.get(name, name) for name in preds}
    fields = [Panel("truth", truth[t, 0], x, y)] + [
        Panel(labels[name], pred[t, 0], x, y) for name, pred in preds.items()
    ]
    errors = [
        Panel(
            f"|error| {labels[name]}", abs_error(pred[t, 0], truth[t, 0], case.mask), x, y, "error"
        )
        for name, pred in preds.items()
    ]
    u = units(channel)
    common = {"units": u, "length_unit": length_unit(case), "max_size": 96, "height": 330}
    return panel_figure(fields, **common), panel_figure(errors, **common)


@st.cache_data(show_spinner=False)
def _latency(model_key: tuple, shape: tuple[int, ...]) -> tuple[float, float | None]:
    import torch

    loaded = load_model(model_key[0], model_key[1], model_key[3])
    model = loaded.model
    device = next(model.parameters()).device
    u = torch.zeros((1, *shape), device=device)
    z = model.encode(u)
    recon = time_call(lambda: model.decode(model.encode(u), output_shape=shape[1:]))
    step = None
    if marches(loaded):
        step = time_call(lambda: model.decode(model.step(z), output_shape=shape[1:]))
    return recon, step


def compare_table(
    models: list[LoadedModel], truth: np.ndarray, preds: dict[str, np.ndarray], mask: np.ndarray
) -> pd.DataFrame:
    """rel-L2, MSE, parameters and latency measured here, one row per model."""
    rows = []
    for loaded in models:
        pred = preds[loaded.name]
        recon_ms, step_ms = _latency(loaded.key, tuple(truth.shape[1:]))
        rows.append(
            {
                "model": MODEL_LABELS.get(loaded.name, loaded.name),
                "rel-L2 (mean)": float(rel_l2_curve(pred, truth, mask).mean()),
                "MSE (mean)": float(mse_curve(pred, truth, mask).mean()),
                "parameters": f"{loaded.model.n_parameters:,}",
                "encode+decode (ms)": round(recon_ms, 2),
                "step+decode (ms)": None if step_ms is None else round(step_ms, 2),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def compare_curves(
    case: FlowData,
    truth: np.ndarray,
    preds: dict[str, np.ndarray],
    start: int,
    n_steps: int,
    cursor: int,
    full_truth: np.ndarray,
) -> go.Figure:
    """rel-L2 against time for every model, persistence and time mean; points selectable."""
    times = np.asarray(case.coords["t"])[start : start + n_steps + 1]
    curves = {
        MODEL_LABELS.get(name, name): rel_l2_curve(pred, truth, case.mask)
        for name, pred in preds.items()
    }
    curves.update(reference_curves(full_truth, start, n_steps, case.mask))
    colours = {MODEL_LABELS[n]: c for n, c in zip(MODEL_LABELS, _colours(), strict=True)}
    return error_curve_figure(
        times,
        curves,
        current=float(times[cursor]),
        time_unit=time_unit(case),
        colours=colours,
        selectable=True,
        title="rel. L2 error against time (click a point to move the cursor)",
    )


def _colours() -> list[str]:
    from diano.viz.style import MODEL_COLOURS

    return [MODEL_COLOURS[n] for n in ("diano", "cno", "cnn_ae", "mlp_ae")]
