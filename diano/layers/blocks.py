"""Pointwise layers, the channel MLP, the Fourier block and grid-coordinate channels.

The Fourier block follows the layer of the authors' code (``reference/method.md`` §1.2),
``y = act(MLP(SpectralConv(x)) + Conv1x1(x))``, with an ``output_shape`` so that one block
can also change resolution: the spectral path emits the new grid directly and the skip
path is resampled (box averages down, interpolation up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from diano.layers.init import GELU_GAIN, init_conv_
from diano.layers.sampling import Pooling, resample
from diano.layers.spectral import SpectralConv

Activation = Literal["gelu"] | None

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_AXES = "xyz"


def _pointwise_forward(self: nn.Module, x: Tensor) -> Tensor:
    """A 1×1 convolution as one matrix product over the channel axis.

    On the CPU this is about 1.5× faster forward and backward than the convolution
    kernels for NCHW tensors, and it needs no memory-format conversions.
    """
    axes = _AXES[: x.dim() - 2]
    y = torch.einsum(f"oc,bc{axes}->bo{axes}", self.weight.flatten(1), x)
    if self.bias is not None:
        y = y + self.bias.view(1, -1, *([1] * len(axes)))
    return y


class Pointwise1d(nn.Conv1d):
    forward = _pointwise_forward


class Pointwise2d(nn.Conv2d):
    forward = _pointwise_forward


class Pointwise3d(nn.Conv3d):
    forward = _pointwise_forward


_POINTWISE = {1: Pointwise1d, 2: Pointwise2d, 3: Pointwise3d}


def pointwise(in_channels: int, out_channels: int, dim: int, gain: float = 1.0) -> nn.Module:
    """A Kaiming-initialised 1×1 (×1) convolution: a linear map of channels at every point.

    The module is a ``Conv{1,2,3}d`` (same parameters and state-dict keys) computed as a
    matrix product.
    """
    conv = _POINTWISE[dim](in_channels, out_channels, kernel_size=1)
    init_conv_(conv, gain)
    return conv


def local_conv(in_channels: int, out_channels: int, dim: int, kernel: int) -> nn.Module:
    """A Kaiming-initialised ``kernel``-wide convolution that keeps the grid: an odd kernel,
    edges padded by replication (the fields are not periodic); ``kernel=1`` is
    :func:`pointwise`."""
    if kernel == 1:
        return pointwise(in_channels, out_channels, dim)
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"a local kernel is odd and >= 1, got {kernel}")
    conv = _CONV[dim](
        in_channels, out_channels, kernel, padding=kernel // 2, padding_mode="replicate"
    )
    init_conv_(conv)
    return conv


def make_activation(name: Activation) -> nn.Module:
    """``"gelu"`` or ``None`` (identity)."""
    if name is None:
        return nn.Identity()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; use 'gelu' or None")


class ChannelMLP(nn.Module):
    """1×1 conv → GELU → 1×1 conv, applied at every grid point (the code's ``CNN_LAYERS``).

    Shapes:
        ``(B, C_in, *S) -> (B, C_out, *S)``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, dim: int):
        super().__init__()
        # the first conv feeds a GELU, so it gets the GELU gain to keep the variance at O(1)
        self.fc1 = pointwise(in_channels, hidden_channels, dim, gain=GELU_GAIN)
        self.act = nn.GELU()
        self.fc2 = pointwise(hidden_channels, out_channels, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class FourierBlock(nn.Module):
    """Spectral convolution + channel MLP, plus a skip path, then an activation.

    The skip path is the paper's pointwise linear map (``skip_kernel=1``) or a small local
    convolution (``skip_kernel=3``): a global (truncated-spectrum) plus a local kernel, so
    the block can form features finer than its kept modes.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        n_modes: Fourier modes kept per axis (length = spatial dimension).
        activation: ``"gelu"`` (default) or ``None`` (e.g. for the last block).
        pooling: how the skip path shrinks a grid: ``"average"`` or ``"decimate"``.
        skip_kernel: width of the skip path's convolution (odd; 1 = pointwise).

    Shapes:
        ``x (B, C_in, *S_in) -> (B, C_out, *S_out)`` with ``S_out = output_shape or S_in``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        n_modes: Sequence[int],
        activation: Activation = "gelu",
        pooling: Pooling = "average",
        skip_kernel: int = 1,
    ) -> None:
        super().__init__()
        self.dim = len(n_modes)
        self.spectral = SpectralConv(in_channels, out_channels, n_modes)
        self.mlp = ChannelMLP(out_channels, out_channels, out_channels, self.dim)
        self.skip = local_conv(in_channels, out_channels, self.dim, skip_kernel)
        self.act = make_activation(activation)
        self.pooling = pooling

    def forward(self, x: Tensor, output_shape: Sequence[int] | None = None) -> Tensor:
        in_shape = tuple(x.shape[-self.dim :])
        out_shape = in_shape if output_shape is None else tuple(output_shape)
        spectral = self.mlp(self.spectral(x, out_shape))
        # run the skip conv on the smaller of the two grids (a 1×1 conv commutes with the
        # resampling: both linear, constants preserved; a wider one is applied on the coarser
        # grid by definition, the same at every resolution the block is asked for)
        if torch.Size(out_shape).numel() < torch.Size(in_shape).numel():
            skip = self.skip(resample(x, out_shape, self.pooling))
        else:
            skip = resample(self.skip(x), out_shape, self.pooling)
        return self.act(spectral + skip)


def grid_coordinates(
    shape: Sequence[int],
    extent: Sequence[float],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Cell-centre coordinates of a grid on a box, as channels ``(1, d, *shape)``.

    Axis order of ``shape`` and ``extent`` is ``(z, y, x)`` / ``(y, x)`` / ``(x,)`` (the
    tensor's axis order); the channels come in the paper's order ``x, y[, z]``. Point ``i``
    of an axis of ``n`` points on length ``L`` sits at ``(i + 1/2) L / n``, so coordinates of
    a grid and of its refinement describe the same physical positions.
    """
    if len(shape) != len(extent):
        raise ValueError(f"grid {tuple(shape)} and extent {tuple(extent)} differ in dimension")
    axes = [
        (torch.arange(n, device=device, dtype=dtype) + 0.5) * (float(length) / n)
        for n, length in zip(shape, extent, strict=True)
    ]
    # each (*shape); reversed to put x (the last tensor axis) first
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack(mesh[::-1], dim=0).unsqueeze(0)
