"""The model contract shared by DIANO and the baselines, and the per-channel normaliser.

Every model takes and returns fields in physical units; the normalisation lives inside the
model (buffers saved with the weights). Contract::

    encode(u) -> z                              # z of shape (B, *latent_shape)
    decode(z, output_shape=None) -> u
    step(z, n=1, **pde_overrides) -> z          # scenarios "temporal" and "geometric"
    rollout(u0, n_steps, reencode=False) -> (B, T+1, C, ...)
    map(inputs) -> output                        # scenario "many_to_one"
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from diano.errors import ConfigError

MARCHING_SCENARIOS = ("temporal", "geometric")


class Normalizer(nn.Module):
    """Per-channel affine map ``(u - mean) / std`` over dim 1 of ``(B, C, ...)`` tensors.

    The statistics are buffers, so they travel with ``state_dict`` into the checkpoint.
    They are computed over fluid cells only (``diano.data``) and set with :meth:`set`.
    """

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_channels))
        self.register_buffer("std", torch.ones(n_channels))

    @torch.no_grad()
    def set(self, mean: Any, std: Any) -> None:
        mean = torch.as_tensor(mean, dtype=self.mean.dtype).reshape(-1)
        std = torch.as_tensor(std, dtype=self.std.dtype).reshape(-1)
        if mean.numel() != self.mean.numel() or std.numel() != self.std.numel():
            raise ConfigError(
                f"normaliser expects {self.mean.numel()} channel statistics, "
                f"got mean of {mean.numel()} and std of {std.numel()}"
            )
        if not torch.all(std > 0):
            raise ConfigError(f"normaliser std must be positive, got {std.tolist()}")
        self.mean.copy_(mean)
        self.std.copy_(std)

    def _view(self, t: Tensor, like: Tensor) -> Tensor:
        return t.to(like.dtype).view(1, -1, *([1] * (like.dim() - 2)))

    def normalize(self, u: Tensor) -> Tensor:
        return (u - self._view(self.mean, u)) / self._view(self.std, u)

    def denormalize(self, u: Tensor) -> Tensor:
        return u * self._view(self.std, u) + self._view(self.mean, u)

    def as_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


class LatentModel(nn.Module):
    """Base class of every registered model; subclasses implement ``encode`` and ``decode``
    and, depending on the scenario, ``step`` or ``map``.

    Args:
        config: the model's frozen dataclass config. It must have the fields
            ``scenario``, ``in_channels`` and ``out_channels`` (tuples of channel names).
    """

    #: registry name ("diano", "cno", "cnn_ae", "mlp_ae"), set by each subclass
    name: str = ""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.in_norm = Normalizer(len(config.in_channels))
        self.out_norm = Normalizer(len(config.out_channels))

    @property
    def scenario(self) -> str:
        return self.config.scenario

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent as ``encode`` returns it, without the batch axis, e.g.
        ``(C, M_y, M_x)`` for a latent grid or ``(L,)`` for a latent vector."""
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def set_normalizer(self, in_stats: dict, out_stats: dict | None = None) -> None:
        """Set input (and output) statistics, each ``{"mean": [...], "std": [...]}``."""
        self.in_norm.set(in_stats["mean"], in_stats["std"])
        out_stats = in_stats if out_stats is None else out_stats
        self.out_norm.set(out_stats["mean"], out_stats["std"])

    # -- contract ---------------------------------------------------------------------
    def encode(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def decode(self, z: Tensor, output_shape: tuple[int, ...] | None = None) -> Tensor:
        raise NotImplementedError

    def step(self, z: Tensor, n: int = 1, **pde_overrides: Any) -> Tensor:
        raise ConfigError(
            f"model {self.name!r} in scenario {self.scenario!r} does not step in time; "
            f"stepping needs one of the scenarios {MARCHING_SCENARIOS}"
        )

    def map(self, inputs: Tensor) -> Tensor:
        raise ConfigError(
            f"model {self.name!r} in scenario {self.scenario!r} has no many-to-one map"
        )

    def rollout(self, u0: Tensor, n_steps: int, reencode: bool = False) -> Tensor:
        """March ``n_steps`` from ``u0`` and decode every state: ``(B, n_steps + 1, C, ...)``.

        The latent is encoded once and advanced by :meth:`step` alone; with ``reencode=True``
        each decoded state is encoded again before the next step (for comparison).
        """
        if n_steps < 0:
            raise ConfigError(f"n_steps must be >= 0, got {n_steps}")
        shape = tuple(u0.shape[2:])
        z = self.encode(u0)
        frames = [self.decode(z, output_shape=shape)]
        for _ in range(n_steps):
            z = self.step(z)
            u = self.decode(z, output_shape=shape)
            frames.append(u)
            if reencode:
                z = self.encode(u)
        return torch.stack(frames, dim=1)

    def forward(self, u: Tensor) -> Tensor:
        """Scenario-dependent prediction: reconstruction (static), one step ahead
        (temporal, geometric) or the many-to-one map."""
        if self.scenario == "many_to_one":
            return self.map(u)
        z = self.encode(u)
        if self.scenario in MARCHING_SCENARIOS:
            z = self.step(z)
        return self.decode(z, output_shape=tuple(u.shape[2:]))
