"""Scores of a trained model on flow cases: reconstruction, latent-only and re-encoded
rollouts next to persistence and the time-mean field, the many-to-one map, and the
latent's correlation with the pooled truth.

All errors are relative L2 over fluid cells (:func:`diano.metrics.rel_l2`). Rollouts start
at several snapshots of a case and the errors are averaged over the starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from diano.data.flow import FlowData
from diano.metrics import latent_correlation, line_correlation, rel_l2, rel_l2_per_step
from diano.models.base import LatentModel
from diano.training.objectives import encode, map_fields


def _tensor(flow: FlowData, channels: Sequence[str], device: torch.device) -> tuple[Tensor, Tensor]:
    """Fields ``(T, C, *S)`` float32 and the mask ``(1, 1, *S)`` of ``flow``."""
    idx = [list(flow.channels).index(c) for c in channels]
    u = torch.as_tensor(np.asarray(flow.fields[:, idx], dtype=np.float32), device=device)
    mask = torch.as_tensor(np.asarray(flow.mask), device=device)[None, None]
    return u, mask


@torch.no_grad()
def reconstruction(
    model: LatentModel, flow: FlowData, device: torch.device, batch: int = 16
) -> dict[str, float]:
    """Mean rel-L2 of ``D(E(u))`` over the snapshots of ``flow``, and the mean latent
    correlation with the pooled input (latent grids only)."""
    u, mask = _tensor(flow, model.config.in_channels, device)
    errs, corrs = [], []
    for i in range(0, u.shape[0], batch):
        x = u[i : i + batch]
        z = encode(model, x, mask)
        errs.append(rel_l2(model.decode(z, tuple(x.shape[2:])), x, mask, reduction="none"))
        if z.dim() == x.dim():
            corrs.append(latent_correlation(z[:, :1], x[:, :1], mask=mask))
    out = {"rel_l2": float(torch.cat(errs).mean())}
    if corrs:
        out["latent_corr"] = float(torch.cat(corrs).mean())
    return out


@torch.no_grad()
def rollout_curve(
    model: LatentModel,
    flow: FlowData,
    n_steps: int,
    starts: Sequence[int],
    device: torch.device,
    reencode: bool = False,
    regions: dict[str, Tensor | None] | None = None,
) -> dict[str, np.ndarray]:
    """Rel-L2 against steps ``0..n_steps`` of rollouts from each start, averaged over starts.

    Returns:
        ``{"model", "persistence", "time_mean"}`` curves of length ``n_steps + 1`` and, for a
        latent grid, ``"latent_corr_<name>"`` for each of ``regions`` (correlation of the
        marched latent with the pooled truth in that latent-grid region; ``None`` = all
        fluid cells; default ``{"box": None}``); for DIANO's latent line (geometric),
        ``"latent_corr_line"``: the line (the sum of its channels) against the centreline
        velocity read from the true vorticity (:func:`~diano.metrics.line_correlation`).
    """
    regions = {"box": None} if regions is None else regions
    channels = model.config.in_channels
    u, mask = _tensor(flow, channels, device)
    starts = [s for s in starts if s + n_steps < u.shape[0]]
    if not starts:
        raise ValueError(
            f"{flow.case_id}: no start leaves {n_steps} steps in {u.shape[0]} snapshots"
        )
    truth = torch.stack([u[s : s + n_steps + 1] for s in starts])  # (B, T+1, C, *S)
    mean_field = u.mean(0, keepdim=True)[None]  # (1, 1, C, *S)
    shape = tuple(u.shape[2:])
    z = encode(model, truth[:, 0], mask)
    frames = [model.decode(z, shape)]
    corr: dict[str, list[Tensor]] = {name: [] for name in regions}
    grid_latent = z.dim() == truth.dim() - 1
    line = model.name == "diano" and model.scenario == "geometric"
    if line:
        corr = {"line": []}

    def correlate(z: Tensor, n: int) -> None:
        if line:
            corr["line"].append(line_correlation(z, truth[:, n, :1], mask))
            return
        for name, region in regions.items():
            corr[name].append(
                latent_correlation(z[:, :1], truth[:, n, :1], region=region, mask=mask)
            )

    if grid_latent or line:
        correlate(z, 0)
    for n in range(1, n_steps + 1):
        z = model.step(z)
        frames.append(model.decode(z, shape))
        if grid_latent or line:
            correlate(z, n)
        if reencode:
            # encode the field as the data hold it: zero in solid cells
            z = encode(model, frames[-1] * mask.to(frames[-1].dtype), mask)
    pred = torch.stack(frames, 1)
    m = mask[:, None]
    out = {
        "model": rel_l2_per_step(pred, truth, m).cpu().numpy(),
        "persistence": rel_l2_per_step(truth[:, :1].expand_as(truth), truth, m).cpu().numpy(),
        "time_mean": rel_l2_per_step(mean_field.expand_as(truth), truth, m).cpu().numpy(),
    }
    if grid_latent or line:
        for name, values in corr.items():
            out[f"latent_corr_{name}"] = torch.stack(values, 1).mean(0).cpu().numpy()
    return out


@torch.no_grad()
def map_scores(
    model: LatentModel, cases: Sequence[FlowData], device: torch.device
) -> dict[str, float]:
    """Mean rel-L2 of the many-to-one map over the snapshots of ``cases``; for a model with a
    latent physics stage (DIANO's ``map_latents``) also the correlation of its latent pressure
    with the box-averaged true pressure (``latent_corr``) and of its latent velocities with
    the box-averaged true velocities (``latent_corr_velocity``, mean of the components), over
    latent cells with fluid."""
    errs, corr_p, corr_u = [], [], []
    for flow in cases:
        u, mask = _tensor(flow, model.config.in_channels, device)
        p, _ = _tensor(flow, model.config.out_channels, device)
        for i in range(u.shape[0]):
            pred = map_fields(model, u[i : i + 1], mask)
            errs.append(float(rel_l2(pred, p[i : i + 1], mask)))
            if hasattr(model, "map_latents"):
                z, _, p_latent = model.map_latents(u[i : i + 1], mask)
                corr_p.append(float(latent_correlation(p_latent, p[i : i + 1], mask=mask)[0]))
                per_component = [
                    latent_correlation(z[:, c : c + 1], u[i : i + 1, c : c + 1], mask=mask)
                    for c in range(z.shape[1])
                ]
                corr_u.append(float(torch.cat(per_component).mean()))
    out = {"rel_l2": float(np.mean(errs))}
    if corr_p:
        out["latent_corr"] = float(np.mean(corr_p))
        out["latent_corr_velocity"] = float(np.mean(corr_u))
    return out


def at_steps(curve: np.ndarray, steps: Sequence[int]) -> dict[str, float]:
    """Pick ``curve`` values at ``steps`` (those inside the curve), keyed ``"k<step>"``."""
    return {f"k{s}": float(curve[s]) for s in steps if s < len(curve)}


def summary(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly copy (arrays to lists, numpy scalars to floats)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = summary(value)
        elif isinstance(value, np.ndarray):
            out[key] = [float(v) for v in value]
        elif isinstance(value, (np.floating, np.integer)):
            out[key] = float(value)
        else:
            out[key] = value
    return out
