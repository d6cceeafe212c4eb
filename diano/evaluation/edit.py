"""Does a latent edit decode to a local, physical change? The measurement behind the editor.

A vortex-like Gaussian bump is added to the encoded latent of a snapshot; the edited and the
original latents are both marched with the model's ``step`` and decoded, and the decoded
difference ``Δu_k = D(Sᵏ(z + b)) − D(Sᵏ(z))`` is measured at each step ``k``:

- ``offset_cells``: distance from the centroid of ``|Δu|²`` to where the bump was put
  (at k = 0) or to where the flow would carry it (``x₀ + c·t``), in latent cells;
- ``speed``: the centroid's x-speed from a least-squares line through its positions, in the
  data's velocity unit (U∞ for the cylinder), to compare with the latent's advection speed;
- ``locality``: share of ``|Δu|²`` within ``radius_cells`` latent cells of the centroid;
- ``sign``: correlation of ``Δu`` at k = 0 with the bump itself (positive when the latent
  reads as the field: a positive latent bump makes positive vorticity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from diano.data.flow import FlowData
from diano.latent_edit import GaussianBump, LatentGrid
from diano.metrics import pearson
from diano.models.base import LatentModel
from diano.training.objectives import encode


def _centroid(du: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    w = du**2
    total = w.sum()
    if total <= 0:
        return float("nan"), float("nan"), w
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return float((w * xx).sum() / total), float((w * yy).sum() / total), w


@torch.no_grad()
def vortex_edit_response(
    model: LatentModel,
    flow: FlowData,
    *,
    x0: float = 2.0,
    y0: float = 0.0,
    amplitude: float = 2.0,
    time_index: int = 0,
    steps: Sequence[int] = (0, 10, 20, 30, 40),
    radius_cells: float = 2.0,
    bump_cells: float = 1.0,
    advection_speed: float | None = None,
) -> dict[str, Any]:
    """Measure the decoded response to a latent bump (see the module docstring).

    Args:
        model: a marching model with a latent grid (DIANO temporal).
        flow: a case with ``x``, ``y`` and ``t`` coordinates.
        x0, y0: where the bump goes, in the data's length unit.
        amplitude: bump peak in units of the latent's standard deviation.
        time_index: snapshot that is encoded.
        steps: marched steps at which the response is measured.
        radius_cells: locality radius in latent cells.
        bump_cells: the bump's standard deviation in latent cells (1 ≈ a wake vortex).
        advection_speed: expected speed of the bump (default: the model's latent velocity
            converted back to the data's units, when it has a latent PDE).

    Returns:
        ``{"steps", "centroid_x", "centroid_y", "offset_cells", "speed", "expected_speed",
        "locality", "sign"}``.
    """
    x = np.asarray(flow.coords["x"], dtype=np.float64)
    y = np.asarray(flow.coords["y"], dtype=np.float64)
    t = np.asarray(flow.coords["t"], dtype=np.float64)
    dt = float(np.median(np.diff(t)))
    channels = list(flow.channels)
    idx = [channels.index(c) for c in model.config.in_channels]
    device = next(iter(model.parameters()), torch.empty(0)).device  # a solver-only model: CPU
    u = torch.as_tensor(np.asarray(flow.fields[time_index : time_index + 1, idx], dtype=np.float32))
    u = u.to(device)
    mask = torch.as_tensor(np.asarray(flow.mask))[None, None].to(device)
    z = encode(model, u, mask)
    grid = LatentGrid.from_coords(tuple(z.shape[-2:]), x, y)
    hy, hx = grid.spacing
    # the bump goes into the first latent channel, the one decoded and read (a carrier
    # latent's field; the only channel otherwise)
    field = z[:, :1]
    bump = GaussianBump(x0, y0, radius=bump_cells * hx, amplitude=amplitude * float(field.std()))
    z_edit = torch.cat([bump.apply(field, grid), z[:, 1:]], dim=1)
    if advection_speed is None:
        pde = getattr(model.config, "pde", None)
        if pde is not None and getattr(pde, "velocity", None) is not None:
            box = pde.box[-1] if pde.box is not None else 1.0
            length = grid.x_range[1] - grid.x_range[0]
            advection_speed = float(pde.velocity[0]) * pde.dt * length / box / dt
    fluid = np.asarray(flow.mask, dtype=bool)
    shape = tuple(u.shape[2:])
    out: dict[str, Any] = {
        "steps": [],
        "centroid_x": [],
        "centroid_y": [],
        "offset_cells": [],
        "locality": [],
    }
    a, b = z, z_edit
    done = 0
    for k in sorted(steps):
        if k > done:
            a, b = model.step(a, k - done), model.step(b, k - done)
            done = k
        du = (model.decode(b, shape) - model.decode(a, shape))[0, 0].cpu().numpy() * fluid
        cx, cy, w = _centroid(du, x, y)
        expected_x = x0 + (advection_speed or 0.0) * k * dt
        yy, xx = np.meshgrid(y, x, indexing="ij")
        near = ((xx - cx) ** 2 + (yy - cy) ** 2) <= (radius_cells * hx) ** 2
        out["steps"].append(int(k))
        out["centroid_x"].append(cx)
        out["centroid_y"].append(cy)
        out["offset_cells"].append(float(np.hypot((cx - expected_x) / hx, (cy - y0) / hy)))
        out["locality"].append(float(w[near].sum() / max(w.sum(), 1e-30)))
        if k == 0:
            b0 = GaussianBump(x0, y0, radius=bump_cells * hx, amplitude=1.0).apply(
                torch.zeros(1, 1, *shape), LatentGrid.from_coords(shape, x, y)
            )
            out["sign"] = float(pearson(torch.as_tensor(du)[None], b0[0, 0][None]))
    times = dt * np.asarray(out["steps"], dtype=np.float64)
    xs = np.asarray(out["centroid_x"])
    ok = np.isfinite(xs)
    out["speed"] = float(np.polyfit(times[ok], xs[ok], 1)[0]) if ok.sum() >= 2 else float("nan")
    out["expected_speed"] = advection_speed
    return out


def edit_verdict(response: dict[str, Any], radius_cells: float = 2.0, unit: str = "") -> str:
    """One sentence on what a measured edit response (:func:`vortex_edit_response`) means to a
    person editing the latent: is the decoded change the edit, where it was put, carried
    downstream, or something else? ``unit`` follows the speeds (e.g. ``" U∞"``)."""
    sign = float(response["sign"])
    local = min(response["locality"])
    start = response["offset_cells"][0]
    speed, expected = response["speed"], response.get("expected_speed")
    if not np.isfinite(sign) or sign < 0.3:
        return (
            f"Not the edit: the decoded change correlates {sign:+.2f} with the bump, so the "
            "decoder does not read this latent cell by cell."
        )
    first, steps = float(response["locality"][0]), response.get("steps") or []
    if local < 0.5 and first >= 0.5 and start <= 1.0:
        after = f" after {steps[-1]} steps" if steps else " by the end of the march"
        return (
            f"Local where it was put (sign {sign:+.2f}, {first:.0%} within {radius_cells:g} "
            f"cells, {start:.1f} cells from the bump), then it spreads as it marches: "
            f"{local:.0%} within {radius_cells:g} cells{after}; its centre moves at "
            f"{speed:.2f}{unit}"
            + (f" (the latent carries it at {expected:.2f}{unit})." if expected else ".")
        )
    if local < 0.5 or not start <= 1.0:
        return (
            f"Right sign ({sign:+.2f}) but spread out: {local:.0%} of the change lies within "
            f"{radius_cells:g} cells, centred {start:.1f} cells from the bump."
        )
    moves = f"its centre moves at {speed:.2f}{unit}"
    if expected:
        if speed < 0.6 * expected:
            return (
                f"Local ({local:.0%} within {radius_cells:g} cells, {start:.1f} cells from the "
                f"bump) but it lags: {moves} against the latent's {expected:.2f}{unit}."
            )
        moves += f" (the latent carries it at {expected:.2f}{unit})"
    return (
        f"The edit itself: sign {sign:+.2f}, {local:.0%} within {radius_cells:g} cells, "
        f"{start:.1f} cells from the bump, and {moves}."
    )
