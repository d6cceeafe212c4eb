"""A learned local source term for a latent advection–diffusion: ``∂z/∂t = L z + f_θ(z, x)``.

Exact transport of the true vorticity at one speed keeps only part of a vortex street's
resemblance after one shedding period (``docs/results.md``, "What transport allows"): the
vortices change shape, spacing and strength as they travel, and no advection carries that.
This module is the smallest addition that can: a rate ``f_θ`` computed from the field in a
5×5 latent neighbourhood and from the cell's position (the wake ages with the distance from
the cylinder), by two 3×3 convolutions.

- It is local: one step moves information at most two cells, as a stencil does, so a latent
  edit stays an edit.
- It starts as nothing: the last convolution is initialised to zero, so an untrained
  correction is the plain PDE, and a checkpoint with and without it can be compared.
- Its padding follows the solver's boundaries: periodic axes wrap, open ones repeat the edge.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from diano.errors import ConfigError


class LocalCorrection2d(nn.Module):
    """``f_θ(z, x, y)``: a learned rate for a ``(B, 1, My, Mx)`` field.

    Args:
        shape: latent grid ``(My, Mx)``.
        width: hidden channels (``37 * width + 1`` parameters).
        periodic: per axis ``(x, y)``, whether the padding wraps (else it repeats the edge).
        dtype, device: of the parameters and the coordinate channels.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        width: int,
        periodic: tuple[bool, bool] = (False, True),
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if int(width) != width or width < 1:
            raise ConfigError(f"a local correction needs a width >= 1, got {width!r}")
        my, mx = (int(m) for m in shape)
        self.periodic = (bool(periodic[0]), bool(periodic[1]))
        factory = {"dtype": dtype, "device": device}
        # cell centres on [-1, 1] along each axis: where in the box the rate is computed
        ys = (torch.arange(my, **factory) + 0.5) / my * 2 - 1
        xs = (torch.arange(mx, **factory) + 0.5) / mx * 2 - 1
        coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1])  # (2, My, Mx): x, y
        self.register_buffer("coords", coords[None], persistent=False)
        self.hidden = nn.Conv2d(3, int(width), 3, **factory)
        self.out = nn.Conv2d(int(width), 1, 3, **factory)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def _pad(self, z: Tensor) -> Tensor:
        px, py = self.periodic
        z = F.pad(z, (1, 1, 0, 0), mode="circular" if px else "replicate")
        return F.pad(z, (0, 0, 1, 1), mode="circular" if py else "replicate")

    def forward(self, field: Tensor) -> Tensor:
        """The rate ``f_θ`` for ``field (B, 1, My, Mx)``, same shape."""
        if field.dim() != 4 or field.shape[1] != 1 or field.shape[2:] != self.coords.shape[2:]:
            raise ConfigError(
                f"a local correction takes a (B, 1, {self.coords.shape[2]}, "
                f"{self.coords.shape[3]}) field, got {tuple(field.shape)}"
            )
        coords = self.coords.to(field.dtype).expand(field.shape[0], -1, -1, -1)
        h = F.gelu(self.hidden(self._pad(torch.cat([field, coords], dim=1))))
        return self.out(self._pad(h))
