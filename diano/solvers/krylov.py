"""Batched iterative solvers for symmetric positive definite systems, one system per sample.

``pcg`` is preconditioned conjugate gradients with per-sample step sizes: a sample that has
converged is frozen (zero step) while the others go on, so a sample's answer does not depend
on the rest of its batch. ``point_jacobi`` is the fixed point map of the DIANO paper.
Operators are callables on ``(B, ...)`` tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

LinearMap = Callable[[Tensor], Tensor]


class ConvergenceWarning(UserWarning):
    """An iterative solve stopped at ``max_iter`` above its tolerance."""


@dataclass(frozen=True)
class SolveInfo:
    """Outcome of the last solve.

    Attributes:
        method: ``"cg"`` or ``"jacobi"``.
        iterations: Iterations performed (the largest over the batch).
        residual: Largest true relative residual ``‖b - A p‖ / ‖b‖`` over the batch.
        converged: Whether every sample met the stopping rule (CG: relative residual ≤ tol;
            Jacobi: relative update ≤ tol).
        residuals: True relative residual per sample.
    """

    method: str
    iterations: int
    residual: float
    converged: bool
    residuals: tuple[float, ...]


def _dot(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).flatten(1).sum(1)  # (B,)


def _norm(a: Tensor) -> Tensor:
    return torch.linalg.vector_norm(a.flatten(1), dim=1)  # (B,)


def _per_sample(s: Tensor, like: Tensor) -> Tensor:
    return s.reshape(-1, *([1] * (like.dim() - 1)))  # (B,) -> (B, 1, ...)


def relative_residual(apply_a: LinearMap, x: Tensor, b: Tensor) -> Tensor:
    """Per-sample ``‖b - A x‖ / ‖b‖`` (0 where ``b = 0`` and ``x = 0``)."""
    r = _norm(b - apply_a(x))
    bn = _norm(b)
    return torch.where(bn > 0, r / torch.where(bn > 0, bn, 1), r)


@torch.no_grad()
def pcg(
    apply_a: LinearMap,
    b: Tensor,
    precondition: LinearMap | None,
    tol: float,
    max_iter: int,
) -> tuple[Tensor, SolveInfo]:
    """Solve ``A x = b`` per sample by preconditioned conjugate gradients from ``x = 0``.

    Args:
        apply_a: SPD operator.
        b: Right-hand sides, ``(B, ...)``.
        precondition: SPD approximation of ``A⁻¹`` (``None`` for plain CG).
        tol: Stop a sample when ``‖r‖ ≤ tol·‖b‖``.
        max_iter: Largest number of iterations.

    Returns:
        ``(x, info)``.
    """
    x = torch.zeros_like(b)
    r = b.clone()
    z = precondition(r) if precondition is not None else r
    p = z.clone()
    rz = _dot(r, z)
    b_norm = _norm(b)
    threshold = tol * b_norm
    iterations = 0
    for _ in range(max_iter):
        active = _norm(r) > threshold  # b = 0 is never active
        if not bool(active.any()):
            break
        iterations += 1
        ap = apply_a(p)
        p_ap = _dot(p, ap)
        ok = active & (p_ap > 0)
        alpha = torch.where(ok, rz / torch.where(ok, p_ap, 1), 0)
        x = x + _per_sample(alpha, p) * p
        r = r - _per_sample(alpha, p) * ap
        z = precondition(r) if precondition is not None else r
        rz_new = _dot(r, z)
        beta = torch.where(ok, rz_new / torch.where(rz != 0, rz, 1), 0)
        p = z + _per_sample(beta, p) * p
        rz = torch.where(ok, rz_new, rz)
    converged = bool((_norm(r) <= threshold).all())
    res = relative_residual(apply_a, x, b)
    info = SolveInfo("cg", iterations, float(res.max()), converged, tuple(float(v) for v in res))
    return x, info


def point_jacobi(
    neighbour_sum: LinearMap,
    diagonal: float,
    b: Tensor,
    mask: Tensor,
    tol: float,
    max_iter: int,
) -> tuple[Tensor, int, bool]:
    """Point-Jacobi ``p ← mask·(N p + b) / d`` from ``p = 0``, differentiable (unrolled).

    ``A = d·I - N`` on the fluid cells. A sample stops when
    ``‖p_new - p‖ / ‖p_new‖ < tol`` (the paper's rule, per sample) or at ``max_iter``.

    Returns:
        ``(p, iterations, converged)``.
    """
    p = torch.zeros_like(b)
    active = torch.ones(b.shape[0], dtype=torch.bool, device=b.device)
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        p_new = mask * (neighbour_sum(p) + b) / diagonal
        with torch.no_grad():
            new_norm = _norm(p_new)
            change = _norm(p_new - p) / torch.where(new_norm > 0, new_norm, 1)
        p = torch.where(_per_sample(active, p), p_new, p)
        active = active & (change >= tol) & (new_norm > 0)
        if not bool(active.any()):
            break
    return p, iterations, not bool(active.any())
