"""CNN autoencoder baseline: strided convolutions to a one-channel latent grid and back.

The latent has the same size as DIANO's (``1×M×M`` in 2D, ``1×M³`` in 3D), so the two are
compared at equal compression. It follows the authors' ResNet CNN-AE (method.md §5) in
spirit: SiLU activations, residual blocks, Kaiming initialisation, but with a linear
(not SiLU) latent and one module for 2D and 3D. On 2 CPU cores a model of this kind
reconstructed the cylinder wake better than the FNO autoencoder at equal time (method.md §11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from diano.errors import ConfigError
from diano.layers.init import init_conv_
from diano.models.base import MARCHING_SCENARIOS
from diano.models.stepper import (
    BASELINE_SCENARIOS,
    LatentStepper,
    LearnedStepModel,
    conv_cls,
    diano_latent_size,
    kaiming_init_,
    validate_baseline_config,
)


@dataclass(frozen=True)
class CNNAEConfig:
    """Configuration of :class:`CNNAutoencoder`.

    Attributes:
        scenario: "static", "temporal", "geometric" or "many_to_one".
        in_channels: names of the input channels, e.g. ``("vorticity",)``.
        out_channels: names of the output channels (equal to ``in_channels`` except in
            the many-to-one scenario, e.g. ``("u", "v", "w") -> ("p",)``).
        grid_shape: working grid ``(H, W)`` or ``(D, H, W)``; inputs of another size are
            resampled to it.
        latent_shape: latent grid; ``grid_shape / latent_shape`` must be the same power of
            two ``2^k`` (``k >= 1``) along every axis; ``k`` strided convolutions reach it.
        hidden_channels: width at full resolution, doubled at every down-sampling...
        max_channels: ...up to this width.
        n_res_blocks: residual blocks per level below full resolution.
        stepper_hidden: hidden width of the learned latent stepper (marching scenarios).
    """

    scenario: str = "static"
    in_channels: tuple[str, ...] = ("vorticity",)
    out_channels: tuple[str, ...] = ("vorticity",)
    grid_shape: tuple[int, ...] = (128, 128)
    latent_shape: tuple[int, ...] = (16, 16)
    hidden_channels: int = 24
    max_channels: int = 96
    n_res_blocks: int = 1
    stepper_hidden: int = 32

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "grid_shape", "latent_shape"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        validate_baseline_config(
            self, "cnn_ae", (*BASELINE_SCENARIOS, "many_to_one"), spatial_dims=(2, 3)
        )
        if len(self.latent_shape) != len(self.grid_shape):
            raise ConfigError(
                f"cnn_ae latent_shape {self.latent_shape} and grid_shape {self.grid_shape} "
                f"must have the same number of axes"
            )
        if min(self.hidden_channels, self.max_channels, self.stepper_hidden) < 1:
            raise ConfigError("cnn_ae hidden_channels, max_channels, stepper_hidden must be >= 1")
        if self.n_res_blocks < 0:
            raise ConfigError(f"cnn_ae n_res_blocks must be >= 0, got {self.n_res_blocks}")
        self.n_down  # noqa: B018 -- validates the ratio grid_shape / latent_shape

    @property
    def n_down(self) -> int:
        """Number of stride-2 stages from ``grid_shape`` to ``latent_shape``."""
        pairs = zip(self.grid_shape, self.latent_shape, strict=True)
        ratios = {n / m if m > 0 else 0.0 for n, m in pairs}
        ratio = ratios.pop() if len(ratios) == 1 else 0.0
        k = round(math.log2(ratio)) if ratio >= 1 else -1
        if k < 1 or 2**k != ratio:
            raise ConfigError(
                f"cnn_ae grid_shape {self.grid_shape} must be latent_shape {self.latent_shape} "
                f"times the same power of two (2, 4, 8, ...) along every axis"
            )
        return k


class _ResBlock(nn.Module):
    """``x + conv(SiLU(conv(x)))`` with 3×3(×3) convolutions."""

    def __init__(self, channels: int, spatial_dims: int) -> None:
        super().__init__()
        conv = conv_cls(spatial_dims)
        self.body = nn.Sequential(
            conv(channels, channels, 3, padding=1),
            nn.SiLU(),
            conv(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class CNNAutoencoder(LearnedStepModel):
    """Convolutional autoencoder ``(B, C_in, *N) -> (B, 1, *M) -> (B, C_out, *N)``, 2D or 3D.

    Encoder: 3×3 conv lift, then per level a 3×3 stride-2 conv (halving every axis) and
    residual blocks, then a linear 3×3 conv to one latent channel. Decoder: the mirror,
    with 4×4 stride-2 transposed convolutions. The latent grid has no physical meaning
    imposed on it (unlike DIANO's); in the marching scenarios a learned
    :class:`~diano.models.stepper.LatentStepper` advances it. In the many-to-one scenario
    the encoder takes all input fields (e.g. u, v, w) and the decoder returns the output
    field (p), so ``map(x) == decode(encode(x))``.
    """

    name = "cnn_ae"

    def __init__(self, config: CNNAEConfig) -> None:
        super().__init__(config)
        dims = len(config.grid_shape)
        conv = conv_cls(dims)
        conv_t = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
        n_down = config.n_down
        widths = [
            min(config.hidden_channels * 2**i, config.max_channels) for i in range(n_down + 1)
        ]

        def res(c: int) -> list[nn.Module]:
            return [_ResBlock(c, dims) for _ in range(config.n_res_blocks)]

        enc: list[nn.Module] = [conv(len(config.in_channels), widths[0], 3, padding=1), nn.SiLU()]
        for i in range(n_down):
            # 3×3, stride 2, padding 1 maps N to N/2 for even N
            enc += [
                conv(widths[i], widths[i + 1], 3, stride=2, padding=1),
                nn.SiLU(),
                *res(widths[i + 1]),
            ]
        enc.append(conv(widths[-1], 1, 3, padding=1))
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [conv(1, widths[-1], 3, padding=1), nn.SiLU(), *res(widths[-1])]
        for i in reversed(range(n_down)):
            # 4×4, stride 2, padding 1 maps N to 2N
            dec += [conv_t(widths[i + 1], widths[i], 4, stride=2, padding=1), nn.SiLU()]
            if i > 0:
                dec += res(widths[i])
        dec.append(conv(widths[0], len(config.out_channels), 3, padding=1))
        self.decoder = nn.Sequential(*dec)

        self.stepper = (
            LatentStepper("grid", 1, config.stepper_hidden, spatial_dims=dims)
            if config.scenario in MARCHING_SCENARIOS
            else None
        )
        kaiming_init_(self.encoder)
        kaiming_init_(self.decoder)
        # keep the signal scale of order one at initialisation: the latent and output convs
        # are linear (gain 1), and residual branches start small (each block then adds a few
        # per cent to the variance instead of doubling it)
        init_conv_(self.encoder[-1])
        init_conv_(self.decoder[-1])
        for block in self.modules():
            if isinstance(block, _ResBlock):
                init_conv_(block.body[-1], gain=0.2)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent, without the batch axis: ``(1, *M)``."""
        return (1, *self.config.latent_shape)


#: benchmark → scenarios with presets (registered in :mod:`diano.models.presets`)
PRESET_SCENARIOS: dict[str, tuple[str, ...]] = {
    "cylinder2d": ("temporal", "static"),
    "stenosis2d": ("geometric", "static"),
    "coronary3d": ("many_to_one",),
}


def _latent_grid(grid: tuple[int, ...], n_values: int) -> tuple[int, ...]:
    """The grid ``grid / 2^k`` (``k >= 1``) whose number of points is closest to ``n_values``
    (on a log scale, ties to the larger grid)."""
    candidates = []
    k = 1
    while all(n % 2**k == 0 for n in grid):
        shape = tuple(n // 2**k for n in grid)
        candidates.append((abs(math.log(math.prod(shape) / n_values)), k, shape))
        k += 1
    if not candidates:
        raise ConfigError(f"cnn_ae: grid {grid} cannot be halved along every axis")
    return min(candidates)[2]


def preset_config(benchmark: str, scenario: str, size: str = "default") -> CNNAEConfig:
    """The CNN-AE preset: a one-channel latent grid with as many values as DIANO's latent
    (e.g. 16×16 for the cylinder; 4×16 = 64 for DIANO's 64-point stenosis line)."""
    from diano.models.presets import benchmark_facts  # presets.py imports this module

    facts = benchmark_facts(benchmark, size)
    grid = tuple(facts["grid_shape"])
    tiny = size == "tiny"
    three_d = len(grid) == 3
    return CNNAEConfig(
        scenario=scenario,
        in_channels=facts["in_channels"],
        out_channels=facts["out_channels"],
        grid_shape=grid,
        latent_shape=_latent_grid(grid, diano_latent_size(benchmark, scenario, size)),
        hidden_channels=4 if tiny else (8 if three_d else 24),
        max_channels=8 if tiny else (32 if three_d else 96),
        n_res_blocks=1,
        stepper_hidden=4 if tiny else 32,
    )
