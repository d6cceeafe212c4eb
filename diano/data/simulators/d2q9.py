"""D2Q9 BGK lattice-Boltzmann channel solver in torch (Zou & He 1997 boundaries).

Reference: Krüger et al., *The Lattice Boltzmann Method* (Springer 2017), ch. 3, 5 and 7;
Zou & He, Phys. Fluids 9:1591 (1997). The prototype this follows was validated in
``reference/data.md`` §5 (Poiseuille 0.1 %, Womersley 0.3 %, Schäfer–Turek St within 3 %).
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

# velocity set (cx, cy), weights and opposite directions
C2 = ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (-1, -1), (1, -1))
W2 = (4 / 9, 1 / 9, 1 / 9, 1 / 9, 1 / 9, 1 / 36, 1 / 36, 1 / 36, 1 / 36)
OPP2 = (0, 3, 4, 1, 2, 7, 8, 5, 6)


def equilibrium(rho: Tensor, ux: Tensor, uy: Tensor) -> Tensor:
    """Second-order BGK equilibrium ``(9, …)`` for density and velocity fields."""
    usq = 1.5 * (ux * ux + uy * uy)
    feq = []
    for (cx, cy), w in zip(C2, W2, strict=True):
        cu = 3.0 * (cx * ux + cy * uy)
        feq.append(w * rho * (1.0 + cu + 0.5 * cu * cu - usq))
    return torch.stack(feq)


def _zou_he(f: Tensor, inlet: Tensor, outlet: Tensor, u_in: Tensor) -> list[Tensor]:
    """Zou/He velocity inlet at x = 0 (profile ``u_in``, v = 0) and pressure outlet ρ = 1 at x = −1.

    ``f`` is ``(9, ny, nx)`` after streaming; the unknown populations at the inlet are
    1, 5, 8 (moving +x) and at the outlet 3, 6, 7 (moving −x). ``inlet`` and ``outlet`` are
    ``(ny, nx)`` masks of the fluid nodes of the first and last column; written as
    pointwise selections (not index assignments) so that the compiler fuses them into the
    collision and streaming loop.

    Returns:
        The nine populations ``(ny, nx)`` with the boundary populations replaced.
    """
    g = list(f.unbind(0))
    u = u_in[:, None]  # (ny, 1)
    f0, f2, f3, f4, f6, f7 = (g[i][:, :1] for i in (0, 2, 3, 4, 6, 7))  # inlet column (ny, 1)
    rho_in = (f0 + f2 + f4 + 2.0 * (f3 + f6 + f7)) / (1.0 - u)
    g[1] = torch.where(inlet, f3 + (2.0 / 3.0) * rho_in * u, g[1])
    g[5] = torch.where(inlet, f7 - 0.5 * (f2 - f4) + rho_in * u / 6.0, g[5])
    g[8] = torch.where(inlet, f6 + 0.5 * (f2 - f4) + rho_in * u / 6.0, g[8])
    # outlet column, ρ = 1: u_out is the velocity implied by the known populations
    h0, h1, h2, h4, h5, h8 = (f[i][:, -1:] for i in (0, 1, 2, 4, 5, 8))
    u_out = -1.0 + h0 + h2 + h4 + 2.0 * (h1 + h5 + h8)
    g[3] = torch.where(outlet, h1 - (2.0 / 3.0) * u_out, g[3])
    g[6] = torch.where(outlet, h8 - 0.5 * (h2 - h4) - u_out / 6.0, g[6])
    g[7] = torch.where(outlet, h5 + 0.5 * (h2 - h4) - u_out / 6.0, g[7])
    return g


def _moments(g: list[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    rho = g[0] + g[1] + g[2] + g[3] + g[4] + g[5] + g[6] + g[7] + g[8]
    ux = (g[1] + g[5] + g[8] - g[3] - g[6] - g[7]) / rho
    uy = (g[2] + g[5] + g[6] - g[4] - g[7] - g[8]) / rho
    return rho, ux, uy


def _step(
    f: Tensor, solid: Tensor, inlet: Tensor, outlet: Tensor, u_in: Tensor, omega: float | Tensor
) -> Tensor:
    """Zou/He boundaries, BGK collision, full-way bounce-back on ``solid``, streaming.

    ``f`` holds the populations after the previous streaming (boundary populations not yet
    set); ``omega`` = 1/τ is a scalar or a per-column profile ``(nx,)`` (sponge layer).
    """
    g = _zou_he(f, inlet, outlet, u_in)
    rho, ux, uy = _moments(g)
    feq = equilibrium(rho, ux, uy)
    out = []
    for i, (cx, cy) in enumerate(C2):
        post = torch.where(solid, g[OPP2[i]], g[i] + omega * (feq[i] - g[i]))
        out.append(torch.roll(post, shifts=(cy, cx), dims=(0, 1)))
    return torch.stack(out)


class D2Q9Channel:
    """Two-dimensional channel flow with obstacles, D2Q9 lattice, BGK collision.

    Equations: lattice BGK, f_i(x + c_i, t + 1) = f_i − (f_i − f_i^eq)/τ, which recovers the
    weakly compressible Navier–Stokes equations with ν = (τ − ½)/3 and p = ρ/3 to O(Ma²).

    Boundary conditions:
        * solid nodes (``solid`` True, walls and obstacles): full-way bounce-back; the wall
          lies about half a node outside the last fluid node;
        * x = 0 (first column): Zou/He velocity inlet, u = ``u_in(y)`` given each step, v = 0;
        * x = nx − 1 (last column): Zou/He pressure outlet, ρ = 1 (never a zero-gradient copy,
          which lets the mass drift, ``reference/data.md`` §6.1);
        * y: periodic; put solid rows at y = 0 and y = ny − 1 for a walled channel;
        * optional sponge layer before the outlet: the relaxation time rises to τ + Δτ(x),
          so the extra viscosity damps vortices and sound before they reach the ρ = 1
          outlet. Without it, vortices crossing the outlet gave spurious outlet velocities
          of ≈ 2.5U at Re 225 (``docs/data.md``); a higher τ also steadies Zou/He there.

    Units: lattice units (node spacing 1, time step 1, ρ₀ = 1). Arrays are ``(ny, nx)``,
    axis order (y, x). Stability: keep max |u| < 0.15 (ideally ≤ 0.1) and τ ≳ 0.51; check
    with :meth:`check_stability`.

    Args:
        solid: boolean mask ``(ny, nx)``, True on solid nodes.
        tau: BGK relaxation time (> 0.5).
        u0: initial velocity: the x-velocity as a scalar, a profile ``(ny,)`` or a field
            ``(ny, nx)``, or a pair ``(ux, uy)`` of such; the populations start at
            equilibrium with this velocity on fluid nodes (zero on solid nodes).
        rho0: initial density, a scalar or a field ``(ny, nx)`` (a Bernoulli pressure field
            with a potential-flow ``u0`` avoids the start-up pressure pulse).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        sponge: added relaxation time Δτ ≥ 0 per column ``(nx,)`` (None: no sponge layer).
        compile: run the step through ``torch.compile`` (eager fallback if that fails).
    """

    velocities = C2

    def __init__(
        self,
        solid: Tensor,
        tau: float,
        *,
        u0: float | Tensor | tuple[float | Tensor, float | Tensor] = 0.0,
        rho0: float | Tensor = 1.0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        sponge: Tensor | None = None,
        compile: bool = True,
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = dtype
        self.solid = as_mask(solid, 2, self.device)
        self.tau = check_tau(tau)
        self.nu = (self.tau - 0.5) / 3.0
        self._omega: float | Tensor = 1.0 / self.tau
        if sponge is not None:
            extra = torch.as_tensor(sponge, dtype=torch.float64)
            if tuple(extra.shape) != (self.solid.shape[1],) or not bool((extra >= 0).all()):
                raise ConfigError(
                    f"sponge must hold {self.solid.shape[1]} values ≥ 0 (one per column), "
                    f"got shape {tuple(extra.shape)}"
                )
            self._omega = (1.0 / (self.tau + extra)).to(dtype=dtype, device=self.device)
        self.fluid = ~self.solid
        self.shape = tuple(self.solid.shape)
        column = torch.arange(self.shape[1], device=self.device)
        self._inlet_mask = self.fluid & (column == 0)
        self._outlet_mask = self.fluid & (column == self.shape[1] - 1)
        self.n_steps = 0
        self._u_in = torch.zeros(self.shape[0], dtype=dtype, device=self.device)
        self._c = velocity_table(C2, dtype, self.device)
        self._links: tuple[Tensor, Tensor] | None = None
        ux0, uy0 = u0 if isinstance(u0, (tuple, list)) else (u0, 0.0)
        ux = self._broadcast(ux0, "u0") * self.fluid
        uy = self._broadcast(uy0, "u0") * self.fluid
        self.f = equilibrium(self._broadcast(rho0, "rho0"), ux, uy)
        self._last_in = ux[:, 0].clone()
        self._step = CompiledStep(_step, compile)

    @property
    def compiled(self) -> bool:
        """Whether the step runs compiled (False after a fallback to eager)."""
        return self._step.compiled

    def _broadcast(self, value: float | Tensor, name: str) -> Tensor:
        u = torch.as_tensor(value, dtype=self.dtype, device=self.device)
        ny, nx = self.shape
        if u.ndim == 1 and u.shape[0] == ny:
            u = u[:, None]
        try:
            return u.expand(ny, nx).clone()
        except RuntimeError as exc:
            raise ConfigError(
                f"{name} of shape {tuple(u.shape)} does not fit the lattice {(ny, nx)}"
            ) from exc

    def _inlet(self, u_in: float | Tensor) -> Tensor:
        if isinstance(u_in, Tensor) and u_in.ndim == 1:
            if u_in.shape[0] != self.shape[0]:
                raise ConfigError(
                    f"inlet profile has {u_in.shape[0]} values, the lattice has ny={self.shape[0]}"
                )
            return u_in.to(device=self.device, dtype=self.dtype)
        self._u_in.fill_(float(u_in))
        return self._u_in

    def step(self, u_in: float | Tensor = 0.0) -> None:
        """Advance one time step with inlet x-velocity ``u_in`` (scalar or profile ``(ny,)``).

        The inlet value is applied to the populations entering at this step; ``f`` then holds
        the populations after streaming, before the next boundary update.
        """
        u = self._inlet(u_in)
        self.f = self._step(self.f, self.solid, self._inlet_mask, self._outlet_mask, u, self._omega)
        self._last_in = u
        self.n_steps += 1

    def run(self, n_steps: int, u_in: float | Tensor = 0.0) -> None:
        """Advance ``n_steps`` time steps with a fixed inlet velocity."""
        u = self._inlet(u_in).clone()
        for _ in range(int(n_steps)):
            self.step(u)

    def macroscopic(self) -> Macroscopic:
        """Density, velocity ``(ux, uy)`` and pressure ``(ρ − ρ̄)/3``, each ``(ny, nx)``.

        The boundary populations are completed with the last inlet velocity first.
        """
        g = _zou_he(self.f, self._inlet_mask, self._outlet_mask, self._last_in)
        rho, ux, uy = _moments(g)
        ux, uy = ux * self.fluid, uy * self.fluid
        rho_mean = rho[self.fluid].mean()
        p = (rho - rho_mean) / 3.0 * self.fluid
        return Macroscopic(rho, (ux, uy), p)

    def force(self, body: Tensor) -> Tensor:
        """Force ``(Fx, Fy)`` on the solid nodes in ``body`` by momentum exchange (lattice
        units)."""
        if self._links is None or self._links[0] is not body:
            self._links = (body, incoming_links(self.solid, body, C2).to(self.dtype))
        return momentum_exchange(self.f, self._links[1], self._c)

    def check_stability(self, limit: float = MAX_LATTICE_SPEED, where: str = "D2Q9") -> float:
        """Raise :class:`~diano.errors.ValidationError` on NaN/Inf or max |u| ≥ ``limit``.

        Returns:
            The maximum lattice speed over fluid nodes.
        """
        _, (ux, uy), _ = self.macroscopic()
        speed = torch.sqrt(ux * ux + uy * uy)[self.fluid]
        return check_fields(self.f, speed, step=self.n_steps, limit=limit, where=where)
