"""Exact linear stability of RK4 applied to the advection–diffusion operators.

The semi-discrete operator of one axis is ``L = -c D + ν D2`` with the small fixed matrices of
:mod:`diano.solvers.stencils`. On a tensor-product grid the full operator is the Kronecker sum
of the axis operators, so its eigenvalues are all sums ``λ_x + λ_y (+ ...)`` of per-axis
eigenvalues. Periodic axes are circulant (eigenvalues = FFT of the first column); other axes
use ``torch.linalg.eigvals`` on the ``M×M`` matrix, with the inflow row and column removed for
``"upwind"`` axes (the inflow value is held fixed, so it is not a degree of freedom).

One RK4 step of size ``τ`` multiplies the mode of eigenvalue λ by
``R(λτ) = 1 + λτ + (λτ)²/2 + (λτ)³/6 + (λτ)⁴/24``. A step is stable when no mode grows more
than the exact flow lets it: ``|R(λτ)| ≤ max(1, |exp(λτ)|)``. (The paper's non-periodic "free"
closures give the semi-discrete operator a few modes with a tiny positive growth rate; no time
step can remove that, so it is reported as ``growth_rate`` rather than as instability.)
The smallest number of sub-steps ``n`` that makes every mode stable is ``n_substeps_needed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from diano.errors import UnstableSolverError

_REL_TOL = 1e-9  # slack on |R| for rounding in float64 eigenvalues
_MAX_SUBSTEPS = 1_000_000


def rk4_amplification(z: Tensor) -> Tensor:
    """Return ``R(z) = 1 + z + z²/2 + z³/6 + z⁴/24``, the RK4 factor for ``z = λτ``."""
    return 1 + z * (1 + z * (0.5 + z * (1.0 / 6.0 + z / 24.0)))


def _largest_stable(symbol: Tensor) -> float:
    """Largest ``s`` with ``|R(s·σ)| ≤ 1`` for every ``σ`` in ``symbol`` (bisection)."""
    lo, hi = 0.0, 8.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if bool((rk4_amplification(mid * symbol).abs() <= 1 + 1e-12).all()):
            lo = mid
        else:
            hi = mid
    return lo


@cache
def cfl_limit(scheme: str) -> float:
    """RK4 limit on ``|c|·τ/h`` for periodic pure advection with the given scheme."""
    from diano.solvers.stencils import oucs2_coefficients

    theta = torch.linspace(0.0, 2.0 * math.pi, 8193, dtype=torch.float64)
    if scheme == "oucs2":
        lhs, rhs = oucs2_coefficients()
        num = sum(
            float(q) * torch.exp(1j * m * theta) for q, m in zip(rhs, range(-2, 3), strict=True)
        )
        den = sum(
            float(p) * torch.exp(1j * k * theta) for p, k in zip(lhs, range(-1, 2), strict=True)
        )
        symbol = -(num / den)  # eigenvalues of -D·h for c > 0
    elif scheme == "central4":
        symbol = -1j * ((8.0 * torch.sin(theta) - torch.sin(2.0 * theta)) / 6.0).to(
            torch.complex128
        )
    else:
        symbol = -1j * torch.sin(theta).to(torch.complex128)
    return _largest_stable(symbol)


@cache
def diffusion_limit_1d() -> float:
    """RK4 limit on ``ν·τ/h²`` for the periodic ``(1, -2, 1)/h²`` operator on one axis."""
    return _largest_stable(torch.tensor([-4.0 + 0j], dtype=torch.complex128))


@dataclass(frozen=True)
class AxisSpec:
    """The float64 operator matrices of one axis, used for the eigenvalue analysis.

    Attributes:
        d_pos: First derivative biased for ``c ≥ 0``, ``(M, M)``.
        d_neg: Its mirror for ``c < 0``, ``(M, M)``.
        d2: Second derivative, ``(M, M)``.
        h: Grid spacing.
        boundary: ``"periodic"``, ``"free"`` or ``"upwind"``.
    """

    d_pos: Tensor
    d_neg: Tensor
    d2: Tensor
    h: float
    boundary: str


def axis_eigenvalues(spec: AxisSpec, c: Tensor, nu: Tensor) -> Tensor:
    """Eigenvalues of ``-c D + ν D2`` for K coefficient pairs.

    Args:
        spec: Operators of the axis.
        c: ``(K,)`` float64 velocities along the axis.
        nu: ``(K,)`` float64 viscosities.

    Returns:
        ``(K, m)`` complex128, with ``m = M`` (``M - 1`` for upwind axes).
    """
    pos = (c >= 0)[:, None]
    if spec.boundary == "periodic":
        # Circulant: eigenvalues are the DFT of the first column.
        s_pos = torch.fft.fft(spec.d_pos[:, 0].to(torch.complex128))
        s_neg = torch.fft.fft(spec.d_neg[:, 0].to(torch.complex128))
        s_d2 = torch.fft.fft(spec.d2[:, 0].to(torch.complex128))
        s_d = torch.where(pos, s_pos[None], s_neg[None])  # (K, M)
        return -c[:, None] * s_d + nu[:, None] * s_d2[None]
    d = torch.where(pos[..., None], spec.d_pos[None], spec.d_neg[None])  # (K, M, M)
    ops = -c[:, None, None] * d + nu[:, None, None] * spec.d2[None]
    if spec.boundary == "upwind":
        # Drop the held inflow node: index 0 for c >= 0, index M-1 for c < 0.
        ops = torch.where(pos[..., None], ops.roll((-1, -1), (1, 2)), ops)[:, :-1, :-1]
    return torch.linalg.eigvals(ops)


def _stable(lam_dt: Tensor, n: int) -> bool:
    z = lam_dt / n
    bound = torch.clamp(torch.exp(z.real), min=1.0)  # |exp(z)| = exp(Re z)
    return bool((rk4_amplification(z).abs() <= bound * (1 + _REL_TOL)).all())


def substeps_needed(lam_dt: Tensor) -> int:
    """Smallest ``n`` with every ``R(λ·dt/n)`` stable (doubling, then bisection)."""
    if _stable(lam_dt, 1):
        return 1
    hi = 2
    while not _stable(lam_dt, hi):
        hi *= 2
        if hi > _MAX_SUBSTEPS:
            raise UnstableSolverError(
                f"no number of RK4 sub-steps up to {_MAX_SUBSTEPS} makes this step stable "
                f"(largest |λ·dt| = {float(lam_dt.abs().max()):.3g})"
            )
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _stable(lam_dt, mid):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class StabilityReport:
    """Stability of one solver step (RK4 in time, ``n_substeps`` sub-steps of ``dt/n``).

    Attributes:
        scheme: First-derivative scheme (``"oucs2"``, ``"central2"`` or ``"central4"``).
        dt: Step size (time units).
        n_substeps: Sub-steps per step the report was made for.
        cfl: Largest ``Σ_k |c_k|·dt/h_k`` over samples and channels (per step, not
            sub-step); on a line, or for flow along one axis, this is ``|c|·dt/h``.
        diffusion_number: Largest ``ν·dt/h_min²`` (per step).
        cfl_limit: RK4 + scheme limit of ``|c|·τ/h`` per sub-step (periodic pure advection).
        diffusion_limit: RK4 limit of ``ν·τ/h_min²`` per sub-step (periodic pure diffusion on
            this grid's axes).
        max_amplification: Largest ``|R(λ·dt/n)|`` over the operator's eigenvalues.
        growth_rate: Largest real part of the semi-discrete eigenvalues (per time unit);
            positive only for the paper's "free" closures, whose slow growth no step removes.
        n_substeps_needed: Smallest number of sub-steps that is stable.
        ok: Whether ``n_substeps`` sub-steps are stable.
    """

    scheme: str
    dt: float
    n_substeps: int
    cfl: float
    diffusion_number: float
    cfl_limit: float
    diffusion_limit: float
    max_amplification: float
    growth_rate: float
    n_substeps_needed: int
    ok: bool

    def explain(self) -> str:
        """Say in one sentence whether the step is stable and what would make it so."""
        n = self.n_substeps
        per = f" per sub-step ({n} sub-steps)" if n > 1 else ""
        cfl, dif = self.cfl / n, self.diffusion_number / n
        name = f"RK4 + {self.scheme.upper()}"
        if self.ok:
            text = (
                f"stable: CFL {cfl:.3g}{per} (limit {self.cfl_limit:.3g}), diffusion number "
                f"{dif:.3g} (limit {self.diffusion_limit:.3g}), max |R| "
                f"{self.max_amplification:.4g}"
            )
            if self.growth_rate > 1e-12:
                text += (
                    f"; the non-periodic closures let some modes grow at {self.growth_rate:.2g} "
                    f"per time unit"
                )
            return text
        fix = f"use n_substeps ≥ {self.n_substeps_needed} (or n_substeps='auto') or a smaller dt"
        if cfl > self.cfl_limit:
            return f"CFL {cfl:.3g}{per} exceeds the {name} limit {self.cfl_limit:.3g}; {fix}"
        if dif > self.diffusion_limit:
            return (
                f"diffusion number {dif:.3g}{per} exceeds the RK4 limit "
                f"{self.diffusion_limit:.3g}; {fix}"
            )
        return (
            f"CFL {cfl:.3g}{per} (limit {self.cfl_limit:.3g}) and diffusion number {dif:.3g} "
            f"(limit {self.diffusion_limit:.3g}) together leave the {name} stability region "
            f"(max |R| = {self.max_amplification:.4g} > 1); {fix}"
        )


def analyse(
    axes: list[AxisSpec],
    nu: Tensor,
    velocity: Tensor,
    dt: float,
    n_substeps: int | None,
    scheme: str,
) -> StabilityReport:
    """Analyse the stability of RK4 on the Kronecker-sum operator of ``axes``.

    Args:
        axes: One spec per physical axis (x, y, ...).
        nu: ``(K,)`` float64 viscosities, one per distinct coefficient set.
        velocity: ``(K, n_axes)`` float64 velocities, components in the order of ``axes``.
        dt: Step size.
        n_substeps: Sub-steps in use; ``None`` reports for ``n_substeps_needed``.
        scheme: First-derivative scheme name (for the limits and the text).

    Returns:
        The report.
    """
    lam = None
    for k, spec in enumerate(axes):
        ev = axis_eigenvalues(spec, velocity[:, k], nu)  # (K, m_k)
        # Kronecker sum: (K, m_0 * ... * m_{k-1}, 1) + (K, 1, m_k), flattened back to (K, -1).
        lam = ev if lam is None else (lam[:, :, None] + ev[:, None, :]).reshape(len(nu), -1)
    lam_dt = lam * dt
    needed = substeps_needed(lam_dt)
    n = needed if n_substeps is None else n_substeps
    h_min = min(a.h for a in axes)
    # Multi-dimensional CFL number Σ_k |c_k|·dt/h_k (|c|·dt/h on a line or along one axis).
    cfl = float(sum(velocity[:, k].abs() * dt / a.h for k, a in enumerate(axes)).max())
    weight = sum((h_min / a.h) ** 2 for a in axes)
    return StabilityReport(
        scheme=scheme,
        dt=float(dt),
        n_substeps=int(n),
        cfl=cfl,
        diffusion_number=float(nu.max()) * dt / h_min**2,
        cfl_limit=cfl_limit(scheme),
        diffusion_limit=diffusion_limit_1d() / weight,
        max_amplification=float(rk4_amplification(lam_dt / n).abs().max()),
        growth_rate=float(lam.real.max()),
        n_substeps_needed=needed,
        ok=_stable(lam_dt, n),
    )
