"""Learned time stepping for the baselines, and the contract wiring they share.

DIANO advances its latent with a PDE solver. The baselines have no PDE in their latent, so
that the app can roll every model out in time they step with a learned map instead:

- the autoencoders (CNN-AE, MLP-AE) use :class:`LatentStepper`, a small residual network
  ``z -> z + f(z)`` parametrised by the latent layout: an MLP for a latent vector
  ``(B, L)`` and a convolutional net for a latent grid ``(B, C, *S)`` in 2D or 3D;
- the CNO is itself a one-step operator ``u^n -> u^{n+1}`` (see ``diano.models.cno``).

:class:`LearnedStepModel` holds what the three baselines share: the normaliser and resizing
around the encoder and decoder, stepping with a learned module, the many-to-one map, and
the checks that give clear errors for wrong shapes, scenarios or PDE overrides.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.layers.init import init_conv_, kaiming_
from diano.layers.sampling import resample
from diano.models.base import MARCHING_SCENARIOS, LatentModel

LatentLayout = Literal["vector", "grid"]

#: scenarios every baseline supports; "many_to_one" is added per model
BASELINE_SCENARIOS = ("static", "temporal", "geometric")


def conv_cls(spatial_dims: int) -> type[nn.Module]:
    """``nn.Conv2d`` or ``nn.Conv3d``."""
    return {2: nn.Conv2d, 3: nn.Conv3d}[spatial_dims]


#: gain that keeps the second moment of N(0, 1) through a SiLU (E[silu(x)^2] ≈ 0.356)
SILU_GAIN = math.sqrt(1.0 / 0.356)


@torch.no_grad()
def kaiming_init_(module: nn.Module, gain: float = SILU_GAIN) -> None:
    """Kaiming-style weights (std ``gain / sqrt(fan_in)``) and zero biases for every linear,
    conv and transposed conv in ``module`` (see :mod:`diano.layers.init`)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            kaiming_(m.weight, m.in_features, gain)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.modules.conv._ConvNd):
            init_conv_(m, gain)


def check_field(u: Tensor, n_channels: int, spatial_dims: int, what: str) -> None:
    """Raise :class:`ConfigError` unless ``u`` is ``(B, n_channels, *S)``, ``spatial_dims`` axes."""
    if u.dim() != 2 + spatial_dims or u.shape[1] != n_channels:
        axes = ", ".join(f"S{i}" for i in range(spatial_dims))
        raise ConfigError(
            f"{what} expects a tensor of shape (B, {n_channels}, {axes}), got {tuple(u.shape)}"
        )


class LatentStepper(nn.Module):
    """Learned residual step ``z -> z + f(z)`` on a latent vector or a latent grid.

    Args:
        layout: ``"vector"`` for ``z`` of shape ``(B, size)`` (``f`` is an MLP) or ``"grid"``
            for ``z`` of shape ``(B, size, *S)`` (``f`` is a 3×3(×3) conv net, zero padding).
        size: latent features (vector) or latent channels (grid).
        hidden: hidden width of ``f``.
        spatial_dims: 2 or 3, for the grid layout.
        n_layers: number of hidden layers of ``f`` (each followed by SiLU).

    The last layer is initialised at a tenth of the Kaiming scale, so the untrained step is a
    small perturbation of the identity that still passes gradients to every layer.
    """

    def __init__(
        self,
        layout: LatentLayout,
        size: int,
        hidden: int,
        spatial_dims: int = 2,
        n_layers: int = 2,
    ) -> None:
        super().__init__()
        if layout not in ("vector", "grid"):
            raise ConfigError(f"latent layout must be 'vector' or 'grid', got {layout!r}")
        if n_layers < 1 or size < 1 or hidden < 1:
            raise ConfigError(
                f"LatentStepper needs size, hidden and n_layers >= 1, "
                f"got {size}, {hidden}, {n_layers}"
            )
        self.layout = layout
        self.size = size
        self.spatial_dims = spatial_dims
        widths = [size] + [hidden] * n_layers + [size]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            if layout == "vector":
                layers.append(nn.Linear(a, b))
            else:
                layers.append(conv_cls(spatial_dims)(a, b, kernel_size=3, padding=1))
            if i < n_layers:
                layers.append(nn.SiLU())
        self.net = nn.Sequential(*layers)
        kaiming_init_(self.net)
        fan_in = self.net[-1].weight[0].numel()  # hidden (·3^d for a conv)
        kaiming_(self.net[-1].weight, fan_in, gain=0.1)

    def forward(self, z: Tensor, n: int = 1) -> Tensor:
        """Apply the step ``n`` times."""
        if self.layout == "vector":
            if z.dim() != 2 or z.shape[1] != self.size:
                raise ConfigError(
                    f"latent stepper expects a latent vector (B, {self.size}), got {tuple(z.shape)}"
                )
        else:
            check_field(z, self.size, self.spatial_dims, "latent stepper")
        for _ in range(n):
            z = z + self.net(z)
        return z


class LearnedStepModel(LatentModel):
    """Contract wiring shared by the baselines (CNO, CNN-AE, MLP-AE).

    ``encode``: normalise, resample to the working grid ``config.grid_shape``, run
    ``self.encoder``. ``decode``: run ``self.decoder``, resample to ``output_shape`` (default
    the working grid), denormalise. ``step``: ``self.stepper`` (temporal and geometric
    scenarios; the geometric scenario marches the model's own latent, since the baselines
    have no 1D line). ``map``: ``decode(encode(inputs))`` (many-to-one).

    Subclasses set ``encoder``, ``decoder`` and, in marching scenarios, ``stepper`` (any
    module called as ``stepper(z, n)``), and may override :meth:`resize`.
    """

    encoder: nn.Module
    decoder: nn.Module
    stepper: nn.Module | None

    @property
    def spatial_dims(self) -> int:
        return len(self.config.grid_shape)

    def resize(self, x: Tensor, shape: tuple[int, ...]) -> Tensor:
        """Resample a field between the data grid and the working grid (box averages down,
        linear interpolation up; cell-centred, see :func:`diano.layers.resample`)."""
        return resample(x, shape)

    def encode(self, u: Tensor) -> Tensor:
        check_field(u, len(self.config.in_channels), self.spatial_dims, f"{self.name}.encode")
        x = self.resize(self.in_norm.normalize(u), tuple(self.config.grid_shape))
        return self.encoder(x)

    def decode(self, z: Tensor, output_shape: tuple[int, ...] | None = None) -> Tensor:
        shape = tuple(self.config.grid_shape) if output_shape is None else tuple(output_shape)
        if len(shape) != self.spatial_dims:
            raise ConfigError(
                f"{self.name}.decode: output_shape {shape} must have {self.spatial_dims} sizes"
            )
        return self.out_norm.denormalize(self.resize(self.decoder(z), shape))

    def step(self, z: Tensor, n: int = 1, **pde_overrides: Any) -> Tensor:
        if self.scenario not in MARCHING_SCENARIOS or self.stepper is None:
            return super().step(z, n)
        if pde_overrides:
            raise ConfigError(
                f"model {self.name!r} steps with a learned map, not a PDE solver; the PDE "
                f"settings {sorted(pde_overrides)} apply to 'diano' only"
            )
        if int(n) != n or n < 0:
            raise ConfigError(f"step count n must be an integer >= 0, got {n}")
        return self.stepper(z, int(n))

    def map(self, inputs: Tensor) -> Tensor:
        if self.scenario != "many_to_one":
            return super().map(inputs)
        return self.decode(self.encode(inputs), output_shape=tuple(inputs.shape[2:]))


def validate_baseline_config(
    config: Any, model: str, scenarios: tuple[str, ...], spatial_dims: tuple[int, ...]
) -> None:
    """Checks shared by the baseline configs; raise :class:`ConfigError` naming the field."""
    if config.scenario not in scenarios:
        raise ConfigError(
            f"{model} does not support scenario {config.scenario!r}; valid: {list(scenarios)}"
        )
    if len(config.grid_shape) not in spatial_dims:
        raise ConfigError(
            f"{model} grid_shape {tuple(config.grid_shape)} must have "
            f"{' or '.join(map(str, spatial_dims))} sizes"
        )
    if any(int(s) < 1 for s in config.grid_shape):
        raise ConfigError(f"{model} grid_shape {tuple(config.grid_shape)} must be positive")
    if not config.in_channels or not config.out_channels:
        raise ConfigError(f"{model} needs at least one input and one output channel name")
    if config.scenario != "many_to_one" and tuple(config.in_channels) != tuple(config.out_channels):
        raise ConfigError(
            f"{model} in scenario {config.scenario!r} reconstructs or marches one field, so "
            f"in_channels {tuple(config.in_channels)} must equal out_channels "
            f"{tuple(config.out_channels)}"
        )


def diano_latent_size(benchmark: str, scenario: str, size: str) -> int:
    """Number of values in DIANO's latent for this benchmark, scenario and preset size:
    the baselines' presets match it, so models are compared at equal compression."""
    # presets.py imports the baseline modules for their builders, hence the late import
    from diano.models.presets import default_config

    config = default_config("diano", benchmark, scenario, size)
    return config.latent_channels * math.prod(config.latent_shape)
