"""Fixtures for model tests: smooth synthetic fields and fluid masks for any config."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

_MODES = {2: "bicubic", 3: "trilinear"}


def smooth_field(shape: tuple[int, ...], channels: int, batch: int = 2) -> torch.Tensor:
    """Unit-variance random fields, smooth on the grid: ``(batch, channels, *shape)``."""
    coarse = tuple(max(2, n // 4) for n in shape)
    x = torch.randn(batch, channels, *coarse)
    x = F.interpolate(x, size=tuple(shape), mode=_MODES[len(shape)], align_corners=False)
    return x / x.std()


def fluid_mask(shape: tuple[int, ...]) -> torch.Tensor:
    """A mask ``(1, 1, *shape)`` with solid borders (a channel or tube in a box)."""
    mask = torch.zeros(1, 1, *shape)
    inner = tuple(slice(max(1, n // 8), n - max(1, n // 8)) for n in shape)
    mask[(0, 0, *inner)] = 1.0
    return mask


@pytest.fixture
def field() -> Callable[..., torch.Tensor]:
    """:func:`smooth_field` as a fixture: ``field(shape, channels, batch=2)``."""
    return smooth_field


@pytest.fixture
def mask_of() -> Callable[[tuple[int, ...]], torch.Tensor]:
    """:func:`fluid_mask` as a fixture: ``mask_of(shape)``."""
    return fluid_mask


@pytest.fixture
def make_input() -> Callable[..., torch.Tensor]:
    """Input of a model config: ``(batch, len(in_channels), *grid_shape)``, or at ``scale``×."""

    def make(config, batch: int = 2, scale: int = 1) -> torch.Tensor:
        shape = tuple(n * scale for n in config.grid_shape)
        return smooth_field(shape, len(config.in_channels), batch)

    return make
