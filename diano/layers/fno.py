"""FNO encoder (N → M) and decoder (M → any size), and the learned line → plane lift.

The encoder lifts the field and its grid coordinates pointwise to ``width`` channels, runs
Fourier blocks whose spectral layers emit the coarser grid of each stage directly, and
projects to the latent channels. Because every stage has a fixed output grid, an input at
another resolution (e.g. 2N) still gives the M latent. The decoder lifts the latent (with
its coordinates), up-samples by transposed convolutions (one module per stage) followed
by Fourier blocks, and its last block emits whatever output grid is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from diano.layers.blocks import ChannelMLP, FourierBlock, grid_coordinates, pointwise
from diano.layers.sampling import Pooling, Upsample, resample
from diano.layers.spectral import usable_modes

Shape = tuple[int, ...]


def halvings(full: int, coarse: int) -> int:
    """Number of factor-2 reductions from ``full`` to ``coarse`` points, if it is whole."""
    ratio, rest = divmod(full, coarse) if coarse > 0 else (0, 1)
    if rest or ratio < 1 or ratio & (ratio - 1):
        raise ValueError(f"{full} → {coarse} points is not a power-of-two reduction")
    return ratio.bit_length() - 1


def plan_stages(grid_shape: Sequence[int], latent_shape: Sequence[int], n_layers: int) -> list:
    """Output grid of each encoder block, from ``grid_shape`` down to ``latent_shape``.

    The halvings of every axis are spread over the ``n_layers`` blocks as evenly as possible,
    the earlier blocks taking more, so the blocks left over run at the latent resolution.
    The decoder mirrors the list (see :func:`decoder_stages`).
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    stages = []
    counts = [halvings(n, m) for n, m in zip(grid_shape, latent_shape, strict=True)]
    shape = list(grid_shape)
    for i in range(n_layers):
        for axis, h in enumerate(counts):
            steps = h // n_layers + (1 if i < h % n_layers else 0)
            shape[axis] //= 2**steps
        stages.append(tuple(shape))
    return stages


def decoder_stages(grid_shape: Sequence[int], encoder_stages: Sequence[Shape]) -> list:
    """Output grids of the decoder blocks: the encoder's in reverse, ending at ``grid_shape``."""
    return [*reversed(encoder_stages[:-1]), tuple(grid_shape)]


class FNOEncoder(nn.Module):
    """Lift (field + coordinates) → Fourier blocks down to the latent grid → projection.

    Args:
        in_channels: field channels (coordinates are added internally).
        out_channels: latent channels.
        width: hidden channels of the Fourier blocks.
        n_modes: modes per axis; each block uses at most what its grids hold.
        stages: output grid of each block (:func:`plan_stages`); the last is the latent grid.
        extent: box the coordinates are laid on (tensor axis order).
        pooling: skip-path reduction, ``"average"`` or ``"decimate"``.
        skip_kernel: width of the blocks' skip convolution (1 = pointwise, the paper's).

    Shapes:
        ``(B, C_in, *S) -> (B, C_out, *stages[-1])`` for any input grid ``S``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int,
        n_modes: Sequence[int],
        stages: Sequence[Shape],
        extent: Sequence[float],
        pooling: Pooling = "average",
        skip_kernel: int = 1,
    ) -> None:
        super().__init__()
        self.dim = len(extent)
        self.extent = tuple(float(e) for e in extent)
        self.stages = [tuple(s) for s in stages]
        self.lift = pointwise(in_channels + self.dim, width, self.dim)
        inputs = [None, *self.stages[:-1]]
        self.blocks = nn.ModuleList(
            FourierBlock(
                width,
                width,
                usable_modes(n_modes, *(s for s in (shape_in, shape_out) if s is not None)),
                activation="gelu" if i < len(self.stages) - 1 else None,
                pooling=pooling,
                skip_kernel=skip_kernel,
            )
            for i, (shape_in, shape_out) in enumerate(zip(inputs, self.stages, strict=True))
        )
        self.project = ChannelMLP(width, 4 * width, out_channels, self.dim)

    def forward(self, u: Tensor) -> Tensor:
        coords = grid_coordinates(u.shape[2:], self.extent, device=u.device, dtype=u.dtype)
        # (B, C + d, *S): the field with its coordinates as extra channels
        x = self.lift(torch.cat([u, coords.expand(u.shape[0], *coords.shape[1:])], dim=1))
        for block, shape in zip(self.blocks, self.stages, strict=True):
            x = block(x, shape)
        return self.project(x)


class FNODecoder(nn.Module):
    """Lift (latent + coordinates) → [up-sample → Fourier block] per stage → projection.

    Args:
        in_channels: latent channels.
        out_channels: output field channels.
        width: hidden channels.
        n_modes: modes per axis; each block uses at most what its grids hold.
        latent_shape: the grid the decoder starts from.
        stages: output grid of each block (:func:`decoder_stages`); the last is the full grid.
        extent: box the coordinates are laid on (tensor axis order).
        pooling: skip-path reduction when an output smaller than a stage is asked for.
        skip_kernel: width of the blocks' skip convolution (1 = pointwise, the paper's).

    Shapes:
        ``(B, C_in, *latent_shape) -> (B, C_out, *output_shape)``; ``output_shape`` defaults
        to ``stages[-1]`` and may be any grid (e.g. twice the training resolution): the
        last block's spectral layer emits it directly and its skip path is interpolated.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int,
        n_modes: Sequence[int],
        latent_shape: Shape,
        stages: Sequence[Shape],
        extent: Sequence[float],
        pooling: Pooling = "average",
        skip_kernel: int = 1,
    ) -> None:
        super().__init__()
        self.dim = len(extent)
        self.extent = tuple(float(e) for e in extent)
        self.stages = [tuple(s) for s in stages]
        self.lift = pointwise(in_channels + self.dim, width, self.dim)
        previous = [tuple(latent_shape), *self.stages[:-1]]
        ups, blocks = [], []
        for i, (shape_in, shape_out) in enumerate(zip(previous, self.stages, strict=True)):
            factors = tuple(b // a for a, b in zip(shape_in, shape_out, strict=True))
            # a separate transposed convolution per stage (never one shared instance)
            ups.append(Upsample(width, factors, self.dim) if max(factors) > 1 else nn.Identity())
            last = i == len(self.stages) - 1
            blocks.append(
                FourierBlock(
                    width,
                    width,
                    usable_modes(n_modes, shape_out),
                    activation=None if last else "gelu",
                    pooling=pooling,
                    skip_kernel=skip_kernel,
                )
            )
        self.ups = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)
        self.project = ChannelMLP(width, 4 * width, out_channels, self.dim)

    def forward(self, z: Tensor, output_shape: Sequence[int] | None = None) -> Tensor:
        out_shape = self.stages[-1] if output_shape is None else tuple(output_shape)
        coords = grid_coordinates(z.shape[2:], self.extent, device=z.device, dtype=z.dtype)
        # (B, C + d, *M): the latent with its coordinates as extra channels
        x = self.lift(torch.cat([z, coords.expand(z.shape[0], *coords.shape[1:])], dim=1))
        shapes = [*self.stages[:-1], out_shape]
        for up, block, shape in zip(self.ups, self.blocks, shapes, strict=True):
            x = block(up(x), shape)
        return self.project(x)


class LineToPlane(nn.Module):
    """Learned lift of a 1D latent line to a 2D field: an affine outer product.

    ``x[b, c, h, w] = line[b, c, w] · profile[c, h] + offset[c, h]`` with
    ``line = Conv1x1(z)``: each hidden channel is the line spread across the height with its
    own learned profile, plus a learned height-dependent offset (e.g. a mean-flow profile).
    It replaces the authors' ``ConvTranspose2d(1, 1, (H, 1))``, which was never optimised
    and so stayed a frozen random rank-1 map (``reference/method.md`` §2.4).

    Shapes:
        ``z (B, C, W') -> (B, width, height, W')``.
    """

    def __init__(self, in_channels: int, width: int, height: int) -> None:
        super().__init__()
        self.line = pointwise(in_channels, width, dim=1)
        self.profile = nn.Parameter(torch.randn(width, height))
        self.offset = nn.Parameter(torch.zeros(width, height))

    def forward(self, z: Tensor) -> Tensor:
        line = self.line(z)  # (B, width, W')
        # (B, width, 1, W') * (1, width, H, 1) + (1, width, H, 1) -> (B, width, H, W')
        return line.unsqueeze(2) * self.profile[None, :, :, None] + self.offset[None, :, :, None]


def average_over_height(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``x (B, C, H, W)`` over ``H``, weighted by a fluid mask if one is given.

    ``mask`` is ``(B or 1, 1, H_m, W_m)`` with 1 in the fluid; it is box-averaged onto
    ``x``'s grid, so partly fluid cells weigh in proportion. Columns without fluid give 0.
    Returns ``(B, C, W)``.
    """
    if mask is None:
        return x.mean(dim=2)
    weight = resample(mask.to(x.dtype), x.shape[2:])
    total = (x * weight).sum(dim=2)
    return total / weight.sum(dim=2).clamp_min(torch.finfo(x.dtype).eps)
