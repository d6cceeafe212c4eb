"""Helpers shared by the benchmark generators: case records, progress, fields, checks."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from diano.errors import ValidationError


@dataclass
class CaseResult:
    """Arrays and metadata of one generated case, ready for :func:`diano.data.io.write_case`.

    Attributes:
        fields: ``(T, C, Ny, Nx)`` or ``(T, C, Nz, Ny, Nx)`` float32 in stored units.
        channels: channel names.
        mask: ``(Ny, Nx)`` or ``(Nz, Ny, Nx)`` uint8, 1 = fluid.
        coords: ``{"t": (t, units), "x": ..., ...}``.
        attrs: file attributes (benchmark, config, checks, timings, ...).
    """

    fields: np.ndarray
    channels: list[str]
    mask: np.ndarray
    coords: dict[str, tuple[np.ndarray, str]]
    attrs: dict[str, Any] = field(default_factory=dict)

    def write_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``write_case`` (everything but path, overwrite and dtype)."""
        return {
            "fields": self.fields,
            "channels": self.channels,
            "mask": self.mask,
            "coords": self.coords,
            "attrs": self.attrs,
        }


def config_dict(config: Any) -> dict[str, Any]:
    """Return a frozen config dataclass as a plain dict (tuples become lists for JSON)."""
    return dataclasses.asdict(config)


def step_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A tqdm bar over lattice steps (disabled bars cost nothing)."""
    return tqdm(
        total=total, desc=desc, unit="step", unit_scale=True, disable=not enabled, leave=False
    )


def chunks(total: int, size: int) -> Iterator[int]:
    """Yield chunk lengths of at most ``size`` that add up to ``total``."""
    done = 0
    while done < total:
        n = min(size, total - done)
        done += n
        yield n


def vorticity_2d(ux: Tensor, uy: Tensor, fluid: Tensor) -> Tensor:
    """Vorticity ω = ∂v/∂x − ∂u/∂y in lattice units, second-order central differences.

    Solid nodes carry u = 0 (no-slip), so the one-sided neighbourhood of a wall is handled
    by the same stencil; ω is set to zero on solid nodes. Arrays are ``(ny, nx)``; the
    first and last columns use one-sided differences (``torch.gradient``).
    """
    ux = ux * fluid
    uy = uy * fluid
    dv_dx = torch.gradient(uy, dim=1)[0]
    du_dy = torch.gradient(ux, dim=0)[0]
    return (dv_dx - du_dy) * fluid


class Timer:
    """Wall-clock stopwatch for the attributes (``seconds`` since construction)."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._t0


def require(condition: bool, message: str) -> None:
    """Raise :class:`ValidationError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ValidationError(message)


def to_numpy(x: Tensor) -> np.ndarray:
    """Detach, move to the CPU and convert to float32 numpy."""
    return x.detach().to("cpu", torch.float32).numpy()
