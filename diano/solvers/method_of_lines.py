"""Generic method-of-lines advection–diffusion on a tensor-product grid (DIANO §2.3–2.4).

``∂z/∂t + c·∇z = ν∇²z`` by the method of lines: dense per-axis difference matrices
(:mod:`diano.solvers.stencils`) applied with matmul, the classical four-stage RK4 in time
(each stage re-evaluates the right-hand side), and an exact eigenvalue stability check
(:mod:`diano.solvers.stability`). One generic implementation, :class:`AdvectionDiffusionNd`,
serves both ``AdvectionDiffusion1d`` and ``AdvectionDiffusion2d``
(:mod:`diano.solvers.advection_diffusion`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from diano.errors import ConfigError, UnstableSolverError
from diano.solvers.buffers import OperatorModule
from diano.solvers.coefficients import as_nu, as_velocity, check_broadcast
from diano.solvers.stability import AxisSpec, StabilityReport, analyse
from diano.solvers.stencils import (
    BOUNDARIES,
    SCHEMES,
    apply_along,
    first_derivative_matrix,
    second_derivative_matrix,
)

Substeps = int | Literal["auto"]
_LEARNABLE_NU_FLOOR = 1e-8  # log(ν) cannot represent ν = 0
_CACHE_SIZE = 128


def rk4_step(rhs: Callable[[Tensor], Tensor], z: Tensor, tau: float) -> Tensor:
    """Advance ``dz/dt = rhs(z)`` by one classical RK4 step of size ``tau``."""
    k1 = rhs(z)
    k2 = rhs(torch.add(z, k1, alpha=tau / 2))
    k3 = rhs(torch.add(z, k2, alpha=tau / 2))
    k4 = rhs(torch.add(z, k3, alpha=tau))
    return z + (tau / 6) * (k1 + 2 * (k2 + k3) + k4)


class AdvectionDiffusionNd(OperatorModule):
    """Advection–diffusion on a tensor-product grid; axes are given in physical order (x, y).

    Physical axis ``k`` (x, y, ...) is tensor dimension ``-(k + 1)`` of ``z``: x is the last
    dimension (W), y the one before (H). The public subclasses document the equation,
    boundaries, units and stability limit; this class holds the shared machinery.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        extents: Sequence[float],
        *,
        nu: Any,
        velocity: Any,
        dt: float,
        n_substeps: Substeps,
        scheme: str,
        boundaries: Sequence[str],
        learnable: bool,
        inflow_value: float | None,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
    ) -> None:
        super().__init__()
        n_axes = len(sizes)
        if len(extents) != n_axes or len(boundaries) != n_axes:
            raise ConfigError(
                f"{type(self).__name__}: sizes {tuple(sizes)}, extents {tuple(extents)} and "
                f"boundaries {tuple(boundaries)} must each give {n_axes} axes"
            )
        if scheme not in SCHEMES:
            raise ConfigError(f"unknown scheme {scheme!r}; use one of {SCHEMES}")
        for b in boundaries:
            if b not in BOUNDARIES:
                raise ConfigError(f"unknown boundary {b!r}; use one of {BOUNDARIES}")
        for m, ext in zip(sizes, extents, strict=True):
            if int(m) != m or m < 1 or not float(ext) > 0:
                raise ConfigError(
                    f"grid sizes must be positive integers and extents positive, got sizes "
                    f"{tuple(sizes)} and extents {tuple(extents)}"
                )
        self.n_axes = n_axes
        self.sizes = tuple(int(m) for m in sizes)
        self.extents = tuple(float(e) for e in extents)
        self.spacings = tuple(e / m for e, m in zip(self.extents, self.sizes, strict=True))
        self.boundaries = tuple(boundaries)
        self.scheme = scheme
        self.learnable = bool(learnable)
        self.inflow_value = None if inflow_value is None else float(inflow_value)
        self.dt = _positive_dt(dt)
        self.n_substeps = _check_substeps(n_substeps)
        dtype = dtype or torch.get_default_dtype()

        self._reports: OrderedDict[tuple, StabilityReport] = OrderedDict()
        self._axis_specs: list[AxisSpec] = []
        self._mirror_differs: list[bool] = []
        axes = zip(self.sizes, self.spacings, self.boundaries, strict=True)
        for k, (m, h, bnd) in enumerate(axes):
            d_pos = first_derivative_matrix(m, h, scheme, bnd, 1)
            d_neg = first_derivative_matrix(m, h, scheme, bnd, -1)
            d2 = second_derivative_matrix(m, h, bnd)
            self._axis_specs.append(AxisSpec(d_pos, d_neg, d2, h, bnd))
            self._mirror_differs.append(not torch.equal(d_pos, d_neg))
            self._register_operator(f"d_pos_{k}", d_pos, dtype, device)
            self._register_operator(f"d_neg_{k}", d_neg, dtype, device)
            self._register_operator(f"d2_{k}", d2, dtype, device)
            if bnd == "upwind":
                # Keep-masks of the right-hand side: 0 at the held inflow node.
                keep_pos = torch.ones(m, dtype=torch.float64)
                keep_pos[0] = 0.0  # c >= 0: inflow at the low-index end
                keep_neg = keep_pos.flip(0)  # c < 0: inflow at the high-index end
                self._register_operator(f"keep_pos_{k}", keep_pos, dtype, device)
                self._register_operator(f"keep_neg_{k}", keep_neg, dtype, device)

        nu_t = as_nu(nu).detach().to(dtype=dtype, device=device)
        vel_t = as_velocity(velocity, n_axes).detach().to(dtype=dtype, device=device)
        if self.learnable:
            self.log_nu = nn.Parameter(torch.log(nu_t.clamp(min=_LEARNABLE_NU_FLOOR)))
            self.velocity = nn.Parameter(vel_t.clone())
        else:
            self.register_buffer("nu_value", nu_t.clone())
            self.register_buffer("velocity", vel_t.clone())
        # Checked once here (raises for unstable fixed sub-steps); with learnable=True this
        # value is reused until stability() is called again.
        self._checked_substeps = self._substeps(self.nu, self.velocity, self.dt, self.n_substeps)

    # ------------------------------------------------------------------------ coefficients
    @property
    def nu(self) -> Tensor:
        """Current viscosity, ``(B', C')``."""
        return torch.exp(self.log_nu) if self.learnable else self.nu_value

    def coordinates(
        self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> tuple[Tensor, ...]:
        """Cell-centre coordinates ``(j + 1/2)·h`` per axis, in tensor order (..., y, x)."""
        return tuple(
            (torch.arange(m, dtype=dtype, device=device) + 0.5) * h
            for m, h in reversed(list(zip(self.sizes, self.spacings, strict=True)))
        )

    def _coefficients(self, nu: Any, velocity: Any, z: Tensor) -> tuple[Tensor, Tensor]:
        nu_t = self.nu if nu is None else as_nu(nu)
        vel_t = self.velocity if velocity is None else as_velocity(velocity, self.n_axes)
        check_broadcast(nu_t, z.shape[0], z.shape[1], "nu")
        check_broadcast(vel_t, z.shape[0], z.shape[1], "velocity")
        return nu_t.to(dtype=z.dtype, device=z.device), vel_t.to(dtype=z.dtype, device=z.device)

    # --------------------------------------------------------------------------- stability
    def _report(self, nu_t: Tensor, vel_t: Tensor, dt: float, n_sub: Substeps) -> StabilityReport:
        nu64 = nu_t.detach().to("cpu", torch.float64)
        vel64 = vel_t.detach().to("cpu", torch.float64)
        key = (
            nu64.numpy().tobytes(),
            tuple(nu64.shape),
            vel64.numpy().tobytes(),
            tuple(vel64.shape),
            float(dt),
            n_sub,
        )
        report = self._reports.get(key)
        if report is not None:
            self._reports.move_to_end(key)
            return report
        nu_b, vel_b = torch.broadcast_tensors(nu64[..., None], vel64)  # (B'', C'', n_axes)
        rows = torch.cat([nu_b[..., :1], vel_b], dim=-1).reshape(-1, 1 + self.n_axes)
        rows = torch.unique(rows, dim=0)  # one eigen-analysis per distinct coefficient set
        report = analyse(
            self._axis_specs,
            rows[:, 0],
            rows[:, 1:],
            dt,
            None if n_sub == "auto" else int(n_sub),
            self.scheme,
        )
        self._reports[key] = report
        if len(self._reports) > _CACHE_SIZE:
            self._reports.popitem(last=False)
        return report

    def _substeps(self, nu_t: Tensor, vel_t: Tensor, dt: float, n_sub: Substeps) -> int:
        report = self._report(nu_t, vel_t, dt, n_sub)
        if not report.ok:
            raise UnstableSolverError(
                f"{type(self).__name__} with dt={dt:g}, n_substeps={n_sub}, scheme "
                f"{self.scheme!r}, boundary {self.boundaries} is unstable: {report.explain()}"
            )
        return report.n_substeps

    def stability(
        self,
        nu: Any = None,
        velocity: Any = None,
        dt: float | None = None,
        n_substeps: Substeps | None = None,
    ) -> StabilityReport:
        """Return the stability report for the stored or the given settings (never raises).

        Coefficients take the same forms as in :meth:`forward`. With ``learnable=True`` this
        also refreshes the sub-step count used by :meth:`forward` for the learned values.
        """
        nu_t = self.nu if nu is None else as_nu(nu)
        vel_t = self.velocity if velocity is None else as_velocity(velocity, self.n_axes)
        step = self.dt if dt is None else _positive_dt(dt)
        n_sub = self.n_substeps if n_substeps is None else _check_substeps(n_substeps)
        report = self._report(nu_t, vel_t, step, n_sub)
        if self.learnable and nu is None and velocity is None and dt is None and report.ok:
            self._checked_substeps = report.n_substeps
        return report

    # ------------------------------------------------------------------------- operators
    def _operators(self, nu_t: Tensor, vel_t: Tensor, like: Tensor) -> list[Tensor]:
        """Per-axis ``L_k = -c_k D_k + ν D2_k``: ``(M, M)`` or ``(B', C', M, M)``."""
        ops = []
        nu4 = nu_t[..., None, None]  # (B', C', 1, 1)
        for k in range(self.n_axes):
            c4 = vel_t[..., k][..., None, None]  # (B', C', 1, 1)
            d = self._op(f"d_pos_{k}", like)
            if self._mirror_differs[k]:
                # Upwind bias chosen per sample/channel by the sign of its velocity.
                d = torch.where(c4 >= 0, d, self._op(f"d_neg_{k}", like))
            op = -c4 * d + nu4 * self._op(f"d2_{k}", like)  # (B', C', M, M)
            ops.append(op[0, 0] if op.shape[:2] == (1, 1) else op)
        return ops

    def _keep_mask(self, vel_t: Tensor, like: Tensor) -> Tensor | None:
        """Product of the upwind axes' keep-masks, ``(B', C', ...)``; ``None`` if no upwind axis."""
        mask = None
        for k in range(self.n_axes):
            if self.boundaries[k] != "upwind":
                continue
            c3 = vel_t[..., k][..., None]  # (B', C', 1)
            keep = torch.where(
                c3 >= 0, self._op(f"keep_pos_{k}", like), self._op(f"keep_neg_{k}", like)
            )  # (B', C', M_k)
            # Put M_k on tensor dim -(k + 1): (B', C', 1, ..., M_k, 1 * k).
            shape = (*keep.shape[:2], *([1] * (self.n_axes - 1 - k)), keep.shape[-1], *([1] * k))
            keep = keep.reshape(shape)
            mask = keep if mask is None else mask * keep
        return mask

    def _rhs_fn(self, ops: list[Tensor], mask: Tensor | None) -> Callable[[Tensor], Tensor]:
        def rhs(z: Tensor) -> Tensor:
            out = apply_along(ops[0], z, -1)
            for k in range(1, self.n_axes):
                out = out + apply_along(ops[k], z, -(k + 1))
            return out if mask is None else out * mask

        return rhs

    def _check_latent(self, z: Tensor) -> None:
        expected = tuple(reversed(self.sizes))
        if z.dim() != 2 + self.n_axes or tuple(z.shape[2:]) != expected:
            raise ConfigError(
                f"{type(self).__name__} expects a latent of shape (B, C, "
                f"{', '.join(map(str, expected))}), got {tuple(z.shape)}"
            )
        if not z.is_floating_point():
            raise ConfigError(f"latent must be a floating-point tensor, got {z.dtype}")

    # --------------------------------------------------------------------------- public
    def rhs(self, z: Tensor, nu: Any = None, velocity: Any = None) -> Tensor:
        """Return ``dz/dt = -c·∇z + ν∇²z`` (zero at held inflow nodes), same shape as ``z``."""
        self._check_latent(z)
        nu_t, vel_t = self._coefficients(nu, velocity, z)
        return self._rhs_fn(self._operators(nu_t, vel_t, z), self._keep_mask(vel_t, z))(z)

    def forward(
        self,
        z: Tensor,
        n_steps: int = 1,
        *,
        nu: Any = None,
        velocity: Any = None,
        dt: float | None = None,
        n_substeps: Substeps | None = None,
    ) -> Tensor:
        """Advance ``z`` by ``n_steps`` steps of size ``dt``, each of ``n_substeps`` RK4 steps.

        Args:
            z: Latent, ``(B, C, *shape)``.
            n_steps: Number of steps (0 returns ``z``).
            nu: Override of ν for this call (same forms as the constructor's).
            velocity: Override of the velocity for this call.
            dt: Override of the step size.
            n_substeps: Override of the sub-steps (an int or ``"auto"``).

        Returns:
            The latent after ``n_steps`` steps, same shape as ``z``.

        Raises:
            UnstableSolverError: The settings are unstable and ``n_substeps`` is not "auto".
        """
        self._check_latent(z)
        if int(n_steps) != n_steps or n_steps < 0:
            raise ConfigError(f"n_steps must be a non-negative integer, got {n_steps}")
        if n_steps == 0:
            return z
        nu_t, vel_t = self._coefficients(nu, velocity, z)
        step = self.dt if dt is None else _positive_dt(dt)
        mode = self.n_substeps if n_substeps is None else _check_substeps(n_substeps)
        if self.learnable and nu is None and velocity is None and dt is None:
            # Learned coefficients change every optimiser step; they are checked at
            # construction and by stability(), not on every call.
            n_sub = self._checked_substeps if mode == "auto" else int(mode)
        else:
            n_sub = self._substeps(nu_t, vel_t, step, mode)
        mask = self._keep_mask(vel_t, z)
        if mask is not None and self.inflow_value is not None:
            z = z * mask + self.inflow_value * (1 - mask)
        rhs = self._rhs_fn(self._operators(nu_t, vel_t, z), mask)
        tau = step / n_sub
        for _ in range(int(n_steps) * n_sub):
            z = rk4_step(rhs, z, tau)
        return z

    def extra_repr(self) -> str:
        return (
            f"shape={tuple(reversed(self.sizes))}, extent={tuple(reversed(self.extents))}, "
            f"scheme={self.scheme!r}, boundary={self.boundaries}, dt={self.dt}, "
            f"n_substeps={self.n_substeps!r}, learnable={self.learnable}"
        )


def _positive_dt(dt: Any) -> float:
    value = float(dt)
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"dt must be a positive finite number, got {dt!r}")
    return value


def _check_substeps(n: Any) -> Substeps:
    if n == "auto":
        return "auto"
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n_substeps must be a positive integer or 'auto', got {n!r}")
    return n
