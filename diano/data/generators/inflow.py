"""Inflow profiles: plane Poiseuille and pulsatile Womersley flow in a channel, Poiseuille in a
tube.

The Womersley profile is the exact solution for a plane channel driven by an oscillating
pressure gradient (Womersley 1955, J. Physiol. 127:553, plane form): with h = H/2,
λ = √(iω/ν) and y measured from the centreline,

    u(y, t) = U_m·1.5(1 − y²/h²) + Re{ A·U_m · P(y)/P̄ · e^{iωt} },   P(y) = 1 − cosh(λy)/cosh(λh),

where P̄ is the channel average of P, so that the flow rate is U_m·H·(1 + A cos ωt).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def channel_y(height: int) -> np.ndarray:
    """Cross-channel coordinate of the ``height + 2`` lattice rows, from the centreline.

    Rows 0 and ``height + 1`` are the wall nodes; the bounce-back walls lie half-way, at
    y = ±H/2, and fluid row j sits at y = j − ½ − H/2.
    """
    return np.arange(height + 2, dtype=np.float64) - 0.5 - height / 2


def poiseuille_channel(height: int, u_mean: float) -> np.ndarray:
    """Plane Poiseuille profile ``(height + 2,)`` with mean ``u_mean``; zero on the wall rows."""
    y = channel_y(height)
    h = height / 2
    u = 1.5 * u_mean * (1.0 - (y / h) ** 2)
    u[0] = u[-1] = 0.0
    return u


class WomersleyInflow:
    """Pulsatile plane-channel inflow, evaluated on the lattice rows at any time step.

    Args:
        height: channel height H in lattice nodes (fluid rows).
        u_mean: mean velocity U_m (lattice units).
        amplitude: flow-rate amplitude A relative to the mean (0 ≤ A < 1 keeps it forward).
        omega: angular frequency ω (radians per lattice step).
        nu: kinematic viscosity ν (lattice units).
    """

    def __init__(
        self, height: int, u_mean: float, amplitude: float, omega: float, nu: float
    ) -> None:
        self.height, self.u_mean, self.amplitude, self.omega, self.nu = (
            height,
            u_mean,
            amplitude,
            omega,
            nu,
        )
        y = channel_y(height)
        h = height / 2
        lam = np.sqrt(1j * omega / nu)
        shape = 1.0 - np.cosh(lam * y) / np.cosh(lam * h)
        # channel average of P: 1 − tanh(λh)/(λh)
        mean = 1.0 - np.tanh(lam * h) / (lam * h)
        osc = amplitude * u_mean * shape / mean
        osc[0] = osc[-1] = 0.0
        self.steady = poiseuille_channel(height, u_mean)
        self.osc = osc  # complex (height + 2,)

    @property
    def womersley(self) -> float:
        """Womersley number α = h√(ω/ν) with h = H/2."""
        return self.height / 2 * math.sqrt(self.omega / self.nu)

    @property
    def period(self) -> float:
        """Period 2π/ω in lattice steps."""
        return 2.0 * math.pi / self.omega

    def numpy(self, t: float) -> np.ndarray:
        """Profile at time ``t`` (lattice steps), float64 ``(height + 2,)``."""
        return self.steady + np.real(self.osc * np.exp(1j * self.omega * t))

    def tensors(self, device: torch.device, dtype: torch.dtype) -> _WomersleyTensors:
        """The same profile as torch tensors for per-step evaluation on ``device``."""
        return _WomersleyTensors(self, device, dtype)


class _WomersleyTensors:
    """``u(t) = steady + Re(osc)·cos ωt − Im(osc)·sin ωt`` with the parts kept on the device."""

    def __init__(self, inflow: WomersleyInflow, device: torch.device, dtype: torch.dtype) -> None:
        self.omega = inflow.omega
        self.steady = torch.tensor(inflow.steady, device=device, dtype=dtype)
        self.real = torch.tensor(inflow.osc.real, device=device, dtype=dtype)
        self.imag = torch.tensor(inflow.osc.imag, device=device, dtype=dtype)

    def __call__(self, t: float) -> Tensor:
        phase = self.omega * t
        return self.steady + math.cos(phase) * self.real - math.sin(phase) * self.imag


def poiseuille_tube(r2: np.ndarray, radius: float, u_mean: float) -> np.ndarray:
    """Hagen–Poiseuille profile 2U(1 − r²/R²) (zero outside), for squared distances ``r2``."""
    return np.clip(2.0 * u_mean * (1.0 - r2 / radius**2), 0.0, None)
