"""D3Q19 two-relaxation-time (TRT) lattice-Boltzmann solver for vessels along x, in torch.

Reference: Ginzburg, Verhaeghe & d'Humières, Commun. Comput. Phys. 3:427 (2008) for TRT and
the magic parameter Λ = 3/16; Krüger et al., *The Lattice Boltzmann Method* (2017), ch. 10.
TRT rather than BGK because a 3D BGK run at τ ≈ 0.56 with a 4× throat jet diverged
(``reference/data.md`` §6.3).
"""

from __future__ import annotations

import torch
from torch import Tensor

from diano.data.simulators.lattice import (
    MAX_LATTICE_SPEED,
    CompiledStep,
    Macroscopic,
    as_mask,
    check_fields,
    check_tau,
    incoming_links,
    momentum_exchange,
    velocity_table,
)
from diano.device import resolve_device
from diano.errors import ConfigError

# velocity set (cx, cy, cz), weights, opposite directions
C3 = (
    (0, 0, 0),
    (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1),
    (1, 1, 0), (-1, -1, 0), (1, -1, 0), (-1, 1, 0),
    (1, 0, 1), (-1, 0, -1), (1, 0, -1), (-1, 0, 1),
    (0, 1, 1), (0, -1, -1), (0, 1, -1), (0, -1, 1),
)  # fmt: skip
W3 = (1 / 3,) + (1 / 18,) * 6 + (1 / 36,) * 12
OPP3 = tuple(C3.index((-a, -b, -c)) for (a, b, c) in C3)
#: TRT magic parameter Λ = (τ⁺ − ½)(τ⁻ − ½); 3/16 puts bounce-back walls exactly half-way
#: for Poiseuille flow and gives good stability.
MAGIC = 3.0 / 16.0


def moments(g: Tensor | list[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Density and velocity ``(ρ, ux, uy, uz)`` of populations ``(19, nz, ny, nx)``."""
    rho = sum(g[i] for i in range(19))
    ux = sum(C3[i][0] * g[i] for i in range(19) if C3[i][0]) / rho
    uy = sum(C3[i][1] * g[i] for i in range(19) if C3[i][1]) / rho
    uz = sum(C3[i][2] * g[i] for i in range(19) if C3[i][2]) / rho
    return rho, ux, uy, uz


def equilibrium(rho: Tensor, ux: Tensor, uy: Tensor, uz: Tensor) -> list[Tensor]:
    """Second-order equilibria, one tensor per direction."""
    usq = 1.5 * (ux * ux + uy * uy + uz * uz)
    feq = []
    for (cx, cy, cz), w in zip(C3, W3, strict=True):
        cu = 3.0 * (cx * ux + cy * uy + cz * uz)
        feq.append(w * rho * (1.0 + cu + 0.5 * cu * cu - usq))
    return feq


def _boundary_moments(
    rho: Tensor, ux: Tensor, uy: Tensor, uz: Tensor, u_in: Tensor, inlet: Tensor, outlet: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Impose the end planes: inlet (x = 0) u = (u_in, 0, 0) with ρ from x = 1; outlet ρ = 1,
    u from x = −2.

    ``inlet`` and ``outlet`` are ``(1, 1, nx)`` masks of the first and last plane; pointwise
    selections keep the whole step one fused loop when compiled.
    """
    rho = torch.where(inlet, rho[..., 1:2], torch.where(outlet, 1.0, rho))
    ux = torch.where(inlet, u_in[..., None], torch.where(outlet, ux[..., -2:-1], ux))
    uy = torch.where(inlet, 0.0, torch.where(outlet, uy[..., -2:-1], uy))
    uz = torch.where(inlet, 0.0, torch.where(outlet, uz[..., -2:-1], uz))
    return rho, ux, uy, uz


def _step(
    f: Tensor,
    solid: Tensor,
    inlet: Tensor,
    outlet: Tensor,
    u_in: Tensor,
    omega_plus: float,
    omega_minus: float,
) -> Tensor:
    """TRT collision, equilibrium end planes, full-way bounce-back on ``solid``, streaming."""
    g = list(f.unbind(0))
    rho, ux, uy, uz = _boundary_moments(*moments(g), u_in, inlet, outlet)
    feq = equilibrium(rho, ux, uy, uz)
    ends = inlet | outlet
    out = []
    for i, (cx, cy, cz) in enumerate(C3):
        j = OPP3[i]
        f_sym, f_anti = 0.5 * (g[i] + g[j]), 0.5 * (g[i] - g[j])
        e_sym, e_anti = 0.5 * (feq[i] + feq[j]), 0.5 * (feq[i] - feq[j])
        post = g[i] - omega_plus * (f_sym - e_sym) - omega_minus * (f_anti - e_anti)
        # the inlet and outlet planes leave in equilibrium with the imposed moments
        post = torch.where(ends, feq[i], post)
        post = torch.where(solid, g[j], post)
        out.append(torch.roll(post, shifts=(cz, cy, cx), dims=(0, 1, 2)))
    return torch.stack(out)


class D3Q19Channel:
    """Three-dimensional duct or vessel flow along x, D3Q19 lattice, TRT collision (Λ = 3/16).

    Equations: TRT lattice Boltzmann; the symmetric part of f relaxes with ω⁺ = 1/τ (sets
    ν = (τ − ½)/3), the antisymmetric part with ω⁻ from Λ = (1/ω⁺ − ½)(1/ω⁻ − ½) = 3/16.

    Boundary conditions:
        * solid nodes (``solid`` True, the vessel wall and everything outside the lumen):
          full-way bounce-back, wall about half a node outside the last fluid node;
        * x = 0: equilibrium velocity inlet, u = (``u_in(z, y)``, 0, 0), ρ copied from x = 1;
        * x = nx − 1: equilibrium pressure outlet, ρ = 1, u copied from x = nx − 2;
        * y and z: periodic (surround the lumen with solid nodes);
        * optional sponge layer: τ(x) = τ + Δτ(x). Behind the inlet it is what keeps low-τ
          runs stable: at τ = 0.5106 (grid Reynolds number 16) a straight tube with an
          equilibrium (or non-equilibrium-extrapolation, or moving-wall) inlet diverged
          within 600 steps at the first interior plane, and ran stably with Δτ ramping
          from 0.1 to 0 over the first 11 planes. A Poiseuille profile is a solution for any
          viscosity, so the layer only steepens the pressure gradient inside it.

    Units: lattice units (node spacing 1, time step 1, ρ₀ = 1). Arrays are ``(nz, ny, nx)``,
    axis order (z, y, x). Stability: keep max |u| < 0.15 (≈ 0.1 in stenosis throats) and
    τ ≳ 0.505; check with :meth:`check_stability`.

    Args:
        solid: boolean mask ``(nz, ny, nx)``, True on solid nodes.
        tau: symmetric relaxation time (> 0.5).
        u0: initial velocity: the x-velocity as a scalar, a profile ``(nz, ny)`` or a field
            ``(nz, ny, nx)``, or a triple ``(ux, uy, uz)`` of such; populations start at
            equilibrium with ρ = 1 and this velocity on fluid nodes.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        sponge: added relaxation time Δτ ≥ 0 per x-plane ``(nx,)`` (None: no sponge layer).
        compile: run the step through ``torch.compile`` (eager fallback if that fails).
    """

    velocities = C3

    def __init__(
        self,
        solid: Tensor,
        tau: float,
        *,
        u0: float | Tensor | tuple[float | Tensor, ...] = 0.0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        sponge: Tensor | None = None,
        compile: bool = True,
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = dtype
        self.solid = as_mask(solid, 3, self.device)
        self.fluid = ~self.solid
        self.shape = tuple(self.solid.shape)
        plane = torch.arange(self.shape[2], device=self.device).view(1, 1, -1)
        self._ends = (plane == 0, plane == self.shape[2] - 1)  # (1, 1, nx) inlet / outlet
        self.tau = check_tau(tau)
        self.nu = (self.tau - 0.5) / 3.0
        self.omega_plus: float | Tensor = 1.0 / self.tau
        self.omega_minus: float | Tensor = 1.0 / (MAGIC / (self.tau - 0.5) + 0.5)
        if sponge is not None:
            extra = torch.as_tensor(sponge, dtype=torch.float64)
            if tuple(extra.shape) != (self.solid.shape[2],) or not bool((extra >= 0).all()):
                raise ConfigError(
                    f"sponge must hold {self.solid.shape[2]} values ≥ 0 (one per x-plane), "
                    f"got shape {tuple(extra.shape)}"
                )
            tau_x = (self.tau + extra).view(1, 1, -1)
            self.omega_plus = (1.0 / tau_x).to(dtype=dtype, device=self.device)
            self.omega_minus = (1.0 / (MAGIC / (tau_x - 0.5) + 0.5)).to(
                dtype=dtype, device=self.device
            )
        self.n_steps = 0
        self._u_in = torch.zeros(self.shape[:2], dtype=dtype, device=self.device)
        self._c = velocity_table(C3, dtype, self.device)
        self._links: tuple[Tensor, Tensor] | None = None
        parts = tuple(u0) if isinstance(u0, (tuple, list)) else (u0, 0.0, 0.0)
        if len(parts) != 3:
            raise ConfigError(
                f"u0 must be the x-velocity or a triple (ux, uy, uz), got {len(parts)} parts"
            )
        ux, uy, uz = (self._broadcast_u0(part) * self.fluid for part in parts)
        self._last_in = ux[..., 0].clone()
        self.f = torch.stack(equilibrium(torch.ones_like(ux), ux, uy, uz))
        self._step = CompiledStep(_step, compile)

    @property
    def compiled(self) -> bool:
        """Whether the step runs compiled (False after a fallback to eager)."""
        return self._step.compiled

    def _broadcast_u0(self, u0: float | Tensor) -> Tensor:
        u = torch.as_tensor(u0, dtype=self.dtype, device=self.device)
        if u.ndim == 2:
            u = u[..., None]
        try:
            return u.expand(self.shape).clone()
        except RuntimeError as exc:
            raise ConfigError(
                f"u0 of shape {tuple(u.shape)} does not fit the lattice {self.shape}"
            ) from exc

    def _inlet(self, u_in: float | Tensor) -> Tensor:
        if isinstance(u_in, Tensor) and u_in.ndim == 2:
            if tuple(u_in.shape) != self.shape[:2]:
                raise ConfigError(
                    f"inlet profile has shape {tuple(u_in.shape)}, the lattice has "
                    f"(nz, ny)={self.shape[:2]}"
                )
            return u_in.to(device=self.device, dtype=self.dtype)
        self._u_in.fill_(float(u_in))
        return self._u_in

    def step(self, u_in: float | Tensor = 0.0) -> None:
        """Advance one time step with inlet x-velocity ``u_in`` (scalar or profile ``(nz, ny)``)."""
        self._last_in = self._inlet(u_in)
        self.f = self._step(
            self.f, self.solid, *self._ends, self._last_in, self.omega_plus, self.omega_minus
        )
        self.n_steps += 1

    def run(self, n_steps: int, u_in: float | Tensor = 0.0) -> None:
        """Advance ``n_steps`` time steps with a fixed inlet velocity."""
        u = self._inlet(u_in).clone()
        for _ in range(int(n_steps)):
            self.step(u)

    def macroscopic(self) -> Macroscopic:
        """Density, velocity ``(ux, uy, uz)`` and pressure ``(ρ − ρ̄)/3``, each ``(nz, ny, nx)``.

        The end planes report the moments the boundary conditions impose there.
        """
        rho, ux, uy, uz = moments(self.f)
        rho, ux, uy, uz = _boundary_moments(rho, ux, uy, uz, self._last_in, *self._ends)
        ux, uy, uz = ux * self.fluid, uy * self.fluid, uz * self.fluid
        p = (rho - rho[self.fluid].mean()) / 3.0 * self.fluid
        return Macroscopic(rho, (ux, uy, uz), p)

    def flux(self) -> Tensor:
        """Mass flux Σ ρ u_x over each x-section, ``(nx,)``."""
        rho, (ux, _, _), _ = self.macroscopic()
        return (rho * ux).sum((0, 1))

    def force(self, body: Tensor) -> Tensor:
        """Force ``(Fx, Fy, Fz)`` on the solid nodes in ``body`` by momentum exchange."""
        if self._links is None or self._links[0] is not body:
            self._links = (body, incoming_links(self.solid, body, C3).to(self.dtype))
        return momentum_exchange(self.f, self._links[1], self._c)

    def check_stability(self, limit: float = MAX_LATTICE_SPEED, where: str = "D3Q19") -> float:
        """Raise :class:`~diano.errors.ValidationError` on NaN/Inf or max |u| ≥ ``limit``.

        Returns:
            The maximum lattice speed over fluid nodes.
        """
        _, (ux, uy, uz), _ = self.macroscopic()
        speed = torch.sqrt(ux * ux + uy * uy + uz * uz)[self.fluid]
        return check_fields(self.f, speed, step=self.n_steps, limit=limit, where=where)
