"""The evaluation protocol of each scenario on a set of cases.

``evaluate_cases(model, cases)`` returns JSON-friendly numbers per case and their means:

- static: reconstruction rel-L2 and the latent's correlation with the pooled input;
- temporal / geometric: latent-only rollouts (and re-encoded ones when asked) at fractions
  of the flow's period (cylinder: the shedding period from the case's measured St; stenosis:
  the cardiac cycle, its one-cycle record continued periodically), from several starts,
  next to persistence and the time-mean field, plus the latent's correlation with the
  pooled truth in the wake and over the whole box (DIANO's line: with the centreline
  velocity);
- many_to_one: the mapped field's rel-L2.

The same function scores the committed samples (what the checkpoint test re-checks) and
the full held-out sets (``diano evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from diano.data.flow import FlowData
from diano.evaluation.scores import map_scores, reconstruction, rollout_curve, summary
from diano.models.base import LatentModel

#: rollout horizons, in periods of the flow
PERIOD_FRACTIONS = (0.1, 0.5, 1.0, 2.0)


def period_steps(flow: FlowData) -> float | None:
    """Snapshots per period: from the Strouhal number (cylinder) or a time in periods."""
    t = np.asarray(flow.coords.get("t", []), dtype=np.float64)
    if t.size < 2:
        return None
    dt = float(np.median(np.diff(t)))
    st = flow.attrs.get("St")
    if st:
        return 1.0 / (float(st) * dt)
    if "period" in str(flow.units.get("t", "")):
        return 1.0 / dt
    return None


def _wake(model: LatentModel, flow: FlowData) -> torch.Tensor | None:
    from diano.training.data import tie_region

    shape = tuple(model.latent_shape[1:])
    coords = {k: np.asarray(v) for k, v in flow.coords.items()}
    return tie_region(flow.benchmark or "", shape, coords, "wake") if "x" in coords else None


def _rollout_case(
    model: LatentModel,
    flow: FlowData,
    device: torch.device,
    max_steps: int | None,
    reencode: bool,
    n_starts: int,
) -> dict[str, Any]:
    per = period_steps(flow)
    n_t = flow.n_times
    fractions = PERIOD_FRACTIONS
    if per is None:
        per = n_t / 2.0
    steps = [max(1, int(round(f * per))) for f in fractions]
    horizon = max(steps)
    if max_steps is not None:
        horizon = min(horizon, max_steps)
    if flow.periodic:
        # one whole-cycle record (stenosis): the truth past its end is its start again;
        # whole cycles keep the time-mean field exact, and the starts stay in the first cycle
        flow = flow.cycled(n_t * (1 + -(-horizon // n_t)))
        room = n_t - 1
    else:
        horizon = min(horizon, n_t - 1)
        room = n_t - 1 - horizon
    kept = [(f, s) for f, s in zip(fractions, steps, strict=True) if s <= horizon]
    starts = sorted({int(round(s)) for s in np.linspace(0, room, n_starts)}) if room > 0 else [0]
    out: dict[str, Any] = {"horizon": horizon, "starts": starts, "snapshots_per_period": per}
    wake = _wake(model, flow)
    curve = rollout_curve(
        model, flow, horizon, starts, device, reencode=False, regions={"wake": wake, "box": None}
    )
    out["curve"] = curve
    for name in ("model", "persistence", "time_mean"):
        out[name] = {f"{f:g}T": float(curve[name][s]) for f, s in kept}
    out["one_step"] = float(curve["model"][1]) if horizon >= 1 else float("nan")
    out["reconstruction"] = float(curve["model"][0])
    for name in ("wake", "box", "line"):
        if f"latent_corr_{name}" in curve:
            values = curve[f"latent_corr_{name}"]
            out[f"latent_corr_{name}"] = {f"{f:g}T": float(values[s]) for f, s in [(0.0, 0), *kept]}
    if reencode:
        again = rollout_curve(model, flow, horizon, starts, device, reencode=True)
        out["curve_reencoded"] = again["model"]
        out["reencoded"] = {f"{f:g}T": float(again["model"][s]) for f, s in kept}
    return out


def evaluate_cases(
    model: LatentModel,
    cases: Sequence[FlowData],
    device: torch.device | str = "cpu",
    *,
    max_steps: int | None = None,
    reencode: bool = False,
    n_starts: int = 3,
    curves: bool = False,
) -> dict[str, Any]:
    """Score ``model`` on ``cases`` with its scenario's protocol (see the module docstring).

    Args:
        max_steps: cap on the rollout horizon (default: two periods).
        reencode: also score rollouts that decode and re-encode every step.
        n_starts: rollout starts per case, evenly spread over the record.
        curves: keep the full error curves in the result.

    Returns:
        ``{"cases": {case_id: {...}}, "mean": {...}}``.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    per_case: dict[str, Any] = {}
    if model.scenario == "many_to_one":
        for flow in cases:
            per_case[flow.case_id] = map_scores(model, [flow], device)
        return {"cases": per_case, "mean": _mean(list(per_case.values()))}
    for flow in cases:
        if model.scenario == "static":
            per_case[flow.case_id] = reconstruction(model, flow, device)
        else:
            result = _rollout_case(model, flow, device, max_steps, reencode, n_starts)
            if not curves:
                result = {k: v for k, v in result.items() if not k.startswith("curve")}
            per_case[flow.case_id] = result
    return summary({"cases": per_case, "mean": _mean(list(per_case.values()))})


def _mean(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over cases of every number found at the same key path."""
    out: dict[str, Any] = {}
    for key, first in results[0].items():
        values = [r.get(key) for r in results]
        if isinstance(first, dict):
            out[key] = _mean([v for v in values if isinstance(v, dict)])
        elif (
            isinstance(first, (int, float))
            and not isinstance(first, bool)
            and key not in ("horizon",)
        ):
            out[key] = float(np.mean([float(v) for v in values if v is not None]))
    return out
