"""Pressure–Poisson solver: manufactured solution, masked domains, Jacobi option, source term."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from diano.errors import ConfigError
from diano.solvers import ConvergenceWarning, PressurePoisson3d

F64 = torch.float64


def _grid(solver: PressurePoisson3d, dtype: torch.dtype = F64):
    z, y, x = solver.coordinates(dtype)
    return torch.meshgrid(z, y, x, indexing="ij")  # each (Md, Mh, Mw)


def _tube(solver: PressurePoisson3d, radius: float = 0.3) -> torch.Tensor:
    zz, yy, _ = _grid(solver)
    return (((yy - 0.5) ** 2 + (zz - 0.5) ** 2) < radius**2)[None, None]  # along x


def _velocity(solver: PressurePoisson3d, batch: int = 1):
    zz, yy, xx = _grid(solver)
    u = torch.sin(2 * xx) * torch.cos(yy) + zz
    v = torch.cos(3 * zz) * yy
    w = xx * yy * zz
    return tuple(t[None, None].expand(batch, 1, *t.shape).clone() for t in (u, v, w))


def test_manufactured_solution_converges_at_second_order() -> None:
    """p = sin(πx) sin(πy) sin(πz) on the unit cube, ∇²p = -3π²p, solved by the masked CG."""
    errs, hs = [], []
    for m in (8, 16, 32):
        solver = PressurePoisson3d((m, m, m), tol=1e-10, dtype=F64)
        zz, yy, xx = _grid(solver)
        p = torch.sin(math.pi * xx) * torch.sin(math.pi * yy) * torch.sin(math.pi * zz)
        b = (3 * math.pi**2 * p)[None, None]  # -∇²p
        mask = torch.ones(1, 1, m, m, m, dtype=F64)
        p_h = solver._solve_cg(b, mask, True)
        errs.append(float((p_h[0, 0] - p).abs().max()))
        hs.append(solver.spacing[0])
        assert solver.last_info.residual < 1e-10
    orders = [math.log(errs[i] / errs[i + 1]) / math.log(hs[i] / hs[i + 1]) for i in range(2)]
    print(
        f"\nPoisson manufactured: errors {[f'{e:.3g}' for e in errs]}, "
        f"observed orders {[f'{o:.2f}' for o in orders]} (nominal 2)"
    )
    assert min(orders) >= 1.7


def test_masked_solve_meets_tolerance_and_is_zero_outside() -> None:
    solver = PressurePoisson3d((16, 16, 16), tol=1e-8, dtype=F64)
    mask = _tube(solver)
    u, v, w = _velocity(solver)
    p = solver(u, v, w, mask)
    info = solver.last_info
    assert info.converged and info.residual < 1e-8 and info.method == "cg"
    assert torch.all(p[~mask] == 0)
    assert float(p[mask].abs().max()) > 0
    # Residual of the discrete equation on the fluid nodes, checked independently.
    f = solver.source(u, v, w)
    lap = -solver.negative_laplacian(p, mask.to(F64))
    res = (lap - f)[mask]
    assert float(res.norm() / f[mask].norm()) < 1e-8


def test_cg_matches_a_dense_solve_on_a_tiny_masked_grid() -> None:
    solver = PressurePoisson3d((5, 6, 7), (1.0, 1.2, 1.4), tol=1e-12, dtype=F64)
    mask = torch.rand(1, 1, 5, 6, 7) > 0.3
    b = torch.randn(1, 1, 5, 6, 7, dtype=F64) * mask
    n = 5 * 6 * 7
    eye = torch.eye(n, dtype=F64).reshape(n, 1, 5, 6, 7)
    fluid = mask.reshape(-1)
    a = solver.negative_laplacian(eye, mask.to(F64)).reshape(n, n)[fluid][:, fluid]
    dense = torch.linalg.solve(a, b.reshape(-1)[fluid])
    cg = solver._solve_cg(b, mask.to(F64), True).reshape(-1)
    assert torch.allclose(cg[fluid], dense, atol=1e-10)
    assert torch.all(cg[~fluid] == 0)


def test_batch_with_per_sample_masks_matches_single_solves() -> None:
    solver = PressurePoisson3d((8, 8, 8), tol=1e-10, dtype=F64)
    masks = torch.stack([_tube(solver, 0.3)[0], _tube(solver, 0.45)[0]])  # (2, 1, 8, 8, 8)
    u, v, w = _velocity(solver, batch=2)
    v = v * torch.tensor([1.0, -2.0], dtype=F64).reshape(2, 1, 1, 1, 1)
    batched = solver(u, v, w, masks, rho=torch.tensor([1.0, 1.06], dtype=F64))
    for b, rho in enumerate((1.0, 1.06)):
        alone = solver(u[b : b + 1], v[b : b + 1], w[b : b + 1], masks[b : b + 1], rho=rho)
        assert torch.allclose(batched[b : b + 1], alone, atol=1e-12)


def test_all_fluid_box_is_solved_in_one_preconditioned_iteration() -> None:
    solver = PressurePoisson3d((8, 10, 12), dtype=F64, tol=1e-12)
    u, v, w = _velocity(solver)
    p = solver(u, v, w)
    assert solver.last_info.iterations == 1 and solver.last_info.residual < 1e-12
    plain = PressurePoisson3d((8, 10, 12), dtype=F64, tol=1e-12, preconditioner="none")
    assert torch.allclose(plain(u, v, w), p, atol=1e-10)
    assert plain.last_info.iterations > 5


def test_jacobi_runs_at_most_100_iterations_and_does_not_converge_on_32_cubed() -> None:
    """The paper's Jacobi map is a fixed smoother, not a solver: on 32³ its slowest error mode
    keeps about cos(π/33)^100 ≈ 0.64 of its amplitude after the 100 sweeps."""
    jacobi = PressurePoisson3d((32, 32, 32), method="jacobi")
    cg = PressurePoisson3d((32, 32, 32), method="cg", tol=1e-6)
    mask = _tube(cg)
    u, v, w = (t.float() for t in _velocity(cg))
    p_j = jacobi(u, v, w, mask)
    p_cg = cg(u, v, w, mask)
    info = jacobi.last_info
    assert info.method == "jacobi" and info.iterations == 100 and not info.converged
    assert info.residual > 0.05
    assert float((p_j - p_cg).norm() / p_cg.norm()) > 0.1
    assert torch.all(p_j[~mask] == 0)


def test_jacobi_stops_early_when_the_update_is_small() -> None:
    solver = PressurePoisson3d((5, 5, 5), method="jacobi", max_iter=10_000, dtype=F64)
    u, v, w = _velocity(solver)
    p = solver(u, v, w)
    info = solver.last_info
    assert info.converged and info.iterations < 10_000
    reference = PressurePoisson3d((5, 5, 5), tol=1e-12, dtype=F64)(u, v, w)
    assert torch.allclose(p, reference, rtol=1e-3, atol=1e-6)


def test_source_term_against_analytic_derivatives() -> None:
    """u = x y, v = y z, w = x z have exact second-order closures; compare the source term."""
    solver = PressurePoisson3d((9, 9, 9), rho=2.0, scheme="central2", dtype=F64)
    zz, yy, xx = _grid(solver)
    u, v, w = (t[None, None] for t in (xx * yy, yy * zz, xx * zz))
    # u_x = y, v_y = z, w_z = x, u_y = x, v_x = 0, u_z = 0, w_x = z, v_z = y, w_y = 0
    expected = -2.0 * (yy**2 + zz**2 + xx**2)
    assert torch.allclose(solver.source(u, v, w)[0, 0], expected, atol=1e-10)
    oucs2 = PressurePoisson3d((9, 9, 9), rho=2.0, dtype=F64)
    assert torch.allclose(oucs2.source(u, v, w)[0, 0], expected, atol=1e-10)


def test_nonconvergence_warns_with_the_residual() -> None:
    solver = PressurePoisson3d(
        (12, 12, 12), tol=1e-12, max_iter=2, preconditioner="none", dtype=F64
    )
    u, v, w = _velocity(solver)
    with pytest.warns(ConvergenceWarning, match="relative residual"):
        solver(u, v, w, _tube(solver))
    assert not solver.last_info.converged and solver.last_info.iterations == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PressurePoisson3d((12, 12, 12), dtype=F64)(u, v, w, _tube(solver))


def test_invalid_inputs_raise_config_error() -> None:
    solver = PressurePoisson3d((6, 6, 6))
    u = torch.zeros(1, 1, 6, 6, 6)
    with pytest.raises(ConfigError, match=r"\(B, 1, 6, 6, 6\)"):
        solver(u, u, torch.zeros(1, 1, 6, 6, 5))
    with pytest.raises(ConfigError, match="mask must have shape"):
        solver(u, u, u, torch.ones(1, 6, 6, 6))
    with pytest.raises(ConfigError, match="0 and 1"):
        solver(u, u, u, torch.full((1, 1, 6, 6, 6), 0.5))
    with pytest.raises(ConfigError, match="method"):
        PressurePoisson3d((6, 6, 6), method="sor")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least 5"):
        PressurePoisson3d((4, 6, 6))


def test_float32_solve_reaches_float32_accuracy() -> None:
    solver64 = PressurePoisson3d((10, 10, 10), tol=1e-10, dtype=F64)
    u, v, w = _velocity(solver64)
    mask = _tube(solver64, 0.4)
    p64 = solver64(u, v, w, mask)
    solver32 = PressurePoisson3d((10, 10, 10))
    p32 = solver32(u.float(), v.float(), w.float(), mask)
    assert p32.dtype == torch.float32 and solver32.last_info.converged
    assert float((p32.double() - p64).norm() / p64.norm()) < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    solver = PressurePoisson3d((8, 8, 8))
    u, v, w = (t.float() for t in _velocity(solver))
    mask = _tube(solver)
    expected = solver(u, v, w, mask)
    solver.to("cuda")
    got = solver(u.cuda(), v.cuda(), w.cuda(), mask.cuda()).cpu()
    assert torch.allclose(got, expected, atol=1e-5)
