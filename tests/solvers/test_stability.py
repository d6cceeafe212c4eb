"""Stability reports, UnstableSolverError, automatic sub-steps and the cached check."""

from __future__ import annotations

import math

import pytest
import torch

from diano.errors import UnstableSolverError
from diano.solvers import AdvectionDiffusion1d, AdvectionDiffusion2d, StabilityReport
from diano.solvers.stability import cfl_limit, diffusion_limit_1d, rk4_amplification

F64 = torch.float64


def test_classical_limits_of_rk4() -> None:
    assert cfl_limit("central2") == pytest.approx(2 * math.sqrt(2), rel=1e-6)
    assert diffusion_limit_1d() == pytest.approx(2.7853 / 4, rel=1e-4)
    assert 1.3 < cfl_limit("oucs2") < 1.4
    # central4: the imaginary-axis limit over the largest |(8 sin θ - sin 2θ)/6|, at
    # cos θ = 1 - sqrt(6)/2 (where 8 cos θ = 2 cos 2θ)
    c = 1.0 - math.sqrt(6.0) / 2.0
    peak = (8.0 * math.sqrt(1 - c * c) - 2.0 * math.sqrt(1 - c * c) * c) / 6.0
    assert cfl_limit("central4") == pytest.approx(2 * math.sqrt(2) / peak, rel=1e-6)
    edge = torch.tensor(2j * math.sqrt(2), dtype=torch.complex128)  # imaginary-axis limit
    assert abs(float(rk4_amplification(edge).abs()) - 1) < 1e-12


def test_report_numbers_and_limits() -> None:
    solver = AdvectionDiffusion2d((32, 32), (1.0, 1.0), nu=0.01, velocity=(1.0, 0.0), dt=0.01)
    report = solver.stability()
    assert isinstance(report, StabilityReport)
    assert report.ok and report.n_substeps == 1 and report.n_substeps_needed == 1
    assert report.cfl == pytest.approx(0.32)
    assert report.diffusion_number == pytest.approx(0.01 * 0.01 * 32**2)
    assert report.diffusion_limit == pytest.approx(diffusion_limit_1d() / 2)
    assert report.max_amplification <= 1 + 1e-9
    assert report.explain().startswith("stable: CFL 0.32")
    with pytest.raises(AttributeError):
        report.ok = False  # type: ignore[misc]  # frozen


def test_unstable_settings_raise_with_the_numbers() -> None:
    with pytest.raises(UnstableSolverError) as info:
        AdvectionDiffusion2d((32, 32), (1.0, 1.0), nu=0.0, velocity=(1.0, 0.0), dt=0.1)
    message = str(info.value)
    assert "CFL 3.2" in message and "limit 1.36" in message and "n_substeps ≥" in message
    with pytest.raises(UnstableSolverError, match="diffusion number 2.05"):
        AdvectionDiffusion1d(32, 1.0, nu=0.2, dt=0.01, scheme="central2")
    solver = AdvectionDiffusion2d((16, 16), nu=0.01, velocity=(0.5, 0.0), dt=0.01)
    with pytest.raises(UnstableSolverError, match="unstable"):
        solver(torch.randn(1, 1, 16, 16), dt=0.5)  # per-call override checked too
    report = solver.stability(dt=0.5)
    assert not report.ok and report.n_substeps_needed > 1
    assert f"n_substeps ≥ {report.n_substeps_needed}" in report.explain()


def test_needed_substeps_are_minimal_and_exact() -> None:
    solver = AdvectionDiffusion2d(
        (16, 16), nu=0.005, velocity=(2.0, -1.0), dt=0.05, n_substeps="auto", dtype=F64
    )
    n = solver.stability().n_substeps_needed
    assert n > 1
    assert solver.stability(n_substeps=n).ok
    assert not solver.stability(n_substeps=n - 1).ok
    assert solver.stability(n_substeps=n - 1).max_amplification > 1


def test_auto_substeps_make_unstable_settings_stable_and_accurate() -> None:
    m, nu, c, dt, steps = 32, 0.002, (1.0, 1.0), 0.05, 4
    with pytest.raises(UnstableSolverError):
        AdvectionDiffusion2d((m, m), nu=nu, velocity=c, dt=dt, dtype=F64)
    auto = AdvectionDiffusion2d((m, m), nu=nu, velocity=c, dt=dt, n_substeps="auto", dtype=F64)
    y, x = auto.coordinates(F64)
    k = 2 * math.pi
    z0 = torch.sin(k * (x[None, :] + y[:, None]))[None, None]
    t = dt * steps
    exact = math.exp(-nu * 2 * k * k * t) * torch.sin(
        k * (x[None, :] - c[0] * t) + k * (y[:, None] - c[1] * t)
    )
    z = auto(z0, steps)
    assert torch.isfinite(z).all()
    assert float((z[0, 0] - exact).abs().max()) < 0.01


def test_report_is_cached_by_coefficient_values() -> None:
    solver = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, 0.0))
    first = solver.stability(nu=torch.tensor([0.01, 0.02]))
    assert solver.stability(nu=torch.tensor([0.01, 0.02])) is first
    assert solver.stability(nu=torch.tensor([0.01, 0.03])) is not first


def test_per_sample_check_uses_the_worst_sample() -> None:
    solver = AdvectionDiffusion1d(32, 1.0, nu=0.0, velocity=0.5, dt=0.01)
    calm = solver.stability(velocity=torch.tensor([0.5, -0.5]))
    wild = solver.stability(velocity=torch.tensor([0.5, -5.0]))
    assert calm.ok and not wild.ok
    assert wild.cfl == pytest.approx(5.0 * 0.01 * 32)


def test_free_boundary_growth_is_reported_not_fatal() -> None:
    solver = AdvectionDiffusion1d(32, 1.0, nu=0.01, velocity=1.0, dt=0.01, boundary="free")
    report = solver.stability()
    assert report.ok
    assert 0 < report.growth_rate < 0.01  # the paper's closures: slow growth, no time step fixes it
    upwind = AdvectionDiffusion1d(32, 1.0, nu=0.01, velocity=1.0, dt=0.01, boundary="upwind")
    assert upwind.stability().growth_rate < 0


def test_learnable_checks_at_construction_and_on_request() -> None:
    with pytest.raises(UnstableSolverError):
        AdvectionDiffusion2d((16, 16), nu=0.01, velocity=(5.0, 0.0), dt=0.1, learnable=True)
    solver = AdvectionDiffusion2d(
        (16, 16), nu=0.01, velocity=(0.5, 0.0), dt=0.05, n_substeps="auto", learnable=True
    )
    n0 = solver.stability().n_substeps
    with torch.no_grad():
        solver.velocity.mul_(8.0)  # as an optimiser might
    assert solver.stability().n_substeps > n0  # refreshed on request
