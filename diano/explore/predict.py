"""Predictions of a case over time and their error curves (numpy out, for plotting).

Shapes: a case's truth is ``(T, C, H, W)``; a latent grid ``(Lc, M_y, M_x)``. Curves wrap
:mod:`diano.metrics` so the app and evaluation agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from diano import metrics
from diano.errors import ConfigError

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


def to_numpy(x: Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _grid_latents(zs: list[Tensor]) -> np.ndarray | None:
    z = torch.cat(zs, dim=0)
    return to_numpy(z) if z.dim() == 4 else None


@torch.no_grad()
def predict(
    model: nn.Module,
    truth: np.ndarray | Tensor,
    mode: Mode = "reconstruction",
    start: int = 0,
    n_steps: int | None = None,
    batch_size: int = 16,
    progress: Callable[[float], None] | None = None,
    mask: np.ndarray | None = None,
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
        mask: the case's fluid mask ``(H, W)``; decoded fields are set to 0 in solid cells,
            as the data are, and a re-encoded rollout encodes the masked field (what the
            model saw in training), not what the decoder invents inside the body.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown prediction mode {mode!r}; known: {list(MODES)}")
    device = _model_device(model)
    u = to_tensor(truth)
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
    fluid = None if mask is None else fluid_mask(mask).to(device=device, dtype=u.dtype)

    def decode(z: Tensor) -> Tensor:
        out = model.decode(z, output_shape=shape)
        return out if fluid is None else out * fluid

    zs: list[Tensor] = []
    frames: list[Tensor] = []
    report = progress or (lambda _f: None)
    if mode == "reconstruction":
        for i in range(start, start + n_steps + 1, batch_size):
            stop = min(i + batch_size, start + n_steps + 1)
            z = model.encode(u[i:stop].to(device))
            zs.append(z.cpu())
            frames.append(decode(z).cpu())
            report((stop - start) / (n_steps + 1))
    else:
        # Same order as LatentModel.rollout: step, decode, (re-encode the decoded field).
        z = model.encode(u[start : start + 1].to(device))
        zs.append(z)
        for k in range(n_steps):
            z = model.step(z)
            zs.append(z)
            if mode == "reencoded":
                z = model.encode(decode(z))
            report(0.5 * (k + 1) / max(n_steps, 1))
        for i in range(0, len(zs), batch_size):
            chunk = torch.cat(zs[i : i + batch_size], dim=0)
            frames.append(decode(chunk).cpu())
            report(0.5 + 0.5 * min(i + batch_size, len(zs)) / len(zs))
        zs = [z.cpu() for z in zs]
    return Prediction(to_numpy(torch.cat(frames, 0)), _grid_latents(zs), start, mode)


# -- error curves (numpy wrappers of diano.metrics for plotting) -----------------------
def to_tensor(x: np.ndarray) -> Tensor:
    """float32 tensor of an array; read-only arrays (shared caches) are copied first."""
    a = np.asarray(x, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def fluid_mask(mask: np.ndarray | None) -> Tensor | None:
    return None if mask is None else torch.as_tensor(np.asarray(mask) > 0)


def rel_l2_curve(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Relative L2 error per frame of ``(T, C, H, W)`` arrays over fluid cells (``mask``
    ``(H, W)``, 1 = fluid), as float32 (:func:`diano.metrics.rel_l2_per_step`)."""
    if np.shape(pred) != np.shape(truth):
        raise ConfigError(f"prediction {np.shape(pred)} and truth {np.shape(truth)} differ")
    curve = metrics.rel_l2_per_step(to_tensor(pred)[None], to_tensor(truth)[None], fluid_mask(mask))
    return to_numpy(curve)


def mse_curve(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean squared error per frame over fluid cells (:func:`diano.metrics.mse`)."""
    return to_numpy(
        metrics.mse(to_tensor(pred), to_tensor(truth), fluid_mask(mask), reduction="none")
    )


def reference_curves(
    truth: np.ndarray, start: int, n_steps: int, mask: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Error of the two trivial forecasts over frames ``start .. start + n_steps``.

    * persistence: ``u(start)`` held fixed;
    * time mean: the mean of all the case's frames.
    """
    window = to_tensor(truth[start : start + n_steps + 1])[None]  # (1, T, C, H, W)
    persistence = metrics.persistence_baseline(window)
    mean = metrics.time_mean_baseline(window, reference=to_tensor(truth)[None])
    m = fluid_mask(mask)
    return {
        "persistence": to_numpy(metrics.rel_l2_per_step(persistence, window, m)),
        "time mean": to_numpy(metrics.rel_l2_per_step(mean, window, m)),
    }


def abs_error(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``|pred - truth|`` as float32, NaN (drawn blank) in solid cells when ``mask`` is given."""
    err = np.abs(np.asarray(pred, np.float32) - np.asarray(truth, np.float32))
    if mask is not None:
        err = np.where(np.asarray(mask) > 0, err, np.float32(np.nan))
    return err


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


@torch.no_grad()
def pipeline_arrays(model: nn.Module, field: np.ndarray) -> dict[str, np.ndarray | None]:
    """One pass through the model for a figure: ``field (C, H, W)`` →
    ``{"latent", "latent_next", "decoded"}``.

    ``latent`` is ``encode(field)``; ``latent_next`` one solver (or learned) step later, or
    ``None`` for a model that does not march; ``decoded`` is the decoded ``latent_next`` (or
    ``latent``). Latents are ``(Lc, M_y, M_x)`` or, for vector latents, ``(L,)``.
    """
    device = _model_device(model)
    u = to_tensor(field)[None].to(device)
    z = model.encode(u)
    z_next = model.step(z) if model.scenario in ("temporal", "geometric") else None
    decoded = model.decode(z if z_next is None else z_next, output_shape=tuple(u.shape[2:]))
    return {
        "latent": to_numpy(z[0]),
        "latent_next": None if z_next is None else to_numpy(z_next[0]),
        "decoded": to_numpy(decoded[0]),
    }
