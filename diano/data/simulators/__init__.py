"""Lattice-Boltzmann solvers in torch that make the benchmark data.

Contents::

    D2Q9Channel(solid, tau, ...)    # 2D BGK: Zou/He velocity inlet, Zou/He pressure outlet
    D3Q19Channel(solid, tau, ...)   # 3D TRT (Λ = 3/16): equilibrium inlet and outlet
    Macroscopic                     # (rho, u, p) returned by .macroscopic()
    MAX_LATTICE_SPEED               # 0.15, the stability limit the checks enforce
    CompiledStep                    # torch.compile with an automatic eager fallback
    sponge_ramp                     # added relaxation time of a sponge layer, per x position

Lattice units throughout (node spacing 1, time step 1, ρ₀ = 1, c_s² = 1/3, ν = (τ − ½)/3).
"""

from __future__ import annotations

from diano.data.simulators.d2q9 import D2Q9Channel
from diano.data.simulators.d3q19 import D3Q19Channel
from diano.data.simulators.lattice import MAX_LATTICE_SPEED, CompiledStep, Macroscopic, sponge_ramp

__all__ = [
    "MAX_LATTICE_SPEED",
    "CompiledStep",
    "D2Q9Channel",
    "D3Q19Channel",
    "Macroscopic",
    "sponge_ramp",
]
