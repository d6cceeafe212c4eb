"""The latent as a coarse field: pooling, the readable region, correlation, saliency."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from diano import metrics
from diano.errors import ConfigError
from diano.explore.predict import fluid_mask, to_numpy, to_tensor
from diano.latent_edit import LatentGrid


# -- the latent as a coarse field ------------------------------------------------------
def pool_to(fields: np.ndarray, shape: Sequence[int], mask: np.ndarray | None = None) -> np.ndarray:
    """Area-average ``(..., H, W)`` fields onto the latent grid ``shape`` (fluid cells only
    when ``mask`` is given; :func:`diano.metrics.pool_to`)."""
    return to_numpy(metrics.pool_to(to_tensor(fields), shape, fluid_mask(mask)))


def readable_region(
    grid: LatentGrid,
    mask: np.ndarray | None,
    x: np.ndarray,
    y: np.ndarray,
    margin: float = 0.5,
    whole_box: bool = False,
) -> np.ndarray:
    """Latent cells where the latent reads as a coarse copy of the field: ``(M_y, M_x)`` bool.

    For a body in a stream (the cylinder) that is the wake downstream of it: cells whose
    upstream edge lies at least ``margin`` body sizes behind the body's downstream edge
    (``reference/method.md`` §13: from 1D behind the cylinder centre). Without a solid body,
    or for a latent tied to the field over the ``whole_box`` (the static model, a carrier
    latent), every cell counts.

    Args:
        grid: the latent's placement.
        mask: ``(H, W)`` data mask, 1 = fluid, or ``None``.
        x, y: the data's cell-centred coordinates ``(W,)`` and ``(H,)``.
        margin: distance behind the body in body sizes.
        whole_box: the latent was tied to the field over the whole box.
    """
    region = np.ones(grid.shape, dtype=bool)
    if whole_box or mask is None or np.all(np.asarray(mask) > 0):
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
    a, b = to_tensor(latent)[None], to_tensor(pooled)[None]
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
    return to_numpy(grad[0].abs())
