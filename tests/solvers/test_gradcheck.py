"""float64 ``torch.autograd.gradcheck`` of every solver path on tiny grids."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from diano.solvers import AdvectionDiffusion1d, AdvectionDiffusion2d, PressurePoisson3d

F64 = torch.float64


def _latent(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=F64, requires_grad=True)


def test_gradcheck_2d_step_wrt_latent() -> None:
    solver = AdvectionDiffusion2d(
        (6, 6), nu=0.02, velocity=(0.7, -0.4), dt=0.01, boundary=("upwind", "periodic"), dtype=F64
    )
    assert gradcheck(lambda z: solver(z), (_latent(2, 1, 6, 6),))


def test_gradcheck_2d_three_step_rollout_oucs2_free() -> None:
    solver = AdvectionDiffusion2d(
        (6, 6), nu=0.01, velocity=(0.5, 0.5), dt=0.01, boundary="free", dtype=F64
    )
    assert gradcheck(lambda z: solver(z, 3), (_latent(1, 2, 6, 6),))


def test_gradcheck_2d_wrt_learnable_nu_and_velocity() -> None:
    solver = AdvectionDiffusion2d(
        (6, 6), nu=0.02, velocity=(0.6, -0.3), dt=0.01, learnable=True, dtype=F64
    )
    z = torch.randn(2, 1, 6, 6, dtype=F64)
    log_nu = solver.log_nu.detach().clone().requires_grad_(True)
    velocity = solver.velocity.detach().clone().requires_grad_(True)

    def step(log_nu: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        return functional_call(solver, {"log_nu": log_nu, "velocity": velocity}, (z,))

    assert gradcheck(step, (log_nu, velocity))


@pytest.mark.parametrize("scheme", ["central2", "central4"])
def test_gradcheck_per_sample_overrides_with_mixed_signs(scheme: str) -> None:
    solver = AdvectionDiffusion2d((6, 6), dt=0.01, scheme=scheme, dtype=F64)
    nu = torch.tensor([0.01, 0.03], dtype=F64, requires_grad=True)
    vel = torch.tensor([[0.5, -0.2], [-0.4, 0.3]], dtype=F64, requires_grad=True)
    z = _latent(2, 1, 6, 6)
    assert gradcheck(lambda z, nu, vel: solver(z, nu=nu, velocity=vel), (z, nu, vel))


def test_gradcheck_1d() -> None:
    solver = AdvectionDiffusion1d(
        8, 1.0, nu=0.01, velocity=-0.6, dt=0.02, boundary="upwind", learnable=True, dtype=F64
    )
    assert gradcheck(lambda z: solver(z, 3), (_latent(2, 1, 8),))
    log_nu = solver.log_nu.detach().clone().requires_grad_(True)
    velocity = solver.velocity.detach().clone().requires_grad_(True)
    z = torch.randn(2, 1, 8, dtype=F64)
    assert gradcheck(
        lambda a, c: functional_call(solver, {"log_nu": a, "velocity": c}, (z,)),
        (log_nu, velocity),
    )


def test_gradcheck_poisson_cg_implicit_differentiation() -> None:
    """Through the source term and the adjoint CG solve, on 6³ with a mask."""
    solver = PressurePoisson3d((6, 6, 6), tol=1e-13, dtype=F64)
    mask = torch.zeros(1, 1, 6, 6, 6, dtype=torch.bool)
    mask[..., 1:5, 1:6, :] = True
    mask[..., 2, 2, 0] = False
    u, v, w = (_latent(1, 1, 6, 6, 6) for _ in range(3))
    # fast_mode compares J·t with finite differences along random directions: the same check
    # with far fewer solves than building the full 648-column Jacobian.
    assert gradcheck(lambda u, v, w: solver(u, v, w, mask), (u, v, w), fast_mode=True)
    full_u = gradcheck(lambda u: solver(u, v.detach(), w.detach(), mask), (u,))
    assert full_u
    assert solver.last_adjoint_info is not None and solver.last_adjoint_info.converged


def test_gradcheck_poisson_jacobi_unrolled() -> None:
    solver = PressurePoisson3d(
        (5, 5, 5), method="jacobi", max_iter=20, scheme="central2", dtype=F64
    )
    u, v, w = (_latent(1, 1, 5, 5, 5) for _ in range(3))
    assert gradcheck(lambda u, v, w: solver(u, v, w), (u, v, w), fast_mode=True)
