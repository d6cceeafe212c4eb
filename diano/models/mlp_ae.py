"""MLP autoencoder baseline: fully connected layers to a latent vector of DIANO's size.

The authors' "NN-AE" (method.md §5) flattened a 256×256 field into a 65536→2048→…→32 ReLU
MLP with 274M parameters. Here the latent vector has as many values as DIANO's latent grid
(``latent_size = M·M``, e.g. 256 for 16×16), and the field is first reduced by a fixed
average pooling to ``pooled_shape`` (e.g. 128×128 → 32×32), so the dense layers stay at a
few MiB. The decoder mirrors it and returns to the working grid by a fixed bilinear
up-sampling, so detail finer than the pooled grid is not representable: that is part of
what this baseline measures (a dense map that ignores the geometry).

There is no 3D variant. A 64³ field has 262144 values per channel, so the first dense
layer alone would hold 262144 × width weights (268M at width 1024, about 1 GiB in float32):
beyond the 60 MiB checkpoint budget and the CPU's memory and time, and a dense map would
still ignore the geometry. Pooling a 3D field far enough to fit (to 16³) would leave
too little of the vessel to compare with. The many-to-one scenario is 3D, so it is not
offered either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.layers.init import kaiming_
from diano.models.base import MARCHING_SCENARIOS
from diano.models.stepper import (
    BASELINE_SCENARIOS,
    LatentStepper,
    LearnedStepModel,
    diano_latent_size,
    kaiming_init_,
    validate_baseline_config,
)


@dataclass(frozen=True)
class MLPAEConfig:
    """Configuration of :class:`MLPAutoencoder` (2D only).

    Attributes:
        scenario: "static", "temporal" or "geometric".
        in_channels: names of the input channels, e.g. ``("vorticity",)``.
        out_channels: names of the output channels (equal to ``in_channels``).
        grid_shape: working grid ``(H, W)``; inputs of another size are resampled to it.
        latent_size: number of latent values, DIANO's ``M·M`` (256 for a 16×16 latent).
        pooled_shape: grid after the fixed average pooling; must divide ``grid_shape``.
        hidden_features: widths of the hidden dense layers of the encoder (the decoder
            uses them in reverse order).
        stepper_hidden: hidden width of the learned latent stepper (marching scenarios).
    """

    scenario: str = "static"
    in_channels: tuple[str, ...] = ("vorticity",)
    out_channels: tuple[str, ...] = ("vorticity",)
    grid_shape: tuple[int, ...] = (128, 128)
    latent_size: int = 256
    pooled_shape: tuple[int, ...] = (32, 32)
    hidden_features: tuple[int, ...] = (512,)
    stepper_hidden: int = 256

    def __post_init__(self) -> None:
        for name in (
            "in_channels",
            "out_channels",
            "grid_shape",
            "pooled_shape",
            "hidden_features",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        validate_baseline_config(self, "mlp_ae", BASELINE_SCENARIOS, spatial_dims=(2,))
        if len(self.pooled_shape) != 2 or any(
            p < 1 or n % p for n, p in zip(self.grid_shape, self.pooled_shape, strict=True)
        ):
            raise ConfigError(
                f"mlp_ae pooled_shape {self.pooled_shape} must be two sizes that divide "
                f"grid_shape {self.grid_shape}"
            )
        if (
            self.latent_size < 1
            or self.stepper_hidden < 1
            or any(h < 1 for h in self.hidden_features)
        ):
            raise ConfigError(
                f"mlp_ae latent_size ({self.latent_size}), hidden_features "
                f"{self.hidden_features} and stepper_hidden ({self.stepper_hidden}) must be >= 1"
            )


def _mlp(widths: list[int]) -> nn.Sequential:
    """Dense layers with SiLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class _PoolFlatten(nn.Module):
    """Fixed average pooling ``(B, C, H, W) -> (B, C, Hp, Wp)``, flattened to ``(B, C·Hp·Wp)``."""

    def __init__(self, pooled_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.pooled_shape = pooled_shape

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.pooled_shape).flatten(1)


class _UnflattenUpsample(nn.Module):
    """``(B, C·Hp·Wp) -> (B, C, Hp, Wp)``, then fixed bilinear up-sampling to ``grid_shape``."""

    def __init__(
        self, channels: int, pooled_shape: tuple[int, ...], grid_shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        self.channels = channels
        self.pooled_shape = pooled_shape
        self.grid_shape = grid_shape

    def forward(self, x: Tensor) -> Tensor:
        x = x.view(x.shape[0], self.channels, *self.pooled_shape)  # (B, C, Hp, Wp)
        return F.interpolate(x, size=self.grid_shape, mode="bilinear", align_corners=False)


class MLPAutoencoder(LearnedStepModel):
    """Dense autoencoder ``(B, C, H, W) -> (B, latent_size) -> (B, C, H, W)`` (2D only).

    Encoder: fixed average pooling to ``pooled_shape``, flatten, dense SiLU layers, a linear
    layer to the latent vector. Decoder: the mirror, then fixed bilinear up-sampling. The
    latent is a vector with no geometry (shape ``(B, latent_size)``); in the marching
    scenarios a learned residual MLP (:class:`~diano.models.stepper.LatentStepper`)
    advances it.
    """

    name = "mlp_ae"

    def __init__(self, config: MLPAEConfig) -> None:
        super().__init__(config)
        n_in = len(config.in_channels) * math.prod(config.pooled_shape)
        n_out = len(config.out_channels) * math.prod(config.pooled_shape)
        hidden = list(config.hidden_features)
        self.encoder = nn.Sequential(
            _PoolFlatten(config.pooled_shape), _mlp([n_in, *hidden, config.latent_size])
        )
        self.decoder = nn.Sequential(
            _mlp([config.latent_size, *reversed(hidden), n_out]),
            _UnflattenUpsample(len(config.out_channels), config.pooled_shape, config.grid_shape),
        )
        self.stepper = (
            LatentStepper("vector", config.latent_size, config.stepper_hidden)
            if config.scenario in MARCHING_SCENARIOS
            else None
        )
        kaiming_init_(self.encoder)
        kaiming_init_(self.decoder)
        for mlp in (self.encoder[1], self.decoder[0]):  # the last dense layers are linear
            kaiming_(mlp[-1].weight, mlp[-1].in_features)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent, without the batch axis: ``(latent_size,)``."""
        return (self.config.latent_size,)

    def decode(self, z: Tensor, output_shape: tuple[int, ...] | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.config.latent_size:
            raise ConfigError(
                f"mlp_ae.decode expects a latent vector (B, {self.config.latent_size}), "
                f"got {tuple(z.shape)}"
            )
        return super().decode(z, output_shape)


#: benchmark → scenarios with presets (registered in :mod:`diano.models.presets`); 2D only
PRESET_SCENARIOS: dict[str, tuple[str, ...]] = {
    "cylinder2d": ("temporal", "static"),
    "stenosis2d": ("geometric", "static"),
}


def preset_config(benchmark: str, scenario: str, size: str = "default") -> MLPAEConfig:
    """The MLP-AE preset: a latent vector as long as DIANO's latent (256 for the cylinder's
    16×16), pooling by 4 (by 2 for "tiny") and one hidden layer of 512, or as wide as the
    latent when that is larger (32 for "tiny"). For the static scenarios DIANO's latent
    (32² = 1024) is as large as the pooled field, so there the fixed pooling does all the
    compressing."""
    from diano.models.presets import benchmark_facts  # presets.py imports this module

    facts = benchmark_facts(benchmark, size)
    if len(facts["grid_shape"]) != 2:
        raise ConfigError(f"mlp_ae is 2D only; benchmark {benchmark!r} is 3D (see module doc)")
    tiny = size == "tiny"
    pool = 2 if tiny else 4
    latent = diano_latent_size(benchmark, scenario, size)
    return MLPAEConfig(
        scenario=scenario,
        in_channels=facts["in_channels"],
        out_channels=facts["out_channels"],
        grid_shape=facts["grid_shape"],
        latent_size=latent,
        pooled_shape=tuple(n // pool for n in facts["grid_shape"]),
        hidden_features=(32,) if tiny else (max(512, latent),),
        stepper_hidden=32 if tiny else max(256, latent),
    )
