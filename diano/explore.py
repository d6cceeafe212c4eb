"""Numerics behind the explorer: predictions over time, error curves, saliency, vortex insertion.

Pure torch/numpy; the app (``diano.ui``, ``pages/``) calls these and draws the results with
``diano.viz``. Arrays that leave this module for plotting are float32 numpy arrays.

Shapes: a case's truth is ``(T, C, H, W)``; one field ``(C, H, W)``; a latent grid
``(Lc, M_y, M_x)``; a batch adds a leading ``B``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from diano import metrics
from diano.errors import ConfigError
from diano.latent_edit import LatentGrid

Mode = Literal["reconstruction", "latent", "reencoded"]
MODES: dict[str, str] = {
    "reconstruction": "reconstruction: decode(encode(truth)) at every time",
    "latent": "latent-only rollout: encode once, the latent solver alone marches",
    "reencoded": "re-encoded rollout: decode and encode again after every step",
}


@dataclass(frozen=True)
class Prediction:
    """A model's fields over a time window ``start .. start + len(fields) - 1``.

    Attributes:
        fields: ``(T, C, H, W)`` decoded fields, float32.
        latents: ``(T, Lc, M_y, M_x)`` latent grids, or ``None`` for vector latents.
        start: index of the first frame in the case's time axis.
        mode: how the fields were made (a key of :data:`MODES`).
    """

    fields: np.ndarray
    latents: np.ndarray | None
    start: int
    mode: str


def _as_numpy(x: Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _grid_latents(zs: list[Tensor]) -> np.ndarray | None:
    z = torch.cat(zs, dim=0)
    return _as_numpy(z) if z.dim() == 4 else None


@torch.no_grad()
def predict(
    model: nn.Module,
    truth: np.ndarray | Tensor,
    mode: Mode = "reconstruction",
    start: int = 0,
    n_steps: int | None = None,
    batch_size: int = 16,
    progress: Callable[[float], None] | None = None,
) -> Prediction:
    """Predict the frames ``start .. start + n_steps`` of a case with ``model``.

    Args:
        model: a registered model in eval mode (never modified).
        truth: the case's fields ``(T, C, H, W)`` in physical units.
        mode: ``"reconstruction"`` (every truth frame encoded and decoded), ``"latent"``
            (encode ``truth[start]`` once, march with ``model.step``, decode every state) or
            ``"reencoded"`` (decode and encode again after every step).
        start: first frame.
        n_steps: frames after ``start`` (default: to the end of the case).
        batch_size: frames per encode/decode call.
        progress: called with the fraction done (0..1), e.g. a progress bar's update.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown prediction mode {mode!r}; known: {list(MODES)}")
    device = _model_device(model)
    u = torch.as_tensor(np.asarray(truth), dtype=torch.float32)
    n_total = u.shape[0]
    if not 0 <= start < n_total:
        raise ConfigError(f"start frame {start} is outside the case's {n_total} frames")
    n_steps = n_total - 1 - start if n_steps is None else int(n_steps)
    if n_steps < 0 or start + n_steps >= n_total:
        raise ConfigError(
            f"{n_steps} steps from frame {start} run past the case's last frame {n_total - 1}"
        )
    if mode != "reconstruction" and model.scenario not in ("temporal", "geometric"):
        raise ConfigError(
            f"model {model.name!r} was trained for scenario {model.scenario!r} and cannot march "
            "in time; choose 'reconstruction' or a temporal checkpoint"
        )
    shape = tuple(u.shape[2:])
    zs: list[Tensor] = []
    frames: list[Tensor] = []
    report = progress or (lambda _f: None)
    if mode == "reconstruction":
        for i in range(start, start + n_steps + 1, batch_size):
            stop = min(i + batch_size, start + n_steps + 1)
            z = model.encode(u[i:stop].to(device))
            zs.append(z.cpu())
            frames.append(model.decode(z, output_shape=shape).cpu())
            report((stop - start) / (n_steps + 1))
    else:
        # Same order as LatentModel.rollout: step, decode, (re-encode the decoded field).
        z = model.encode(u[start : start + 1].to(device))
        zs.append(z)
        for k in range(n_steps):
            z = model.step(z)
            zs.append(z)
            if mode == "reencoded":
                z = model.encode(model.decode(z, output_shape=shape))
            report(0.5 * (k + 1) / max(n_steps, 1))
        for i in range(0, len(zs), batch_size):
            chunk = torch.cat(zs[i : i + batch_size], dim=0)
            frames.append(model.decode(chunk, output_shape=shape).cpu())
            report(0.5 + 0.5 * min(i + batch_size, len(zs)) / len(zs))
        zs = [z.cpu() for z in zs]
    return Prediction(_as_numpy(torch.cat(frames, 0)), _grid_latents(zs), start, mode)


# -- error curves (numpy wrappers of diano.metrics for plotting) -----------------------
def _t(x: np.ndarray) -> Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def _mask(mask: np.ndarray | None) -> Tensor | None:
    return None if mask is None else torch.as_tensor(np.asarray(mask) > 0)


def rel_l2_curve(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Relative L2 error per frame of ``(T, C, H, W)`` arrays over fluid cells (``mask``
    ``(H, W)``, 1 = fluid), as float32 (:func:`diano.metrics.rel_l2_per_step`)."""
    if np.shape(pred) != np.shape(truth):
        raise ConfigError(f"prediction {np.shape(pred)} and truth {np.shape(truth)} differ")
    curve = metrics.rel_l2_per_step(_t(pred)[None], _t(truth)[None], _mask(mask))
    return _as_numpy(curve)


def mse_curve(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean squared error per frame over fluid cells (:func:`diano.metrics.mse`)."""
    return _as_numpy(metrics.mse(_t(pred), _t(truth), _mask(mask), reduction="none"))


def reference_curves(
    truth: np.ndarray, start: int, n_steps: int, mask: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Error of the two trivial forecasts over frames ``start .. start + n_steps``.

    * persistence: ``u(start)`` held fixed;
    * time mean: the mean of all the case's frames.
    """
    window = _t(truth[start : start + n_steps + 1])[None]  # (1, T, C, H, W)
    persistence = metrics.persistence_baseline(window)
    mean = metrics.time_mean_baseline(window, reference=_t(truth)[None])
    m = _mask(mask)
    return {
        "persistence": _as_numpy(metrics.rel_l2_per_step(persistence, window, m)),
        "time mean": _as_numpy(metrics.rel_l2_per_step(mean, window, m)),
    }


def abs_error(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``|pred - truth|`` as float32."""
    return np.abs(np.asarray(pred, np.float32) - np.asarray(truth, np.float32))


# -- the latent as a coarse field ------------------------------------------------------
def pool_to(fields: np.ndarray, shape: Sequence[int], mask: np.ndarray | None = None) -> np.ndarray:
    """Area-average ``(..., H, W)`` fields onto the latent grid ``shape`` (fluid cells only
    when ``mask`` is given; :func:`diano.metrics.pool_to`)."""
    return _as_numpy(metrics.pool_to(_t(fields), shape, _mask(mask)))


def readable_region(
    grid: LatentGrid,
    mask: np.ndarray | None,
    x: np.ndarray,
    y: np.ndarray,
    margin: float = 0.5,
) -> np.ndarray:
    """Latent cells where the latent reads as a coarse copy of the field: ``(M_y, M_x)`` bool.

    For a body in a stream (the cylinder) that is the wake downstream of it: cells whose
    upstream edge lies at least ``margin`` body sizes behind the body's downstream edge
    (``reference/method.md`` §13: from 1D behind the cylinder centre). Without a solid body
    every cell counts.

    Args:
        grid: the latent's placement.
        mask: ``(H, W)`` data mask, 1 = fluid, or ``None``.
        x, y: the data's cell-centred coordinates ``(W,)`` and ``(H,)``.
        margin: distance behind the body in body sizes.
    """
    region = np.ones(grid.shape, dtype=bool)
    if mask is None or np.all(np.asarray(mask) > 0):
        return region
    solid = np.asarray(mask) == 0
    xs = np.asarray(x)[np.nonzero(solid.any(axis=0))[0]]
    ys = np.asarray(y)[np.nonzero(solid.any(axis=1))[0]]
    dx = float(abs(x[1] - x[0]))
    size = float(ys.max() - ys.min()) + dx
    _, xc = grid.centres()
    left_edges = xc - grid.spacing[1] / 2
    region[:, left_edges < xs.max() + dx / 2 + margin * size - 1e-9] = False
    return region


def latent_correlation(
    latent: np.ndarray, pooled: np.ndarray, region: np.ndarray | None = None
) -> float:
    """Pearson correlation between a latent channel ``(M_y, M_x)`` and the truth pooled to
    the latent grid, over ``region`` (bool ``(M_y, M_x)``) or every cell; 0 if either is
    constant (:func:`diano.metrics.pearson`)."""
    a, b = _t(latent)[None], _t(pooled)[None]
    if a.shape != b.shape:
        raise ConfigError(f"latent {tuple(a.shape[1:])} and pooled truth {tuple(b.shape[1:])}")
    keep = None if region is None else torch.as_tensor(np.asarray(region, dtype=bool))
    return float(metrics.pearson(a, b, mask=keep)[0])


# -- autograd saliency -----------------------------------------------------------------
def saliency(
    decode: Callable[[Tensor], Tensor],
    z: Tensor,
    point: tuple[int, int],
    channel: int = 0,
) -> np.ndarray:
    """``|∂u[channel, row, col] / ∂z|``: which latent cells move one output value.

    Args:
        decode: ``z (1, Lc, M_y, M_x) -> u (1, C, H, W)``, e.g. ``model.decode`` with a fixed
            output shape.
        z: the latent, ``(1, Lc, M_y, M_x)``.
        point: output pixel ``(row, col)``.
        channel: output channel.

    Returns:
        ``(Lc, M_y, M_x)`` float32. Uses ``torch.autograd.grad`` on ``z`` only, so the
        model's parameters collect no gradients (a cached model stays untouched).
    """
    with torch.enable_grad():
        z = z.detach().clone().requires_grad_(True)
        u = decode(z)
        row, col = point
        if not (0 <= row < u.shape[-2] and 0 <= col < u.shape[-1]):
            raise ConfigError(f"output point {point} lies outside the {tuple(u.shape[-2:])} field")
        (grad,) = torch.autograd.grad(u[0, channel, row, col], z)
    return _as_numpy(grad[0].abs())


# -- editing in the field: a Lamb–Oseen vortex -----------------------------------------
@dataclass(frozen=True)
class LambOseen:
    """A Lamb–Oseen vortex: ``ω = Γ / (π r_c²) · exp(-r² / r_c²)``.

    Its azimuthal velocity is ``u_θ = Γ / (2π r) · (1 - exp(-r² / r_c²))`` and its total
    circulation is ``Γ`` (positive: counter-clockwise).

    Attributes:
        x, y: centre (data length unit).
        core_radius: ``r_c`` (> 0).
        circulation: ``Γ`` (length² / time).
    """

    x: float
    y: float
    core_radius: float
    circulation: float

    def __post_init__(self) -> None:
        if self.core_radius <= 0:
            raise ConfigError(f"vortex core radius must be positive, got {self.core_radius}")

    def vorticity(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``ω`` on the grid of coordinates ``x (W,)``, ``y (H,)``: ``(H, W)``."""
        yy, xx = np.meshgrid(np.asarray(y, np.float64), np.asarray(x, np.float64), indexing="ij")
        r2 = (xx - self.x) ** 2 + (yy - self.y) ** 2
        rc2 = self.core_radius**2
        return self.circulation / (math.pi * rc2) * np.exp(-r2 / rc2)

    def velocity(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v)`` on the grid, each ``(H, W)``."""
        yy, xx = np.meshgrid(np.asarray(y, np.float64), np.asarray(x, np.float64), indexing="ij")
        dx, dy = xx - self.x, yy - self.y
        r2 = dx**2 + dy**2
        # u_θ / r, with its finite limit Γ / (2π r_c²) at the centre
        safe = np.where(r2 > 0, r2, 1.0)
        factor = np.where(
            r2 > 1e-12 * self.core_radius**2,
            self.circulation / (2 * math.pi * safe) * (1 - np.exp(-r2 / self.core_radius**2)),
            self.circulation / (2 * math.pi * self.core_radius**2),
        )
        return -factor * dy, factor * dx


def insert_vortex(
    field: np.ndarray,
    channels: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    vortex: LambOseen,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Add ``vortex`` to a field ``(C, H, W)``: to its ``vorticity``, ``u`` and ``v`` channels.

    Other channels (e.g. pressure) are left as they are; solid cells (``mask == 0``) are
    left unchanged.
    """
    names = list(channels)
    if not {"vorticity", "u", "v"} & set(names):
        raise ConfigError(
            f"a vortex changes vorticity or velocity, but the field's channels are {names}"
        )
    out = np.array(field, dtype=np.float32, copy=True)
    fluid = np.ones(out.shape[-2:]) if mask is None else (np.asarray(mask) > 0)
    added = {"vorticity": vortex.vorticity(x, y)}
    if "u" in names or "v" in names:
        added["u"], added["v"] = vortex.velocity(x, y)
    for name, value in added.items():
        if name in names:
            out[names.index(name)] += (value * fluid).astype(np.float32)
    return out


# -- timing ----------------------------------------------------------------------------
@torch.no_grad()
def time_call(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds (CUDA work is synchronised)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))
