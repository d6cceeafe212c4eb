"""Latent pressure–Poisson solver on a masked 3D box (DIANO §2.5, with a converging solve).

``∇²p = -ρ (u_x² + v_y² + w_z² + 2 u_y v_x + 2 u_z w_x + 2 v_z w_y)``, the pressure–Poisson
equation of incompressible flow, maps latent velocities to a latent pressure.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from diano.errors import ConfigError
from diano.solvers.buffers import OperatorModule
from diano.solvers.krylov import (
    ConvergenceWarning,
    SolveInfo,
    pcg,
    point_jacobi,
    relative_residual,
)
from diano.solvers.stencils import SCHEMES, apply_along, first_derivative_matrix

Method = Literal["cg", "jacobi"]


def dst_matrix(n: int) -> Tensor:
    """Orthonormal DST-I matrix ``sqrt(2/(n+1)) sin(π i j / (n+1))``, symmetric, float64."""
    j = torch.arange(1, n + 1, dtype=torch.float64)
    return math.sqrt(2.0 / (n + 1)) * torch.sin(math.pi * j[:, None] * j[None, :] / (n + 1))


class _MaskedSolve(torch.autograd.Function):
    """``p = A⁻¹ b`` by PCG; the backward pass solves the adjoint system ``A λ = grad_p``.

    ``A`` (the negated masked Laplacian) is symmetric and depends only on the mask, so the
    gradient with respect to ``b`` is ``A⁻¹ grad_p``: exact up to the solver tolerance, with
    memory independent of the number of iterations. The backward uses this same Function, so
    higher derivatives work too.
    """

    @staticmethod
    def forward(
        ctx: Any, b: Tensor, mask: Tensor, solver: PressurePoisson3d, record: bool
    ) -> Tensor:
        x = solver._solve_cg(b, mask, record)
        ctx.save_for_backward(mask)
        ctx.solver = solver
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None, None]:
        (mask,) = ctx.saved_tensors
        return _MaskedSolve.apply(grad, mask, ctx.solver, False), None, None, None


class PressurePoisson3d(OperatorModule):
    """Solve ``∇²p = -ρ(u_x² + v_y² + w_z² + 2u_y v_x + 2u_z w_x + 2v_z w_y)`` on a masked box.

    **Grid.** ``shape = (Md, Mh, Mw)`` nodes in a box of ``extent = (Lz, Ly, Lx)`` (length
    units): z runs along D, y along H, x along W. The nodes are interior points
    ``x_j = (j + 1)·h`` with ``h = L/(M + 1)`` per axis, so the box faces ``x = 0`` and
    ``x = L`` lie one spacing outside the outer nodes: this is the zero padding of the
    authors' code, made geometrically exact.

    **Inputs.** ``u`` (along x), ``v`` (along y), ``w`` (along z), each ``(B, 1, Md, Mh, Mw)``;
    ``mask`` ``(B or 1, 1, Md, Mh, Mw)``, bool or 0/1, 1 on fluid nodes (``None``: all fluid).
    First derivatives use :func:`~diano.solvers.stencils.first_derivative_matrix` with
    ``"free"`` closures (OUCS2 with its positive bias, as the authors did, or central2);
    velocities are used as given (mask them beforehand if the walls should see zero).

    **Boundary conditions.** Homogeneous Dirichlet: ``p = 0`` on the box faces and on every
    non-fluid node. The returned ``p`` is multiplied by the mask.

    **Solve.** 7-point Laplacian. ``method="cg"``: conjugate gradients on ``A = -∇²_h`` restricted
    to the fluid nodes (SPD), preconditioned by the exact box inverse from sine transforms
    (``preconditioner="dst"``; one iteration when all nodes are fluid), until
    ``‖b - A p‖ ≤ tol·‖b‖`` per sample; gradients by implicit differentiation (an adjoint
    solve), exact to the tolerance and with memory independent of the iteration count.
    ``method="jacobi"``: the paper's point-Jacobi map from ``p = 0``, ``max_iter = 100`` by
    default, stopping a sample early when ``‖p_new - p‖/‖p_new‖ < tol``, gradients through the
    unrolled iterations. On 32³ it is far from converged (slowest error mode ≈ cos(π/33)¹⁰⁰ ≈
    0.64): a smoothing linear map, kept to reproduce the paper. ``last_info`` holds the last
    forward solve's :class:`~diano.solvers.krylov.SolveInfo` (iterations, true residual);
    CG that stops at ``max_iter`` above ``tol`` warns with :class:`ConvergenceWarning`. The
    stopping rule uses CG's recursive residual; in float32 the true residual reported in
    ``last_info`` levels off near 1e-6 to 1e-5 on 32³, so ask for ``tol`` ≥ 1e-5 there or
    solve in float64.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        extent: tuple[float, float, float] = (1.0, 1.0, 1.0),
        *,
        rho: float = 1.0,
        method: Method = "cg",
        tol: float = 1e-6,
        max_iter: int | None = None,
        scheme: Literal["oucs2", "central2"] = "oucs2",
        preconditioner: Literal["dst", "none"] = "dst",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if len(shape) != 3 or len(extent) != 3 or any(int(m) != m or m < 5 for m in shape):
            raise ConfigError(
                f"PressurePoisson3d needs shape=(Md, Mh, Mw) with at least 5 nodes per axis and "
                f"extent=(Lz, Ly, Lx); got shape {tuple(shape)} and extent {tuple(extent)}"
            )
        if any(not float(e) > 0 for e in extent):
            raise ConfigError(f"extent must be positive, got {tuple(extent)}")
        if method not in ("cg", "jacobi"):
            raise ConfigError(f"unknown Poisson method {method!r}; use 'cg' or 'jacobi'")
        if scheme not in SCHEMES:
            raise ConfigError(f"unknown scheme {scheme!r}; use one of {SCHEMES}")
        if preconditioner not in ("dst", "none"):
            raise ConfigError(f"unknown preconditioner {preconditioner!r}; use 'dst' or 'none'")
        if not tol > 0:
            raise ConfigError(f"tol must be positive, got {tol}")
        self.shape = tuple(int(m) for m in shape)
        self.extent = tuple(float(e) for e in extent)
        # Node spacing (hz, hy, hx): the box faces are one spacing outside the outer nodes.
        self.spacing = tuple(e / (m + 1) for e, m in zip(self.extent, self.shape, strict=True))
        self.rho = float(rho)
        self.method = method
        self.tol = float(tol)
        self.max_iter = int(
            max_iter if max_iter is not None else (100 if method == "jacobi" else 1000)
        )
        if self.max_iter < 1:
            raise ConfigError(f"max_iter must be at least 1, got {max_iter}")
        self.scheme = scheme
        self.preconditioner = preconditioner
        self.last_info: SolveInfo | None = None
        self.last_adjoint_info: SolveInfo | None = None
        dtype = dtype or torch.get_default_dtype()
        # Axis a = 0, 1, 2 is tensor dim -3, -2, -1 (z, y, x).
        inv = []
        for a, (m, h) in enumerate(zip(self.shape, self.spacing, strict=True)):
            self._register_operator(
                f"d_{a}", first_derivative_matrix(m, h, scheme, "free"), dtype, device
            )
            self._register_operator(f"dst_{a}", dst_matrix(m), dtype, device)
            k = torch.arange(1, m + 1, dtype=torch.float64)
            inv.append((2 - 2 * torch.cos(math.pi * k / (m + 1))) / h**2)
        # Eigenvalues of -∇²_h on the full box: λ_z[i] + λ_y[j] + λ_x[k], (Md, Mh, Mw).
        lam = inv[0][:, None, None] + inv[1][None, :, None] + inv[2][None, None, :]
        self._register_operator("inv_eig", 1.0 / lam, dtype, device)
        self.diagonal = sum(2.0 / h**2 for h in self.spacing)

    # ------------------------------------------------------------------------ operators
    def _neighbour_sum(self, p: Tensor) -> Tensor:
        """``Σ_a (p_{+a} + p_{-a}) / h_a²`` with zero outside the box."""
        hz, hy, hx = self.spacing
        q = F.pad(p, (1, 1, 1, 1, 1, 1))  # (B, 1, Md+2, Mh+2, Mw+2), zero ghost layer
        return (
            (q[..., 2:, 1:-1, 1:-1] + q[..., :-2, 1:-1, 1:-1]) / hz**2
            + (q[..., 1:-1, 2:, 1:-1] + q[..., 1:-1, :-2, 1:-1]) / hy**2
            + (q[..., 1:-1, 1:-1, 2:] + q[..., 1:-1, 1:-1, :-2]) / hx**2
        )

    def negative_laplacian(self, p: Tensor, mask: Tensor | None = None) -> Tensor:
        """Apply ``A p = mask·(-∇²_h (mask·p))`` (``p = 0`` outside the box and the mask)."""
        if mask is not None:
            p = p * mask
        out = self.diagonal * p - self._neighbour_sum(p)
        return out if mask is None else out * mask

    def _box_inverse(self, r: Tensor) -> Tensor:
        """Exact ``(-∇²_h)⁻¹`` on the all-fluid box by sine transforms along each axis."""
        s = r
        for a in range(3):
            s = apply_along(self._op(f"dst_{a}", r), s, a - 3)
        s = s * self._op("inv_eig", r)
        for a in range(3):
            s = apply_along(self._op(f"dst_{a}", r), s, a - 3)  # DST-I is its own inverse
        return s

    # ---------------------------------------------------------------------------- input
    def _check_fields(self, u: Tensor, v: Tensor, w: Tensor) -> None:
        expected = (1, *self.shape)
        for name, t in (("u", u), ("v", v), ("w", w)):
            if t.dim() != 5 or tuple(t.shape[1:]) != expected or not t.is_floating_point():
                raise ConfigError(
                    f"PressurePoisson3d: {name} must be a float tensor of shape (B, 1, "
                    f"{', '.join(map(str, self.shape))}), got {tuple(t.shape)} {t.dtype}"
                )
        if not (u.shape == v.shape == w.shape):
            raise ConfigError(
                f"u, v, w must have the same shape, got {tuple(u.shape)}, {tuple(v.shape)}, "
                f"{tuple(w.shape)}"
            )

    def _check_mask(self, mask: Any, u: Tensor) -> Tensor:
        expected = (1, *self.shape)
        if mask is None:
            return torch.ones((1, *expected), dtype=u.dtype, device=u.device)
        mask = torch.as_tensor(mask, device=u.device)
        if (
            mask.dim() != 5
            or tuple(mask.shape[1:]) != expected
            or mask.shape[0] not in (1, u.shape[0])
        ):
            raise ConfigError(
                f"mask must have shape (B or 1, 1, {', '.join(map(str, self.shape))}) with "
                f"B = {u.shape[0]}, got {tuple(mask.shape)}"
            )
        if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
            raise ConfigError("mask must be boolean or hold only 0 and 1")
        return mask.to(u.dtype)

    # ---------------------------------------------------------------------------- solve
    def _solve_cg(self, b: Tensor, mask: Tensor, record: bool) -> Tensor:
        mask = mask.expand_as(b)

        def apply_a(p: Tensor) -> Tensor:
            return self.negative_laplacian(p, mask)

        def precondition(r: Tensor) -> Tensor:
            return self._box_inverse(r * mask) * mask

        x, info = pcg(
            apply_a,
            b,
            precondition if self.preconditioner == "dst" else None,
            self.tol,
            self.max_iter,
        )
        if record:
            self.last_info = info
        else:
            self.last_adjoint_info = info
        if not info.converged:
            warnings.warn(
                f"PressurePoisson3d: CG {'adjoint ' if not record else ''}solve stopped after "
                f"{info.iterations} iterations with relative residual {info.residual:.3g} "
                f"> tol {self.tol:g} on a {self.shape} grid; raise max_iter or loosen tol",
                ConvergenceWarning,
                stacklevel=3,
            )
        return x

    def source(self, u: Tensor, v: Tensor, w: Tensor, rho: Any = None) -> Tensor:
        """Return the right-hand side ``f = -ρ(u_x² + v_y² + w_z² + 2u_y v_x + 2u_z w_x +
        2v_z w_y)`` of ``∇²p = f``, ``(B, 1, Md, Mh, Mw)`` (not masked)."""
        self._check_fields(u, v, w)
        dx, dy, dz = (self._op(f"d_{a}", u) for a in (2, 1, 0))

        def grad(t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
            return apply_along(dx, t, -1), apply_along(dy, t, -2), apply_along(dz, t, -3)

        (ux, uy, uz), (vx, vy, vz), (wx, wy, wz) = grad(u), grad(v), grad(w)
        s = ux * ux + vy * vy + wz * wz + 2 * (uy * vx + uz * wx + vz * wy)
        return -self._rho(rho, u) * s

    def _rho(self, rho: Any, like: Tensor) -> Tensor | float:
        if rho is None:
            return self.rho
        t = torch.as_tensor(rho, dtype=like.dtype, device=like.device)
        if t.dim() > 1 or (t.dim() == 1 and t.shape[0] not in (1, like.shape[0])):
            raise ConfigError(f"rho must be a number or one value per sample, got {tuple(t.shape)}")
        return t.reshape(-1, 1, 1, 1, 1)

    def forward(
        self, u: Tensor, v: Tensor, w: Tensor, mask: Any = None, *, rho: Any = None
    ) -> Tensor:
        """Return the latent pressure ``p`` (``(B, 1, Md, Mh, Mw)``, zero outside the mask)."""
        self._check_fields(u, v, w)
        m = self._check_mask(mask, u)
        b = -self.source(u, v, w, rho) * m  # A p = b with A = -∇²_h on fluid nodes
        if self.method == "cg":
            p = _MaskedSolve.apply(b, m, self, True)
        else:
            p, iterations, converged = point_jacobi(
                self._neighbour_sum, self.diagonal, b, m.expand_as(b), self.tol, self.max_iter
            )
            with torch.no_grad():
                res = relative_residual(lambda x: self.negative_laplacian(x, m), p, b)
            self.last_info = SolveInfo(
                "jacobi", iterations, float(res.max()), converged, tuple(float(r) for r in res)
            )
        return p * m

    def coordinates(
        self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Node coordinates ``(j + 1)·h`` per axis, in tensor order (z, y, x)."""
        return tuple(
            (torch.arange(m, dtype=dtype, device=device) + 1) * h
            for m, h in zip(self.shape, self.spacing, strict=True)
        )

    def extra_repr(self) -> str:
        return (
            f"shape={self.shape}, extent={self.extent}, rho={self.rho}, "
            f"method={self.method!r}, tol={self.tol:g}, max_iter={self.max_iter}, "
            f"scheme={self.scheme!r}, preconditioner={self.preconditioner!r}"
        )
