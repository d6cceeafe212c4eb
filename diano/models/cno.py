"""Convolutional Neural Operator baseline (Raonić et al., NeurIPS 2023), 2D and 3D.

The authors of DIANO called a plain U-Net "CNO" (method.md §5). This is the real one,
written after the structure of camlab-ethz/ConvolutionalNeuralOperator (``CNO2d_simplified``,
MIT): a lifting block, a U-shaped encoder/decoder of conv blocks, residual blocks on every
skip connection and in the bottleneck, and a projection. What makes it an operator rather
than a CNN is the **anti-aliased activation**: a nonlinearity creates frequencies beyond the
grid's Nyquist band, which a pointwise activation folds back (aliases) into the band. Here
each activation up-samples ×2 (band-limited), applies the nonlinearity on the finer grid
and down-samples with a low-pass filter, so only harmonics beyond 1.5× the coarse Nyquist
frequency can alias, and they are small. The default resampling is the ideal low-pass:
Fourier-domain zero-padding and truncation, in 2D and 3D (``F.interpolate`` has no
anti-aliased 3D mode). It leaves 7–12 % of a pointwise LeakyReLU's aliased error and 0.1 % of
a GELU's. Bicubic interpolation (anti-aliased when shrinking), as in ``CNO2d_simplified``,
is available in 2D; its up/down pair blurs the band by about 1.4 %, which leaves 80 % of the
LeakyReLU's aliased error and more than a GELU's (``tests/models/test_baselines.py``).

Place in the model contract. The CNO has skip connections at every level, so it is an
operator ``u -> u`` on its working grid, not a bottleneck autoencoder. Its "latent" is the
normalised field resampled to the working grid ``config.grid_shape``: ``encode`` normalises
and resamples, ``decode`` resamples and denormalises (box averages down, linear interpolation
up, as for the other models: the fields are not periodic, and Fourier interpolation would
ring at their boundaries; inside the network, where the features are learned, the Fourier
filter serves the activations). The U-Net sits where the scenario's prediction happens:

- ``static``: ``decode`` runs the U-Net (reconstruction is the operator, not an identity);
- ``temporal`` and ``geometric``: ``step`` is the one-step operator
  ``z^{n+1} = z^n + U(z^n)`` (an increment, since consecutive snapshots differ little), and
  ``decode`` only resamples, so ``rollout(u, 0) == decode(encode(u))`` returns ``u``; the
  geometric scenario (stenosis) marches the 2D field: a CNO has no 1D latent line;
- ``many_to_one``: ``decode`` runs the U-Net from the input fields (u, v, w) to the output
  field (p), so ``map(x) == decode(encode(x))``.

Because nothing is compressed, the static CNO is a ceiling for reconstruction, not a
compression method compared at equal latent size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.layers.init import GELU_GAIN, init_conv_
from diano.models.base import MARCHING_SCENARIOS
from diano.models.stepper import (
    BASELINE_SCENARIOS,
    LearnedStepModel,
    check_field,
    conv_cls,
    kaiming_init_,
    validate_baseline_config,
)

Activation = Literal["lrelu", "gelu"]
Resampling = Literal["fourier", "bicubic"]
Scale = Literal["same", "down", "up"]


@dataclass(frozen=True)
class CNOConfig:
    """Configuration of :class:`CNO`.

    Attributes:
        scenario: "static", "temporal", "geometric" or "many_to_one".
        in_channels: names of the input channels, e.g. ``("vorticity",)``.
        out_channels: names of the output channels (equal to ``in_channels`` except in
            the many-to-one scenario).
        grid_shape: working grid ``(H, W)`` or ``(D, H, W)``, divisible by ``2**n_levels``.
        hidden_channels: width after lifting, doubled at every level.
        n_levels: number of down-sampling levels of the U-Net.
        n_res: residual blocks on each skip connection.
        n_res_neck: residual blocks in the bottleneck.
        activation: nonlinearity inside the anti-aliased activation, "lrelu" or "gelu".
        resampling: "fourier" (ideal low-pass, 2D and 3D) or "bicubic" (2D only, as
            ``CNO2d_simplified``; faster, weaker anti-aliasing).
    """

    scenario: str = "static"
    in_channels: tuple[str, ...] = ("vorticity",)
    out_channels: tuple[str, ...] = ("vorticity",)
    grid_shape: tuple[int, ...] = (128, 128)
    hidden_channels: int = 16
    n_levels: int = 3
    n_res: int = 1
    n_res_neck: int = 2
    activation: str = "lrelu"
    resampling: str = "fourier"

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "grid_shape"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        validate_baseline_config(self, "cno", (*BASELINE_SCENARIOS, "many_to_one"), (2, 3))
        if self.n_levels < 1 or self.hidden_channels < 1 or min(self.n_res, self.n_res_neck) < 0:
            raise ConfigError(
                f"cno needs n_levels >= 1, hidden_channels >= 1, n_res and n_res_neck >= 0; got "
                f"{self.n_levels}, {self.hidden_channels}, {self.n_res}, {self.n_res_neck}"
            )
        if any(s % 2**self.n_levels for s in self.grid_shape):
            raise ConfigError(
                f"cno grid_shape {self.grid_shape} must be divisible by 2**n_levels = "
                f"{2**self.n_levels} along every axis"
            )
        if self.activation not in ("lrelu", "gelu"):
            raise ConfigError(f"cno activation must be 'lrelu' or 'gelu', got {self.activation!r}")
        if self.resampling not in ("fourier", "bicubic"):
            raise ConfigError(
                f"cno resampling must be 'fourier' or 'bicubic', got {self.resampling!r}"
            )
        if self.resampling == "bicubic" and len(self.grid_shape) == 3:
            raise ConfigError(
                "cno resampling 'bicubic' is 2D only (torch has no anti-aliased 3D "
                "interpolation); use 'fourier' for a 3D grid"
            )


def fourier_resample(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Band-limited resampling of ``(B, C, *S)`` to ``shape`` by truncating or zero-padding
    the spectrum (the ideal low-pass filter for a periodic signal).

    Grids are cell-centred (point ``i`` of ``n`` at ``(i + 1/2)/n`` of the axis, as in
    :mod:`diano.layers` and ``align_corners=False``), so mode ``k`` gets the phase shift
    ``exp(iπk(1/n_out - 1/n_in))``. Frequencies ``|k| < min(n_in, n_out) / 2`` are kept on each
    axis; the ambiguous Nyquist frequency of the coarser grid is dropped, which keeps the
    result real and makes up-sampling followed by down-sampling the identity.
    """
    shape = tuple(int(s) for s in shape)
    dims = len(shape)
    if tuple(x.shape[-dims:]) == shape:
        return x
    axes = tuple(range(-dims, 0))
    # norm="forward" divides only the forward transform, so amplitudes do not depend on size
    spec = torch.fft.rfftn(x, dim=axes, norm="forward")  # (B, C, *S[:-1], S[-1] // 2 + 1)
    out_spec = (*shape[:-1], shape[-1] // 2 + 1)
    # per axis: the kept blocks as (source start, target start, frequencies, phase factors)
    blocks_per_axis = []
    for i, (n_in, n_out) in enumerate(zip(x.shape[-dims:], shape, strict=True)):
        n_pos = (min(n_in, n_out) - 1) // 2 + 1  # frequencies 0 .. n_pos - 1
        n_neg = 0 if i == dims - 1 else n_pos - 1  # frequencies -n_neg .. -1 (none on the
        # one-sided last axis)
        view = [1] * dims
        view[i] = -1
        blocks = []
        for src, dst, k in (
            (0, 0, torch.arange(n_pos)),
            (spec.shape[2 + i] - n_neg, out_spec[i] - n_neg, torch.arange(-n_neg, 0)),
        ):
            if len(k):
                k = k.to(device=x.device, dtype=x.dtype)
                phase = torch.polar(torch.ones_like(k), torch.pi * k * (1.0 / n_out - 1.0 / n_in))
                blocks.append((src, dst, len(k), phase.view(view)))
        blocks_per_axis.append(blocks)
    out = spec.new_zeros((*spec.shape[:2], *out_spec))
    for corner in itertools.product(*blocks_per_axis):  # 2^(dims-1) corners of low modes
        src = tuple(slice(s, s + n) for s, _, n, _ in corner)
        dst = tuple(slice(d, d + n) for _, d, n, _ in corner)
        phase = math.prod(p for *_, p in corner)  # (n_0, 1, ..) · (1, n_1, ..) · ...
        out[(..., *dst)] = spec[(..., *src)] * phase
    return torch.fft.irfftn(out, s=shape, dim=axes, norm="forward")


def band_limited_resample(x: Tensor, shape: tuple[int, ...], method: str) -> Tensor:
    """Resample ``(B, C, *S)`` to ``shape`` with an anti-aliasing filter: "bicubic" or "fourier"."""
    shape = tuple(int(s) for s in shape)
    if tuple(x.shape[2:]) == shape:
        return x
    if method == "fourier":
        return fourier_resample(x, shape)
    if x.dim() != 4:
        raise ConfigError(f"bicubic resampling is 2D only, got a tensor of shape {tuple(x.shape)}")
    # the anti-aliasing filter only acts when shrinking; torch's plain bicubic kernel is
    # several times faster than its "aa" kernel for the up-sampling
    shrinks = any(n < m for n, m in zip(shape, x.shape[2:], strict=True))
    return F.interpolate(x, size=shape, mode="bicubic", align_corners=False, antialias=shrinks)


class AntiAliasedActivation(nn.Module):
    """CNO activation: up-sample ×2, apply the nonlinearity, down-sample to the output grid.

    Args:
        activation: "lrelu" (LeakyReLU, slope 0.01) or "gelu".
        resampling: "bicubic" (2D) or "fourier".
        scale: output grid relative to the input: "same", "down" (half) or "up" (double).
            The nonlinearity acts on a grid twice as fine as the larger of the two.
    """

    def __init__(self, activation: Activation, resampling: str, scale: Scale = "same") -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.01) if activation == "lrelu" else nn.GELU()
        self.resampling = resampling
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        n_in = tuple(x.shape[2:])
        n_out = {
            "same": n_in,
            "down": tuple(n // 2 for n in n_in),
            "up": tuple(2 * n for n in n_in),
        }[self.scale]
        fine = tuple(2 * max(a, b) for a, b in zip(n_in, n_out, strict=True))
        x = band_limited_resample(x, fine, self.resampling)
        return band_limited_resample(self.act(x), n_out, self.resampling)


class _CNOBlock(nn.Module):
    """3×3 conv, then the anti-aliased activation (which also changes the grid size)."""

    def __init__(
        self, c_in: int, c_out: int, dims: int, act: Activation, resampling: str, scale: Scale
    ) -> None:
        super().__init__()
        self.conv = conv_cls(dims)(c_in, c_out, 3, padding=1)
        self.act = AntiAliasedActivation(act, resampling, scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv(x))


class _CNOResBlock(nn.Module):
    """``x + conv(σ̃(conv(x)))`` with the anti-aliased activation σ̃."""

    def __init__(self, channels: int, dims: int, act: Activation, resampling: str) -> None:
        super().__init__()
        self.block = _CNOBlock(channels, channels, dims, act, resampling, "same")
        self.conv = conv_cls(dims)(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(self.block(x))


class CNOUNet(nn.Module):
    """The CNO's U-shaped network ``(B, c_in, *S) -> (B, c_out, *S)``.

    Widths ``hidden · 2^l`` at level ``l`` (grid ``S / 2^l``). Lifting block; per level a
    residual chain on the skip and a down block; residual blocks in the bottleneck; per
    level an up block, concatenation with the skip and a block that merges them; a 1×1
    projection.
    """

    def __init__(self, c_in: int, c_out: int, config: CNOConfig) -> None:
        super().__init__()
        dims, act, rs = len(config.grid_shape), config.activation, config.resampling
        w = [config.hidden_channels * 2**level for level in range(config.n_levels + 1)]
        levels = range(config.n_levels)
        self.lift = _CNOBlock(c_in, w[0], dims, act, rs, "same")
        self.skips = nn.ModuleList(
            nn.Sequential(*(_CNOResBlock(w[i], dims, act, rs) for _ in range(config.n_res)))
            for i in levels
        )
        self.downs = nn.ModuleList(_CNOBlock(w[i], w[i + 1], dims, act, rs, "down") for i in levels)
        self.neck = nn.Sequential(
            *(_CNOResBlock(w[-1], dims, act, rs) for _ in range(config.n_res_neck))
        )
        self.ups = nn.ModuleList(_CNOBlock(w[i + 1], w[i], dims, act, rs, "up") for i in levels)
        self.merges = nn.ModuleList(
            _CNOBlock(2 * w[i], w[i], dims, act, rs, "same") for i in levels
        )
        self.project = conv_cls(dims)(w[0], c_out, 1)
        kaiming_init_(self, gain=math.sqrt(2.0 / (1 + 0.01**2)) if act == "lrelu" else GELU_GAIN)
        init_conv_(self.project)  # linear output layer: gain 1

    def forward(self, x: Tensor) -> Tensor:
        x = self.lift(x)
        skips = []
        for skip, down in zip(self.skips, self.downs, strict=True):
            skips.append(skip(x))
            x = down(x)
        x = self.neck(x)
        for i in reversed(range(len(self.ups))):
            x = self.ups[i](x)
            x = self.merges[i](torch.cat([x, skips[i]], dim=1))  # (B, 2·w_i, *S_i)
        return self.project(x)


class _ResidualOperator(nn.Module):
    """One-step operator ``z -> z + U(z)``, applied ``n`` times."""

    def __init__(self, unet: CNOUNet, channels: int, dims: int) -> None:
        super().__init__()
        self.unet = unet
        self.channels = channels
        self.dims = dims

    def forward(self, z: Tensor, n: int = 1) -> Tensor:
        check_field(z, self.channels, self.dims, "cno.step")
        for _ in range(n):
            z = z + self.unet(z)
        return z


class CNO(LearnedStepModel):
    """Anti-aliased Convolutional Neural Operator, 2D or 3D (see the module docstring for its
    place in the model contract: the latent is the normalised field on the working grid).
    """

    name = "cno"

    def __init__(self, config: CNOConfig) -> None:
        super().__init__(config)
        n_in, n_out, dims = (
            len(config.in_channels),
            len(config.out_channels),
            len(config.grid_shape),
        )
        self.encoder = nn.Identity()
        if config.scenario in MARCHING_SCENARIOS:
            self.decoder = nn.Identity()
            self.stepper = _ResidualOperator(CNOUNet(n_in, n_in, config), n_in, dims)
        else:
            self.decoder = CNOUNet(n_in, n_out, config)
            self.stepper = None

    @property
    def operator(self) -> CNOUNet:
        """The U-Net, wherever the scenario uses it."""
        return self.stepper.unet if self.stepper is not None else self.decoder

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent, without the batch axis: ``(C_in, *grid_shape)``."""
        return (len(self.config.in_channels), *self.config.grid_shape)

    def decode(self, z: Tensor, output_shape: tuple[int, ...] | None = None) -> Tensor:
        check_field(z, len(self.config.in_channels), self.spatial_dims, "cno.decode")
        return super().decode(z, output_shape)


#: benchmark → scenarios with presets (registered in :mod:`diano.models.presets`)
PRESET_SCENARIOS: dict[str, tuple[str, ...]] = {
    "cylinder2d": ("temporal", "static"),
    "stenosis2d": ("geometric", "static"),
    "coronary3d": ("many_to_one",),
}


def preset_config(benchmark: str, scenario: str, size: str = "default") -> CNOConfig:
    """The CNO preset for a benchmark and scenario (``size`` "default" or "tiny").

    2D: width 16, three levels (128² → 16², 64×256 → 8×32). 3D: width 4 on 64³, since every
    activation runs on a grid twice as fine (128³ × 4 channels is already 32 MiB a tensor).
    """
    from diano.models.presets import benchmark_facts  # presets.py imports this module

    facts = benchmark_facts(benchmark, size)
    tiny = size == "tiny"
    three_d = len(facts["grid_shape"]) == 3
    return CNOConfig(
        scenario=scenario,
        in_channels=facts["in_channels"],
        out_channels=facts["out_channels"],
        grid_shape=facts["grid_shape"],
        hidden_channels=2 if tiny else (4 if three_d else 16),
        n_levels=2 if tiny else 3,
        n_res=1,
        n_res_neck=1 if tiny else 2,
    )
