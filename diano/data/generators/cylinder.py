"""``cylinder2d``: the periodic wake behind a circular cylinder, Re 100–225, D2Q9 BGK.

Domain (``reference/data.md`` §4.1): a 16D × 8D box, laterally periodic (an infinite row of
cylinders 8D apart, blockage D/8D = 12.5 %), uniform inflow U at x = 0 (Zou/He), pressure
outlet at x = 16D, cylinder centre at (4D, 4D). The confinement raises St 11–15 % above the
free-stream value (0.188 against 0.164 at Re 100), so the shedding check compares St with
a band around Williamson's free-stream fit, scaled for this box.

Stored: ωD/U, u/U, v/U, p/(ρU²) on the 8D × 8D window x ∈ [−2D, 6D], y ∈ [−4D, 4D] around
the cylinder (every 2nd node of a D = 32 lattice → 128 × 128), the fluid mask, time in D/U.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from diano.data.generators.common import (
    CaseResult,
    Timer,
    chunks,
    config_dict,
    require,
    step_bar,
    to_numpy,
    vorticity_2d,
)
from diano.data.generators.geometry import cylinder_mask
from diano.data.generators.strouhal import dominant_frequency, williamson_strouhal
from diano.data.simulators import D2Q9Channel
from diano.data.simulators.lattice import sponge_ramp

BENCHMARK = "cylinder2d"
CHANNELS = ["vorticity", "u", "v", "p"]
TRAIN_RE = (100.0, 125.0, 150.0, 175.0, 200.0)
HELDOUT_RE = (180.0, 225.0)


@dataclass(frozen=True)
class CylinderConfig:
    """One cylinder-wake case (lattice units unless stated).

    Attributes:
        re: Reynolds number U·D/ν.
        split: ``"train"`` or ``"heldout"``.
        diameter: cylinder diameter D in lattice nodes.
        u_lattice: inflow speed U in lattice units (Mach U√3).
        box: domain length and width in D (16 × 8); the cylinder sits at (4D, 4D).
        window: stored window (x0, x1, y0, y1) in D, origin at the cylinder centre.
        stride: keep every ``stride``-th node of the window.
        spinup: time before recording starts, in D/U.
        dt_snapshot: time between snapshots, in D/U (0.05 ≈ T/100 at St ≈ 0.2).
        n_snapshots: number of snapshots.
        perturbation: relative amplitude of the inflow perturbation that breaks the
            symmetry during the first ``perturbation_time`` D/U.
        perturbation_time: duration of the perturbation, in D/U.
        sponge: start (in D from the inlet) and peak added relaxation time Δτ of the sponge
            layer before the outlet, which damps the vortices before they reach it.
        st_band: accepted St / St_Williamson(Re) for this confined box.
        seed: seed of the perturbation's random phase.
    """

    re: float
    split: str = "train"
    diameter: int = 32
    u_lattice: float = 0.08
    box: tuple[int, int] = (16, 8)
    window: tuple[float, float, float, float] = (-2.0, 6.0, -4.0, 4.0)
    stride: int = 2
    spinup: float = 100.0
    dt_snapshot: float = 0.05
    n_snapshots: int = 1200
    perturbation: float = 0.05
    perturbation_time: float = 10.0
    sponge: tuple[float, float] = (13.0, 1.0)
    st_band: tuple[float, float] = (1.04, 1.24)
    seed: int = 0

    @property
    def tau(self) -> float:
        return 3.0 * self.u_lattice * self.diameter / self.re + 0.5

    @property
    def steps_per_time(self) -> float:
        """Lattice steps per convective time D/U."""
        return self.diameter / self.u_lattice

    @property
    def name(self) -> str:
        return f"{BENCHMARK}_re{self.re:g}"


def cases(quick: bool = False, seed: int = 0) -> list[CylinderConfig]:
    """The cases of the full set (7 Re) or of the quick set (Re 100 train, Re 180 held out).

    The quick set keeps the lattice of the full set (D = 32, U = 0.08, stored every 2nd
    node) with a shorter spin-up (60 D/U) and 400 snapshots (≈ 4 periods): about a minute
    per case on 2 idle cores. A D = 16 lattice would be 8× cheaper but is too coarse for
    BGK at the held-out Re 180: the boundary layer (≈ D/√Re) spans little more than one node
    there, and the run ended in NaN within 5000 steps at U = 0.1, 0.08 and 0.06 alike; at
    U = 0.1 even Re 100 reached a lattice speed of 0.149 against the limit 0.15.
    """
    if quick:
        base = CylinderConfig(re=100.0, spinup=60.0, n_snapshots=400, seed=seed)
        return [replace(base, re=100.0), replace(base, re=180.0, split="heldout")]
    train = [CylinderConfig(re=re, split="train", seed=seed) for re in TRAIN_RE]
    heldout = [CylinderConfig(re=re, split="heldout", seed=seed) for re in HELDOUT_RE]
    return sorted(train + heldout, key=lambda c: c.re)


def _window_index(cfg: CylinderConfig) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Lattice slices of the stored window and its node coordinates in D (origin at the centre)."""
    d = cfg.diameter
    cx = cy = 4 * d  # cylinder centre in lattice units (node i at i + 1/2)
    x0, x1, y0, y1 = cfg.window
    i0, i1 = int(round(cx + x0 * d)), int(round(cx + x1 * d))
    j0, j1 = int(round(cy + y0 * d)), int(round(cy + y1 * d))
    cols, rows = slice(i0, i1, cfg.stride), slice(j0, j1, cfg.stride)
    x = (np.arange(i0, i1, cfg.stride) + 0.5 - cx) / d
    y = (np.arange(j0, j1, cfg.stride) + 0.5 - cy) / d
    return rows, cols, x, y


def potential_flow(
    shape: tuple[int, int], centre: tuple[float, float], radius: float, u: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Potential flow past a cylinder with its Bernoulli density, as a quiet initial state.

    u_r = U(1 − a²/r²)cos θ, u_θ = −U(1 + a²/r²)sin θ and ρ = 1 + 3·½(U² − |u|²). Starting
    from a uniform field instead sends a ±10 % density pulse through the box, which the
    velocity inlet reflects and which made low-τ runs (Re 180 at D = 16) diverge.

    Returns:
        ``(ux, uy, rho)``, each ``(ny, nx)`` float64; the velocity is zero inside the disc.
    """
    ny, nx = shape
    dy = torch.arange(ny, dtype=torch.float64)[:, None] + 0.5 - centre[1]
    dx = torch.arange(nx, dtype=torch.float64)[None, :] + 0.5 - centre[0]
    r2 = (dx * dx + dy * dy).clamp(min=radius**2)
    a2_r4 = radius**2 / (r2 * r2)
    ux = u * (1.0 - a2_r4 * (dx * dx - dy * dy))
    uy = -u * 2.0 * a2_r4 * dx * dy
    outside = (dx * dx + dy * dy) > radius**2
    ux, uy = ux * outside, uy * outside
    rho = 1.0 + 1.5 * (u * u - ux * ux - uy * uy) * outside
    return ux, uy, rho


def run_case(
    cfg: CylinderConfig,
    device: str | torch.device = "cpu",
    *,
    compile: bool = True,
    progress: bool = True,
    check_shedding: bool = True,
) -> CaseResult:
    """Simulate one Reynolds number, check shedding and stability, return the stored arrays.

    Args:
        cfg: the case.
        device: where the lattice runs.
        compile: use ``torch.compile`` for the lattice step.
        progress: show a progress bar.
        check_shedding: check periodic shedding and St on the recorded lift. A short record
            (a fine-grid reference of a few snapshots, ``stride=1``) covers too few periods
            for that check; it is then skipped and recorded as skipped, and the stability
            checks still run.

    Raises:
        ValidationError: NaN/Inf or a lattice speed ≥ 0.15, no periodic shedding, St outside
            the band for the box, or shedding not yet saturated.
    """
    timer = Timer()
    d = cfg.diameter
    nx, ny = cfg.box[0] * d, cfg.box[1] * d
    body = torch.from_numpy(cylinder_mask((ny, nx), (4 * d, 4 * d), d / 2 - 0.5))
    ux0, uy0, rho0 = potential_flow((ny, nx), (4 * d, 4 * d), d / 2, cfg.u_lattice)
    sponge = sponge_ramp(nx, nx - 1 - int(round(cfg.sponge[0] * d)), cfg.sponge[1])
    sim = D2Q9Channel(
        body, cfg.tau, u0=(ux0, uy0), rho0=rho0, sponge=sponge, device=device, compile=compile
    )
    body = sim.solid
    where = f"{cfg.name} (D={d}, tau={cfg.tau:.4f}, U={cfg.u_lattice})"

    rng = np.random.default_rng([cfg.seed, int(cfg.re * 1000)])
    phase = rng.uniform(0, 2 * math.pi)
    y = torch.arange(ny, device=sim.device, dtype=sim.dtype) + 0.5
    u_uniform = torch.full((ny,), cfg.u_lattice, device=sim.device, dtype=sim.dtype)
    u_perturbed = u_uniform * (1 + cfg.perturbation * torch.sin(2 * math.pi * y / ny + phase))

    every = max(1, int(round(cfg.dt_snapshot * cfg.steps_per_time)))
    n_spin = int(round(cfg.spinup * cfg.steps_per_time))
    n_perturb = int(round(cfg.perturbation_time * cfg.steps_per_time))
    n_total = n_spin + cfg.n_snapshots * every
    rows, cols, x_win, y_win = _window_index(cfg)
    fluid_win = sim.fluid[rows, cols]
    fields = np.empty((cfg.n_snapshots, len(CHANNELS), *fluid_win.shape), np.float32)
    lift, drag = np.empty(cfg.n_snapshots), np.empty(cfg.n_snapshots)
    force_scale = 2.0 / (cfg.u_lattice**2 * d)  # force per unit span → coefficient
    u_max = 0.0

    with step_bar(n_total, f"{cfg.name}", progress) as bar:
        for i, n in enumerate(chunks(n_spin, 500)):
            sim.run(n, u_perturbed if sim.n_steps < n_perturb else u_uniform)
            bar.update(n)
            if i % 10 == 9:
                u_max = max(u_max, sim.check_stability(where=where))
        for k in range(cfg.n_snapshots):
            sim.run(every, u_uniform)
            bar.update(every)
            rho, (ux, uy), p = sim.macroscopic()
            omega = vorticity_2d(ux, uy, sim.fluid)
            snap = torch.stack(
                [
                    omega * (d / cfg.u_lattice),
                    ux / cfg.u_lattice,
                    uy / cfg.u_lattice,
                    p / cfg.u_lattice**2,
                ]
            )
            fields[k] = to_numpy(snap[:, rows, cols])  # (C, Ny, Nx)
            force = sim.force(body) * force_scale
            drag[k], lift[k] = float(force[0]), float(force[1])
            if k % 100 == 99 or k == cfg.n_snapshots - 1:
                u_max = max(u_max, sim.check_stability(where=where))

    checks = _check_shedding(cfg, lift, where) if check_shedding else None
    t = (n_spin + every * (1 + np.arange(cfg.n_snapshots))) / cfg.steps_per_time
    attrs = {
        "benchmark": BENCHMARK,
        "case": cfg.name,
        "split": cfg.split,
        "Re": float(cfg.re),
        "seed": int(cfg.seed),
        "config": config_dict(cfg),
        "checks": (checks or {"shedding": "not checked (record too short)"})
        | {"max_lattice_speed": u_max},
        "cd_mean": float(drag.mean()),
        "solver": "D2Q9 BGK; Zou/He velocity inlet, Zou/He pressure outlet rho=1 behind a sponge "
        "layer, full-way bounce-back, laterally periodic",
        "lattice": [ny, nx],
        "tau": cfg.tau,
        "u_lattice": cfg.u_lattice,
        "domain": f"{cfg.box[0]}D x {cfg.box[1]}D, laterally periodic (blockage D/{cfg.box[1]}D), "
        "cylinder centre 4D from the inlet",
        "units": "lengths in D, time in D/U_inf, velocity / U_inf, vorticity * D / U_inf, "
        "p = (rho - mean fluid rho) c_s^2 / (rho_0 U_inf^2)",
        "wall_seconds": timer.seconds,
    }
    if checks is not None:
        attrs["St"] = checks["St"]
        attrs["cl_amplitude"] = checks["cl_amplitude"]
        attrs["snapshots_per_period"] = float(1.0 / (checks["St"] * cfg.dt_snapshot))
    coords = {
        "t": (t, "D/U_inf"),
        "x": (x_win, "D, origin at the cylinder centre"),
        "y": (y_win, "D, origin at the cylinder centre"),
    }
    mask = to_numpy(fluid_win).astype(np.uint8)
    return CaseResult(fields=fields, channels=list(CHANNELS), mask=mask, coords=coords, attrs=attrs)


def _check_shedding(cfg: CylinderConfig, lift: np.ndarray, where: str) -> dict[str, float]:
    """Check that the lift oscillates periodically, saturated, at a Strouhal number in the band."""
    spec = dominant_frequency(lift, cfg.dt_snapshot)
    st = spec.frequency  # time in D/U, so the frequency is already f·D/U
    st_ref = williamson_strouhal(cfg.re)
    lo, hi = cfg.st_band[0] * st_ref, cfg.st_band[1] * st_ref
    half = lift.size // 2
    rms = [float(np.std(lift[:half])), float(np.std(lift[half:]))]
    growth = rms[1] / max(rms[0], 1e-12) - 1.0
    require(
        spec.amplitude > 0.05 and spec.peak_fraction > 0.5,
        f"{where}: no periodic vortex shedding (lift amplitude {spec.amplitude:.3g}, "
        f"{spec.peak_fraction:.0%} of the lift energy at the peak); lengthen the spin-up",
    )
    require(
        spec.n_periods >= 3,
        f"{where}: the record covers only {spec.n_periods:.1f} shedding periods (need ≥ 3)",
    )
    require(
        abs(growth) < 0.05,
        f"{where}: shedding not saturated: lift RMS changed by {growth:+.1%} between the two "
        "halves of the record (limit ±5 %); lengthen the spin-up",
    )
    require(
        lo <= st <= hi,
        f"{where}: St = {st:.4f} outside the band [{lo:.4f}, {hi:.4f}] for this box "
        f"({cfg.st_band[0]}–{cfg.st_band[1]} × free-stream {st_ref:.4f})",
    )
    return {
        "St": float(st),
        "St_free_stream": float(st_ref),
        "St_band": [float(lo), float(hi)],
        "cl_amplitude": float(spec.amplitude),
        "lift_peak_fraction": float(spec.peak_fraction),
        "lift_rms_change": float(growth),
        "n_periods": float(spec.n_periods),
    }
