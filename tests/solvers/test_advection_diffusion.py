"""Advection–diffusion solvers against analytic solutions, conservation laws and batching."""

from __future__ import annotations

import math

import pytest
import torch

from diano.errors import ConfigError
from diano.solvers import AdvectionDiffusion1d, AdvectionDiffusion2d
from diano.solvers.stability import rk4_amplification

F64 = torch.float64
K = 2 * math.pi


def _mode_2d(solver: AdvectionDiffusion2d, nu: float, c: tuple[float, float], t: float):
    y, x = solver.coordinates(F64)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    # z = exp(-ν|k|²t) sin(k·(x - c t)) with k = 2π(1, 1)
    return math.exp(-nu * 2 * K * K * t) * torch.sin(K * (xx - c[0] * t) + K * (yy - c[1] * t))


def _order_2d(scheme: str, nu: float, sizes=(8, 16, 32), cfl: float = 0.4, t_end: float = 0.5):
    c = (1.0, 0.5)
    errs = []
    for m in sizes:
        n_steps = round(t_end / (cfl / m))  # dt halves with h
        solver = AdvectionDiffusion2d(
            (m, m), (1.0, 1.0), nu=nu, velocity=c, dt=t_end / n_steps, scheme=scheme, dtype=F64
        )
        z = solver(_mode_2d(solver, nu, c, 0.0)[None, None], n_steps)
        errs.append(float((z[0, 0] - _mode_2d(solver, nu, c, t_end)).abs().max()))
    return errs, [math.log2(errs[i] / errs[i + 1]) for i in range(len(errs) - 1)]


def _order_1d(scheme: str, nu: float, sizes=(16, 32, 64), cfl: float = 0.4, t_end: float = 0.5):
    c = -0.8  # negative: exercises the mirrored OUCS2 operator
    errs = []
    for m in sizes:
        n_steps = round(t_end / (cfl / m))
        solver = AdvectionDiffusion1d(
            m, 1.0, nu=nu, velocity=c, dt=t_end / n_steps, scheme=scheme, dtype=F64
        )
        (x,) = solver.coordinates(F64)
        z0 = torch.sin(K * x)[None, None]
        exact = math.exp(-nu * K * K * t_end) * torch.sin(K * (x - c * t_end))
        errs.append(float((solver(z0, n_steps)[0, 0] - exact).abs().max()))
    return errs, [math.log2(errs[i] / errs[i + 1]) for i in range(len(errs) - 1)]


# Nominal orders with dt ∝ h: OUCS2 is 5th order in space, central4 4th, RK4 4th in time, so
# pure advection converges at 4; with ν > 0 the central second derivative (2nd order) dominates.
CASES = [
    ("oucs2", 0.0, 4),
    ("oucs2", 0.01, 2),
    ("central2", 0.0, 2),
    ("central2", 0.01, 2),
    ("central4", 0.0, 4),
    ("central4", 0.01, 2),
]


@pytest.mark.parametrize(("scheme", "nu", "nominal"), CASES)
def test_single_mode_2d_converges_at_nominal_order(scheme: str, nu: float, nominal: int) -> None:
    errs, orders = _order_2d(scheme, nu)
    print(
        f"\n2D {scheme} nu={nu}: errors {[f'{e:.3g}' for e in errs]}, "
        f"observed orders {[f'{o:.2f}' for o in orders]} (nominal {nominal})"
    )
    assert orders[-1] >= nominal - 0.3, orders
    assert errs[-1] < 0.05


@pytest.mark.parametrize(("scheme", "nu", "nominal"), CASES)
def test_single_mode_1d_converges_at_nominal_order(scheme: str, nu: float, nominal: int) -> None:
    errs, orders = _order_1d(scheme, nu)
    print(
        f"\n1D {scheme} nu={nu}: errors {[f'{e:.3g}' for e in errs]}, "
        f"observed orders {[f'{o:.2f}' for o in orders]} (nominal {nominal})"
    )
    assert orders[-1] >= nominal - 0.3, orders


def test_oucs2_spatial_order_is_five_when_time_error_is_negligible() -> None:
    """At CFL 0.02 the RK4 error is negligible and OUCS2's fifth-order interior shows."""
    errs, orders = _order_1d("oucs2", 0.0, cfl=0.02)
    print(
        f"\n1D oucs2 spatial (CFL 0.02): errors {[f'{e:.3g}' for e in errs]}, "
        f"observed orders {[f'{o:.2f}' for o in orders]} (nominal 5)"
    )
    assert orders[-1] >= 5 - 0.3, orders


def test_zero_velocity_is_exact_discrete_diffusion_of_a_mode() -> None:
    m, nu, dt, n = 16, 0.02, 0.01, 25
    solver = AdvectionDiffusion2d((m, m), (1.0, 1.0), nu=nu, velocity=(0.0, 0.0), dt=dt, dtype=F64)
    y, x = solver.coordinates(F64)
    z0 = (torch.sin(K * y)[:, None] * torch.cos(2 * K * x)[None, :])[None, None]
    h = 1.0 / m
    # Eigenvalue of ν∇²_h for this mode, and RK4's exact factor per step.
    lam = -nu * 4 / h**2 * (math.sin(math.pi * h) ** 2 + math.sin(2 * math.pi * h) ** 2)
    factor = float(rk4_amplification(torch.tensor(lam * dt, dtype=F64))) ** n
    z = solver(z0, n)
    assert torch.allclose(z, factor * z0, atol=1e-13)
    # ... and close to the continuous decay exp(-ν|k|²t).
    assert abs(factor - math.exp(-nu * 5 * K * K * n * dt)) < 0.03


@pytest.mark.parametrize("scheme", ["oucs2", "central2", "central4"])
@pytest.mark.parametrize("nu", [0.0, 0.01])
def test_periodic_conserves_the_mean(scheme: str, nu: float) -> None:
    solver = AdvectionDiffusion2d(
        (12, 16), (0.75, 1.0), nu=nu, velocity=(0.7, -0.4), dt=0.01, scheme=scheme, dtype=F64
    )
    z0 = torch.randn(3, 2, 12, 16, dtype=F64)
    z = solver(z0, 20)
    assert torch.allclose(z.mean((-1, -2)), z0.mean((-1, -2)), atol=1e-12)
    assert not torch.allclose(z, z0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_upwind_boundary_lets_a_pulse_leave(sign: float) -> None:
    m = 48
    solver = AdvectionDiffusion1d(
        m, 1.0, nu=1e-4, velocity=sign * 1.0, dt=0.005, boundary="upwind", dtype=F64
    )
    (x,) = solver.coordinates(F64)
    z0 = torch.exp(-(((x - 0.5) / 0.06) ** 2))[None, None]
    z_mid = solver(z0, 50)  # t = 0.25: the pulse is near the outflow edge
    peak = 0.5 + sign * 0.25
    assert abs(float(x[z_mid[0, 0].argmax()]) - peak) < 0.05
    z_end = solver(z0, 200)  # t = 1: long gone
    assert float(z_end.abs().max()) < 0.02  # left without a reflection or blow-up
    assert float(solver(z0, 400).abs().max()) < 0.02
    inflow = 0 if sign > 0 else m - 1
    assert float(z_end[0, 0, inflow]) == 0.0  # held at the inflow value


def test_upwind_x_periodic_y_in_2d_holds_inflow_column() -> None:
    def solver_with(**kwargs) -> AdvectionDiffusion2d:
        return AdvectionDiffusion2d(
            (8, 12),
            (1.0, 1.0),
            nu=0.01,
            velocity=(0.5, 0.3),
            dt=0.01,
            boundary=("upwind", "periodic"),
            dtype=F64,
            **kwargs,
        )

    z0 = torch.randn(2, 1, 8, 12, dtype=F64)
    z = solver_with()(z0, 10)
    assert torch.all(z[..., 0] == 0)  # inflow column held at 0 (x-velocity > 0)
    assert torch.isfinite(z).all()
    kept = solver_with(inflow_value=None)
    assert torch.allclose(kept(z0, 10)[..., 0], z0[..., 0])


@pytest.mark.parametrize("boundary", [("periodic", "periodic"), ("upwind", "free")])
def test_per_sample_coefficients_match_single_runs(boundary: tuple[str, str]) -> None:
    """Different ν and mixed-sign velocities in one batch equal each sample run alone."""
    nu = torch.tensor([0.0, 0.01, 0.003, 0.02], dtype=F64)
    vel = torch.tensor([[1.0, 0.5], [-0.7, 0.2], [0.3, -0.9], [-0.5, -0.5]], dtype=F64)
    solver = AdvectionDiffusion2d((10, 10), (1.0, 1.0), dt=0.01, boundary=boundary, dtype=F64)
    z0 = torch.randn(4, 2, 10, 10, dtype=F64)
    batched = solver(z0, 5, nu=nu, velocity=vel)
    for b in range(4):
        alone = solver(z0[b : b + 1], 5, nu=float(nu[b]), velocity=tuple(vel[b].tolist()))
        assert torch.allclose(batched[b : b + 1], alone, atol=1e-13), b


def test_per_channel_coefficients_match_single_runs() -> None:
    nu = torch.tensor([[0.01, 0.0], [0.002, 0.02]], dtype=F64)  # (B, C)
    vel = torch.tensor([[[1.0, 0.0], [-1.0, 0.5]], [[0.2, -0.3], [0.0, 0.0]]], dtype=F64)
    solver = AdvectionDiffusion2d((8, 8), (1.0, 1.0), dt=0.01, dtype=F64)
    z0 = torch.randn(2, 2, 8, 8, dtype=F64)
    batched = solver(z0, 4, nu=nu, velocity=vel)
    for b in range(2):
        for c in range(2):
            alone = solver(
                z0[b : b + 1, c : c + 1], 4, nu=float(nu[b, c]), velocity=tuple(vel[b, c].tolist())
            )
            assert torch.allclose(batched[b, c], alone[0, 0], atol=1e-13)


def test_1d_per_sample_mixed_sign_velocity() -> None:
    solver = AdvectionDiffusion1d(
        16, 2.0, nu=torch.tensor([0.01, 0.0, 0.02]), dt=0.02, boundary="upwind", dtype=F64
    )
    vel = torch.tensor([0.6, -0.6, 0.0], dtype=F64)
    z0 = torch.randn(3, 1, 16, dtype=F64)
    batched = solver(z0, 6, velocity=vel)
    for b in range(3):
        alone = solver(z0[b : b + 1], 6, nu=float(solver.nu[b, 0]), velocity=float(vel[b]))
        assert torch.allclose(batched[b : b + 1], alone, atol=1e-13)


def test_diagonal_velocity_in_2d_against_1d_along_each_axis() -> None:
    """A y-independent field in 2D evolves exactly as the 1D solver does along x."""
    s2 = AdvectionDiffusion2d(
        (6, 16),
        (0.5, 1.0),
        nu=0.01,
        velocity=(0.8, 0.4),
        dt=0.01,
        boundary=("free", "periodic"),
        dtype=F64,
    )
    s1 = AdvectionDiffusion1d(16, 1.0, nu=0.01, velocity=0.8, dt=0.01, boundary="free", dtype=F64)
    line = torch.randn(1, 1, 16, dtype=F64)
    z2 = s2(line[:, :, None, :].expand(1, 1, 6, 16).contiguous(), 5)
    assert torch.allclose(z2, s1(line, 5)[:, :, None, :].expand_as(z2), atol=1e-12)


def test_learnable_coefficients_are_parameters_and_get_gradients() -> None:
    solver = AdvectionDiffusion2d((8, 8), (1.0, 1.0), nu=0.01, velocity=(0.5, 0.2), learnable=True)
    names = dict(solver.named_parameters())
    assert set(names) == {"log_nu", "velocity"}
    assert torch.allclose(solver.nu, torch.tensor([[0.01]]))
    loss = solver(torch.randn(2, 1, 8, 8), 3).pow(2).sum()
    loss.backward()
    assert solver.log_nu.grad is not None and solver.velocity.grad is not None
    assert float(solver.velocity.grad.abs().sum()) > 0
    assert solver.stability().ok
    fixed = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, 0.2))
    assert list(fixed.parameters()) == [] and "nu_value" in fixed.state_dict()


def test_dtype_round_trip_keeps_exact_operators() -> None:
    solver = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, -0.2))
    assert solver.d_pos_0.dtype == torch.float32
    solver.double()
    reference = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, -0.2), dtype=F64)
    assert torch.equal(solver.d_pos_0, reference.d_pos_0)
    z = torch.randn(1, 1, 8, 8, dtype=F64)
    assert torch.allclose(solver(z), reference(z), atol=1e-15)
    z32 = solver(z.float())  # another dtype than the buffers: computed in the input's dtype
    assert z32.dtype == torch.float32


def test_step_is_true_rk4_of_the_rhs() -> None:
    """One step equals z + Σ_{k≤4} (dt L)^k z / k!, with L z = rhs(z): every stage re-evaluates
    the right-hand side (the authors' v1 "RK4" was z + dt·rhs(z)·(1 + dt/2 + ...), i.e. Euler)."""
    solver = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, -0.3), dt=0.02, dtype=F64)
    z = torch.randn(2, 1, 8, 8, dtype=F64)
    assert solver(z, 0) is z
    term, expected = z, z.clone()
    for k in range(1, 5):
        term = solver.dt / k * solver.rhs(term)
        expected = expected + term
    assert torch.allclose(solver(z), expected, atol=1e-13)
    euler_like = z + solver.dt * solver.rhs(z) * (1 + solver.dt / 2 + solver.dt**2 / 6)
    assert not torch.allclose(solver(z), euler_like, atol=1e-4)


def test_invalid_inputs_raise_config_error() -> None:
    solver = AdvectionDiffusion2d((8, 8), nu=0.01, velocity=(0.5, 0.0))
    with pytest.raises(ConfigError, match=r"\(B, C, 8, 8\)"):
        solver(torch.randn(1, 1, 8, 9))
    with pytest.raises(ConfigError, match="does not broadcast"):
        solver(torch.randn(2, 1, 8, 8), nu=torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ConfigError, match="non-negative"):
        solver(torch.randn(1, 1, 8, 8), nu=-0.1)
    with pytest.raises(ConfigError, match="2 components"):
        solver(torch.randn(1, 1, 8, 8), velocity=(1.0, 2.0, 3.0))
    with pytest.raises(ConfigError, match="unknown boundary"):
        AdvectionDiffusion2d((8, 8), boundary=("wall", "periodic"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_substeps"):
        AdvectionDiffusion1d(8, n_substeps=0)
    with pytest.raises(ConfigError, match="dt"):
        AdvectionDiffusion1d(8, dt=-1.0)


def test_float32_agrees_with_float64() -> None:
    kwargs = dict(nu=0.01, velocity=(0.6, -0.3), dt=0.01, boundary=("upwind", "free"))
    z = torch.randn(2, 1, 12, 12, dtype=F64)
    z64 = AdvectionDiffusion2d((12, 12), dtype=F64, **kwargs)(z, 10)
    z32 = AdvectionDiffusion2d((12, 12), **kwargs)(z.float(), 10)
    assert z32.dtype == torch.float32
    assert torch.allclose(z32.double(), z64, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    solver = AdvectionDiffusion2d(
        (16, 16),
        nu=torch.tensor([0.01, 0.02]),
        velocity=torch.tensor([[0.5, 0.1], [-0.5, 0.2]]),
        boundary=("upwind", "periodic"),
    )
    z = torch.randn(2, 1, 16, 16)
    expected = solver(z, 5)
    solver.to("cuda")
    assert torch.allclose(solver(z.cuda(), 5).cpu(), expected, atol=1e-5)
