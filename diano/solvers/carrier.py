"""A two-channel latent: an open field fed by a periodic carrier in a band of source columns.

A periodic latent can march a vortex street for ever because the vortices that leave the box
on the right come back on the left, so the encoder stores the coming vortices upstream of
the cylinder, where the flow has none, and the latent stops reading as the flow there. An
open latent (inflow held at 0) reads as the flow everywhere, but nothing sheds into it, and
its wake dies after one pass. This solver keeps both. The latent has two channels:

- channel 1, the *carrier*, is advected and diffused on a periodic box; it is free to hold
  the shedding phase anywhere;
- channel 0, the *field*, is what is decoded and read. In the *source columns*
  ``[x_start, x_stop)`` (the cylinder and its near wake) it is the carrier. Downstream of
  them it is advected and diffused with the same coefficients on an open sub-box whose
  inflow column is the last source column (held at the carrier's value during the step,
  one-sided differences at the outflow), so the carrier sheds into it. Upstream of them is
  the inflow region, where nothing in the field comes from: it holds 0 after every step.

With ``correction`` > 0 the field downstream of the source also gets a learned local rate,
``∂z/∂t = L z + f_θ(z, x)`` (:class:`~diano.solvers.correction.LocalCorrection2d`), applied
after each step of the advection–diffusion (Lie splitting, forward Euler for the rate); the
carrier and the source columns stay the exact transport, so the shedding phase is kept.

The split into sub-boxes (rather than a copy into a box-wide open solver) keeps the field's
x-stencils from reaching across the source's upstream edge: a centred stencil there would
send grid-scale waves upstream from the jump between the empty inflow region and the
carrier, and they pile up (measured: 2.3 after one pass with ``central2``, 0.25 with
``oucs2``, for a unit wave).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.solvers.advection_diffusion import AdvectionDiffusion2d, BoundaryName
from diano.solvers.correction import LocalCorrection2d
from diano.solvers.method_of_lines import Substeps
from diano.solvers.stability import StabilityReport

#: the latent channels of a carrier latent
FIELD, CARRIER = 0, 1


def check_source(n_x: int, source: tuple[int, int], scheme: str) -> tuple[int, int]:
    """Validate source columns ``(x_start, x_stop)`` on an ``n_x``-column latent: a non-empty
    band leaving the open sub-box downstream (its inflow column included) enough points for
    the open stencil (4 for ``central2``, 5 for ``oucs2`` and ``central4``)."""
    x0, x1 = (int(s) for s in source)
    need = 5 if scheme in ("oucs2", "central4") else 4
    if not (0 <= x0 < x1 and n_x - x1 + 1 >= need):
        raise ConfigError(
            f"source columns {x0}:{x1} must be a non-empty band of the {n_x} latent columns "
            f"that leaves at least {need - 1} columns downstream for the {scheme} stencil"
        )
    return x0, x1


class CarrierAdvection2d(nn.Module):
    """Advance a ``(B, 2, My, Mx)`` latent (field, carrier) as the module docstring says.

    Args:
        shape: latent grid ``(My, Mx)``.
        extent: box ``(Ly, Lx)``.
        source: source columns ``(x_start, x_stop)``, latent cells along x.
        y_boundary: the y boundary of both channels (``"periodic"`` by default).
        nu, velocity, dt, n_substeps, scheme, dtype, device: as in
            :class:`~diano.solvers.AdvectionDiffusion2d`, the same for both channels; the
            x velocity must be positive (the flow goes from the inflow to the outflow).
        correction: hidden width of a learned local rate added to the field downstream of
            the source (0: none; zero-initialised, so an untrained one changes nothing).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        extent: tuple[float, float] = (1.0, 1.0),
        *,
        source: tuple[int, int],
        y_boundary: BoundaryName = "periodic",
        nu: Any = 0.0,
        velocity: Any = (0.0, 0.0),
        dt: float = 0.01,
        n_substeps: Substeps = 1,
        scheme: str = "central2",
        correction: int = 0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        my, mx = (int(m) for m in shape)
        self.source = check_source(mx, source, scheme)
        if float(torch.as_tensor(velocity, dtype=torch.float64).reshape(-1)[0]) <= 0:
            raise ConfigError(f"a carrier latent needs a positive x velocity, got {velocity!r}")
        common = {
            "nu": nu,
            "velocity": velocity,
            "dt": dt,
            "n_substeps": n_substeps,
            "scheme": scheme,
            "dtype": dtype,
            "device": device,
        }
        self.carrier = AdvectionDiffusion2d(
            (my, mx), extent, boundary=("periodic", y_boundary), **common
        )
        n_down = mx - self.source[1] + 1  # the last source column is the inflow column
        self.downstream = AdvectionDiffusion2d(
            (my, n_down),
            (extent[0], extent[1] * n_down / mx),
            boundary=("upwind", y_boundary),
            inflow_value=None,
            **common,
        )
        self.correction = None
        if correction:
            self.correction = LocalCorrection2d(
                (my, mx), correction, (False, y_boundary == "periodic"), dtype, device
            )

    def _corrected_rate(self, field: Tensor) -> Tensor:
        """The learned rate, zero outside the open sub-box (x ≥ the source's end)."""
        rate = self.correction(field)
        keep = torch.zeros_like(rate[..., :1, :1, :])
        keep[..., self.source[1] :] = 1.0
        return rate * keep

    # the coefficients and settings are shared by both channels
    @property
    def nu(self) -> Tensor:
        return self.carrier.nu

    @property
    def velocity(self) -> Tensor:
        return self.carrier.velocity

    @property
    def dt(self) -> float:
        return self.carrier.dt

    @property
    def shape(self) -> tuple[int, int]:
        return self.carrier.shape

    def stability(self, *args: Any, **kwargs: Any) -> StabilityReport:
        """The carrier's stability report, or the open sub-box's when only that one is
        unstable (the arguments of :meth:`AdvectionDiffusion2d.stability`, passed to both)."""
        carrier = self.carrier.stability(*args, **kwargs)
        down = self.downstream.stability(*args, **kwargs)
        return down if carrier.ok and not down.ok else carrier

    def _check_latent(self, z: Tensor) -> None:
        if z.dim() != 4 or z.shape[1] != 2 or tuple(z.shape[2:]) != self.shape:
            raise ConfigError(
                f"a carrier latent is (B, 2, {self.shape[0]}, {self.shape[1]}) (field, "
                f"carrier), got {tuple(z.shape)}"
            )

    def rhs(self, z: Tensor, nu: Any = None, velocity: Any = None) -> Tensor:
        """``dz/dt`` of the latent PDE, same shape as ``z``: the carrier's periodic
        advection–diffusion; for the field, 0 upstream of the source, the carrier's rate in
        the source columns, the open sub-box's rate (fed by the carrier) downstream."""
        self._check_latent(z)
        x0, x1 = self.source
        field, carrier = z[:, FIELD : FIELD + 1], z[:, CARRIER : CARRIER + 1]
        rate = self.carrier.rhs(carrier, nu, velocity)
        down = torch.cat([carrier[..., x1 - 1 : x1], field[..., x1:]], dim=-1)
        down_rate = self.downstream.rhs(down, nu, velocity)
        field_rate = torch.cat(
            [torch.zeros_like(field[..., :x0]), rate[..., x0:x1], down_rate[..., 1:]], dim=-1
        )
        if self.correction is not None:
            field_rate = field_rate + self._corrected_rate(field)
        return torch.cat([field_rate, rate], dim=1)

    def forward(self, z: Tensor, n_steps: int = 1, **overrides: Any) -> Tensor:
        """Advance ``n_steps`` steps (overrides as in :meth:`AdvectionDiffusion2d.forward`)."""
        self._check_latent(z)
        if int(n_steps) != n_steps or n_steps < 0:
            raise ConfigError(f"n_steps must be a non-negative integer, got {n_steps}")
        x0, x1 = self.source
        dt = self.dt if overrides.get("dt") is None else float(overrides["dt"])
        for _ in range(int(n_steps)):
            field, carrier = z[:, FIELD : FIELD + 1], z[:, CARRIER : CARRIER + 1]
            # the open sub-box, its inflow column held at the carrier's last source column
            down = torch.cat([carrier[..., x1 - 1 : x1], field[..., x1:]], dim=-1)
            down = self.downstream(down, 1, **overrides)
            carrier = self.carrier(carrier, 1, **overrides)
            new = torch.cat(
                [torch.zeros_like(field[..., :x0]), carrier[..., x0:x1], down[..., 1:]], dim=-1
            )
            if self.correction is not None:
                new = new + dt * self._corrected_rate(field)
            field = new
            z = torch.cat([field, carrier], dim=1)
        return z

    def extra_repr(self) -> str:
        return f"source columns={self.source}, correction={self.correction is not None}"
