"""Normalise PDE coefficients given as numbers, sequences or tensors to batched tensors.

Forms accepted (``docs/architecture.md``):

- ``nu``: a number or a tensor broadcastable to ``(B, C)``; a 1-D tensor of length B is per
  sample. Returned as ``(B', C')`` with ``B' ∈ {1, B}`` and ``C' ∈ {1, C}``.
- ``velocity`` with several axes: a pair ``(cx, cy)`` or a tensor broadcastable to
  ``(B, C, n_axes)``; a ``(B, n_axes)`` tensor is per sample. Returned as ``(B', C', n_axes)``.
- ``velocity`` on a line (one axis): the same forms as ``nu``. Returned as ``(B', C', 1)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from diano.errors import ConfigError


def _as_tensor(value: Any, name: str) -> Tensor:
    if isinstance(value, Tensor):
        t = value
    else:
        try:
            t = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"{name} must be a number or a tensor, got {value!r}") from exc
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if not bool(torch.isfinite(t.detach()).all()):
        raise ConfigError(f"{name} must be finite, got {t.detach().cpu().tolist()}")
    return t


def as_nu(value: Any, name: str = "nu") -> Tensor:
    """Return a non-negative coefficient as a ``(B', C')`` tensor."""
    t = _as_tensor(value, name)
    if t.dim() == 0:
        t = t.reshape(1, 1)
    elif t.dim() == 1:
        t = t[:, None]  # per sample
    elif t.dim() != 2:
        raise ConfigError(
            f"{name} must be a number or a tensor of shape (B,) or (B, C), got {tuple(t.shape)}"
        )
    if bool((t.detach() < 0).any()):
        raise ConfigError(f"{name} must be non-negative, got {t.detach().cpu().tolist()}")
    return t


def as_velocity(value: Any, n_axes: int) -> Tensor:
    """Return a velocity as a ``(B', C', n_axes)`` tensor (components in axis order x, y, ...)."""
    t = _as_tensor(value, "velocity")
    if n_axes == 1:
        if t.dim() == 3 and t.shape[-1] == 1:
            return t
        if t.dim() > 2:
            raise ConfigError(
                "velocity on a line must be a number or a tensor of shape (B,) or (B, C), "
                f"got {tuple(t.shape)}"
            )
        return as_nu_like(t)[..., None]
    if t.dim() == 0 or t.shape[-1] != n_axes or t.dim() > 3:
        raise ConfigError(
            f"velocity must have {n_axes} components in its last dimension, as a tuple or a "
            f"tensor of shape ({n_axes},), (B, {n_axes}) or (B, C, {n_axes}); "
            f"got shape {tuple(t.shape)}"
        )
    if t.dim() == 1:
        return t.reshape(1, 1, n_axes)
    if t.dim() == 2:
        return t[:, None, :]  # (B, n_axes) is per sample
    return t


def as_nu_like(t: Tensor) -> Tensor:
    """Reshape a signed per-sample/per-channel scalar to ``(B', C')``."""
    if t.dim() == 0:
        return t.reshape(1, 1)
    if t.dim() == 1:
        return t[:, None]
    return t


def check_broadcast(t: Tensor, batch: int, channels: int, name: str) -> None:
    """Raise if the leading ``(B', C')`` of ``t`` cannot broadcast to ``(batch, channels)``."""
    b, c = t.shape[0], t.shape[1]
    if b not in (1, batch) or c not in (1, channels):
        raise ConfigError(
            f"{name} of shape {tuple(t.shape)} does not broadcast to the latent's "
            f"(B, C) = ({batch}, {channels}); give one value, one per sample (B,), "
            "or one per sample and channel (B, C)"
        )
