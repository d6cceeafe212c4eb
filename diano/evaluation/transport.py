"""How readable can a marched latent stay? The bound that pure transport sets.

A cylinder DIANO latent that reads as the pooled vorticity and is marched by advection
along x can at best move the pooled vorticity of its start downstream. This module measures
that best case on the data, with no model in the loop: the vorticity field at ``t₀`` is
carried downstream *exactly* (no numerical dispersion or diffusion) at a constant speed
``c``, and the region behind the source edge ``x_s`` is filled with the *true* vorticity of
the source column at the retarded time, a perfect source; upstream of ``x_s`` the truth is
kept. The result is pooled to the latent grid and correlated with the pooled truth at
``t₀ + n`` in the wake, as the evaluation scores the marched latent. What the flow does
beyond transport (vortices forming, growing, spreading and slowing in the near wake) is
what this bound misses, so no latent advected at one speed can read better after ``n``
steps than this field does, unless its encoder anticipates the change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from diano.data.flow import FlowData
from diano.metrics import pearson, pool_to


def transported(
    field: np.ndarray,
    x: np.ndarray,
    start: int,
    n: int,
    shift: float,
    x_s: float,
    rms: np.ndarray | None = None,
) -> np.ndarray:
    """The field of snapshot ``start`` carried ``shift`` downstream (perfect source at ``x_s``).

    Args:
        field: ``(T, Ny, Nx)`` snapshots on cell-centred ``x (Nx,)``, one time step apart.
        start, n: the start snapshot and the number of steps marched.
        shift: distance travelled in ``n`` steps (``c · n · Δt``), in the unit of ``x``.
        x_s: the source edge; downstream of it the field is transported, upstream of it
            the truth at ``start + n`` is kept.
        rms: optional ``(Nx,)`` amplitude profile (the truth's rms per column): each carried
            column is rescaled by ``rms`` where it arrives over ``rms`` where it came from,
            the growth and decay of the vortices that transport alone leaves out.

    Returns:
        ``(Ny, Nx)`` field at ``start + n``.
    """
    out = np.array(field[start + n], dtype=np.float64)
    j_s = int(np.searchsorted(x, x_s))  # the first column at or behind the source edge
    speed_steps = shift / max(n, 1)  # distance per step
    for j in range(j_s, x.size):
        src = x[j] - shift
        if src >= x[j_s]:
            # linear interpolation between the two columns around src
            i = int(np.clip(np.searchsorted(x, src) - 1, 0, x.size - 2))
            w = (src - x[i]) / (x[i + 1] - x[i])
            out[:, j] = (1.0 - w) * field[start, :, i] + w * field[start, :, i + 1]
            came_from = (1.0 - w) * rms[i] + w * rms[i + 1] if rms is not None else 1.0
        else:
            # left the source column (x[j] - x[j_s]) / c ago
            lag = (x[j] - x[j_s]) / speed_steps if speed_steps > 0 else 0.0
            out[:, j] = field[int(round(start + n - lag)), :, j_s]
            came_from = rms[j_s] if rms is not None else 1.0
        if rms is not None:
            out[:, j] *= rms[j] / max(float(came_from), 1e-30)
    return out


def transport_bound(
    flow: FlowData,
    speed: float,
    steps: Sequence[int],
    latent_shape: tuple[int, int],
    region: torch.Tensor | None,
    *,
    x_s: float,
    n_starts: int = 8,
    channel: int = 0,
    match_amplitude: bool = False,
) -> dict[int, float]:
    """Mean correlation (over starts) of the exactly transported, pooled field with the pooled
    truth after each of ``steps`` (see the module docstring).

    Args:
        flow: a case with ``x`` and ``t`` coordinates and the vorticity in ``channel``.
        speed: transport speed, in the data's velocity unit (U∞ for the cylinder).
        steps: marched steps at which the correlation is measured.
        latent_shape: ``(My, Mx)`` grid the fields are pooled to.
        region: bool latent-grid cells where the correlation is taken (``None``: all).
        x_s: source edge, in the data's length unit.
        n_starts: starts spread evenly over the snapshots that leave the longest horizon.
        channel: the field's channel.
        match_amplitude: rescale the carried columns to the truth's rms profile along x
            (``rms`` of :func:`transported`), an oracle for a latent PDE with a growth term.

    Returns:
        ``{n: correlation}``.
    """
    field = np.asarray(flow.fields[:, channel], dtype=np.float64)
    x = np.asarray(flow.coords["x"], dtype=np.float64)
    t = np.asarray(flow.coords["t"], dtype=np.float64)
    dt = float(np.median(np.diff(t)))
    mask = torch.as_tensor(np.asarray(flow.mask))[None, None]
    last = field.shape[0] - 1 - max(steps)
    if last < 0:
        raise ValueError(f"{flow.case_id}: {field.shape[0]} snapshots hold no {max(steps)} steps")
    starts = np.unique(np.linspace(0, last, n_starts).round().astype(int))
    rms = np.sqrt((field**2).mean(axis=(0, 1))) if match_amplitude else None
    out = {}
    for n in steps:
        pred = np.stack([transported(field, x, s, n, speed * n * dt, x_s, rms) for s in starts])
        true = field[starts + n]
        p = pool_to(torch.as_tensor(pred)[:, None], latent_shape, mask)
        q = pool_to(torch.as_tensor(true)[:, None], latent_shape, mask)
        keep = pool_to(mask.to(p.dtype), latent_shape)[0, 0] > 0  # cells with fluid
        if region is not None:
            keep = keep & torch.as_tensor(region, dtype=torch.bool)
        out[int(n)] = float(pearson(p, q, mask=keep).mean())
    return out


#: transport speeds of the report's table, in U∞ (0.85: the latent's vortex convection speed)
TABLE_SPEEDS = (0.7, 0.8, 0.85, 0.9)


def transport_table(
    flows: Sequence[FlowData],
    latent_shape: tuple[int, int],
    x_s: float,
    speeds: Sequence[float] = TABLE_SPEEDS,
    amplitude_speeds: Sequence[float] = (0.8, 0.85),
) -> dict[str, dict[str, float]]:
    """:func:`transport_bound` in the cylinder wake at the report's horizons (fractions of
    the shedding period), averaged over ``flows``: ``{"0.85": {"0.1T": corr, ...}, ...}``,
    and with the amplitude matched at ``amplitude_speeds`` (keys ``"0.85 amplitude"``)."""
    from diano.evaluation.protocols import PERIOD_FRACTIONS, period_steps
    from diano.training.data import tie_region

    table: dict[str, dict[str, list[float]]] = {}
    for flow in flows:
        per = period_steps(flow)
        if per is None or "x" not in flow.coords:
            continue
        steps = {f"{f:g}T": max(1, int(round(f * per))) for f in PERIOD_FRACTIONS}
        # horizons the record holds (from at least one start)
        steps = {h: n for h, n in steps.items() if n < flow.fields.shape[0]}
        coords = {k: np.asarray(v) for k, v in flow.coords.items()}
        region = tie_region("cylinder2d", latent_shape, coords, "wake")
        runs = [(c, False) for c in speeds] + [(c, True) for c in amplitude_speeds]
        for c, amplitude in runs:
            corr = transport_bound(
                flow,
                c,
                sorted(set(steps.values())),
                latent_shape,
                region,
                x_s=x_s,
                match_amplitude=amplitude,
            )
            row = table.setdefault(f"{c:g}" + (" amplitude" if amplitude else ""), {})
            for name, n in steps.items():
                row.setdefault(name, []).append(corr[n])
    return {c: {h: float(np.mean(v)) for h, v in row.items()} for c, row in table.items()}
