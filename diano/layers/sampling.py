"""Down- and up-sampling of ``(B, C, *S)`` fields in 1D, 2D and 3D.

* :class:`Downsample` averages over ``factor``-sized boxes (what the paper's text calls
  average pooling). ``mode="decimate"`` keeps every ``factor``-th point instead, which is
  what the authors' 2D code actually does (``AvgPool2d(kernel_size=1, stride=2)``,
  ``reference/method.md`` §1.2); it exists only to reproduce their runs.
* :class:`Upsample` is a transposed convolution with kernel = stride = factor. Build one
  per stage: the authors' 2D decoder reuses a single instance at every stage (§9).
* :func:`resample` maps a field to any grid size: box averages (or decimation) down,
  linear interpolation up. It is linear and parameter-free, used on the skip path of the
  Fourier blocks and for masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diano.layers.init import init_conv_

Pooling = Literal["average", "decimate"]

_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE_POOL = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
_LINEAR_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}
_CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def as_factors(factor: int | Sequence[int], dim: int) -> tuple[int, ...]:
    """Expand an integer factor to one per axis and check it."""
    factors = (int(factor),) * dim if isinstance(factor, int) else tuple(int(f) for f in factor)
    if len(factors) != dim or min(factors) < 1:
        raise ValueError(f"need {dim} positive integer factors, got {factor}")
    return factors


def _decimate(x: Tensor, factors: Sequence[int]) -> Tensor:
    index = (Ellipsis, *(slice(None, None, f) for f in factors))
    return x[index]


class Downsample(nn.Module):
    """Reduce every spatial axis by an integer factor.

    Args:
        factor: one factor for all axes or one per axis (a factor of 1 leaves that axis).
        dim: number of spatial axes (1, 2 or 3).
        mode: ``"average"`` (box mean, the default) or ``"decimate"`` (keep every
            ``factor``-th point, the authors' code).

    Shapes:
        ``(B, C, *S) -> (B, C, *(S // factor))``; sizes must be divisible by the factor.
    """

    def __init__(self, factor: int | Sequence[int] = 2, dim: int = 2, mode: Pooling = "average"):
        super().__init__()
        if mode not in ("average", "decimate"):
            raise ValueError(f"mode must be 'average' or 'decimate', got {mode!r}")
        self.factors = as_factors(factor, dim)
        self.dim = dim
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape[-self.dim :]
        if any(n % f for n, f in zip(shape, self.factors, strict=True)):
            raise ValueError(f"grid {tuple(shape)} is not divisible by factors {self.factors}")
        if self.mode == "decimate":
            return _decimate(x, self.factors)
        return _AVG_POOL[self.dim](x, kernel_size=self.factors, stride=self.factors)

    def extra_repr(self) -> str:
        return f"factors={self.factors}, mode={self.mode!r}"


class Upsample(nn.Module):
    """Learned up-sampling by integer factors: ``ConvTranspose`` with kernel = stride.

    Args:
        channels: channels in and out.
        factor: one factor for all axes or one per axis.
        dim: number of spatial axes (1, 2 or 3).

    Shapes:
        ``(B, C, *S) -> (B, C, *(S * factor))``.
    """

    def __init__(self, channels: int, factor: int | Sequence[int] = 2, dim: int = 2) -> None:
        super().__init__()
        self.factors = as_factors(factor, dim)
        self.conv = _CONV_TRANSPOSE[dim](
            channels, channels, kernel_size=self.factors, stride=self.factors
        )
        init_conv_(self.conv)

    def forward(self, x: Tensor) -> Tensor:
        # kernel = stride: every input cell writes its own block of outputs, so the
        # transposed convolution is one product (faster than the CPU kernels, same result)
        w, b = self.conv.weight, self.conv.bias  # (C_in, C_out, *k), (C_out,)
        dim = x.dim() - 2
        axes, kern = "xyz"[:dim], "ijk"[:dim]
        pairs = "".join(a + k for a, k in zip(axes, kern, strict=True))
        y = torch.einsum(f"bc{axes},co{kern}->bo{pairs}", x, w)
        size = [n * f for n, f in zip(x.shape[2:], self.factors, strict=True)]
        y = y.reshape(x.shape[0], w.shape[1], *size)
        return y + b.view(1, -1, *([1] * dim)) if b is not None else y


def resample(x: Tensor, shape: Sequence[int], pooling: Pooling = "average") -> Tensor:
    """Map ``x (B, C, *S)`` onto a grid of ``shape`` without parameters.

    Axes that shrink are box-averaged (exact means for integer ratios, adaptive means
    otherwise) or, with ``pooling="decimate"`` and integer ratios, decimated; axes that grow
    are then linearly interpolated (cell-centred, ``align_corners=False``). Constants are
    preserved either way.
    """
    shape = tuple(int(n) for n in shape)
    dim = len(shape)
    in_shape = tuple(x.shape[-dim:])
    if in_shape == shape:
        return x
    shrunk = tuple(min(a, b) for a, b in zip(in_shape, shape, strict=True))
    if shrunk != in_shape:
        divisible = all(a % b == 0 for a, b in zip(in_shape, shrunk, strict=True))
        factors = tuple(a // b for a, b in zip(in_shape, shrunk, strict=True))
        if divisible and pooling == "decimate":
            x = _decimate(x, factors)
        elif divisible:
            x = _AVG_POOL[dim](x, kernel_size=factors, stride=factors)
        else:
            x = _ADAPTIVE_POOL[dim](x, shrunk)
    if shrunk != shape:
        x = F.interpolate(x, size=shape, mode=_LINEAR_MODE[dim], align_corners=False)
    return x
