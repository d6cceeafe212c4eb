"""Latent advection–diffusion solvers on a plane and on a line (DIANO §2.3–2.4, corrected).

Both classes are thin front ends of :class:`diano.solvers.method_of_lines.AdvectionDiffusionNd`
that translate the tensor-order ``shape``/``extent`` and the physical-order ``velocity`` and
``boundary`` of ``docs/architecture.md`` into its per-axis form.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from diano.errors import ConfigError
from diano.solvers.method_of_lines import AdvectionDiffusionNd, Substeps

Scheme = Literal["oucs2", "central2", "central4"]
BoundaryName = Literal["periodic", "free", "upwind"]

_COMMON_DOC = """
    **Grid and units.** An axis with ``M`` points and extent ``L`` has spacing ``h = L/M``
    (length units of ``extent``); the points are the cell centres ``x_j = (j + 1/2)·h``, so a
    periodic axis is exactly a circle of length ``L``, and the non-periodic closure rows act at
    the first and last cell centres. ``c`` is in length per time unit, ``ν`` in length² per
    time unit and ``dt`` in time units; ``forward`` advances by ``n_steps·dt``.

    **Space.** First derivative ``"oucs2"`` (upwind compact scheme, fifth order in the interior,
    second-order closures; the stencil biased to the upwind side is chosen per sample and
    channel by the sign of its velocity), ``"central2"`` or ``"central4"`` (fourth order in the
    interior, central2 in the two rows at a non-periodic end). Second derivative central
    ``(1, -2, 1)/h²`` with one-sided ``(2, -5, 4, -1)/h²`` rows at non-periodic ends. All rows
    carry their ``1/h`` (the authors' code left it off rows 1 and N-2).

    **Boundaries** (per axis): ``"periodic"``; ``"free"``, the paper's one-sided closures with
    no imposed condition (these closures give a few modes a tiny growth rate, reported as
    ``StabilityReport.growth_rate``); ``"upwind"``, inflow/outflow: on the inflow side (low
    index for ``c ≥ 0``, high index for ``c < 0``, per sample and channel) the boundary value
    is held at ``inflow_value`` (0 by default; ``None`` holds the value the input has), on the
    outflow side one-sided upwind differences let structures leave.

    **Time.** Classical RK4, each of the four stages re-evaluating the right-hand side; every
    step of ``dt`` is ``n_substeps`` RK4 steps of ``dt/n_substeps``.

    **Stability.** Checked exactly: every eigenvalue λ of the semi-discrete operator (per-axis
    eigenvalues, summed over axes) must satisfy ``|R(λ·dt/n)| ≤ max(1, |exp(λ·dt/n)|)`` with
    ``R(z) = 1 + z + z²/2 + z³/6 + z⁴/24``. Classical guides for periodic grids, per sub-step:
    CFL number ``Σ_k |c_k|·dt/h_k ≤ 1.36`` (RK4 + OUCS2), ``2.83`` (RK4 + central2) or
    ``2.06`` (RK4 + central4), and
    ``ν·dt·Σ_k 1/h_k² ≤ 0.696`` (0.348 for ``ν·dt/h²`` on a square 2D grid); OUCS2's own
    damping of short waves adds to the diffusion, so the exact check can ask for more.
    Unstable settings raise :class:`~diano.errors.UnstableSolverError` naming the numbers and
    limits, unless
    ``n_substeps="auto"``, which takes the smallest stable number of sub-steps. The check is
    cached by coefficient values; with ``learnable=True`` it runs at construction and in
    :meth:`stability`, not on every training step.

    **Coefficients.** ``nu``: a number or a tensor broadcastable to ``(B, C)`` (a length-B 1-D
    tensor is per sample). Per-call overrides in ``forward``/``rhs``/``stability`` take the
    same forms. ``learnable=True`` makes ν (through ``log ν``, so it stays positive; ν = 0
    starts at 1e-8) and the velocity ``nn.Parameter``s ("latent PDE discovery"); otherwise
    they are buffers.

    Operator matrices are float64 masters kept as buffers in the working dtype (float32 by
    default; ``.double()`` rebuilds them from the masters). Everything is differentiable, with
    no Python loop over the batch; ``dtype``/``device`` place the buffers at construction.
"""


def _boundary_pair(boundary: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(boundary, str):
        return (boundary, boundary)
    if len(boundary) != 2:
        raise ConfigError(f"boundary must be one name or a pair (bx, by), got {boundary!r}")
    return (boundary[0], boundary[1])


class AdvectionDiffusion2d(AdvectionDiffusionNd):
    """Solve ``∂z/∂t + cx ∂z/∂x + cy ∂z/∂y = ν (∂²z/∂x² + ∂²z/∂y²)`` on an ``My×Mx`` grid.

    ``z`` is ``(B, C, My, Mx)``: ``H`` runs along y, ``W`` along x. ``shape`` and ``extent``
    are in tensor order ``(y, x)``; ``velocity = (cx, cy)`` and ``boundary = (bx, by)`` are in
    physical order, e.g. ``boundary=("upwind", "periodic")`` for a wake that leaves through x
    and is periodic in y. ``velocity``: a pair or a tensor broadcastable to ``(B, C, 2)``; a
    ``(B, 2)`` tensor is per sample.
    """

    __doc__ = (__doc__ or "") + _COMMON_DOC

    def __init__(
        self,
        shape: tuple[int, int],
        extent: tuple[float, float] = (1.0, 1.0),
        *,
        nu: Any = 0.0,
        velocity: Any = (0.0, 0.0),
        dt: float = 0.01,
        n_substeps: Substeps = 1,
        scheme: Scheme = "oucs2",
        boundary: BoundaryName | tuple[BoundaryName, BoundaryName] = ("periodic", "periodic"),
        learnable: bool = False,
        inflow_value: float | None = 0.0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        if len(shape) != 2 or len(extent) != 2:
            raise ConfigError(
                f"AdvectionDiffusion2d needs shape=(My, Mx) and extent=(Ly, Lx), got shape "
                f"{tuple(shape)} and extent {tuple(extent)}"
            )
        super().__init__(
            (shape[1], shape[0]),
            (extent[1], extent[0]),
            nu=nu,
            velocity=velocity,
            dt=dt,
            n_substeps=n_substeps,
            scheme=scheme,
            boundaries=_boundary_pair(boundary),
            learnable=learnable,
            inflow_value=inflow_value,
            dtype=dtype,
            device=device,
        )

    @property
    def shape(self) -> tuple[int, int]:
        """Grid ``(My, Mx)``."""
        return (self.sizes[1], self.sizes[0])


class AdvectionDiffusion1d(AdvectionDiffusionNd):
    """Solve ``∂z/∂t + c ∂z/∂x = ν ∂²z/∂x²`` on a line of ``length`` points.

    ``z`` is ``(B, C, M)``. ``velocity`` is a scalar ``c`` with the same forms as ``nu`` (a
    number, a length-B tensor per sample, or ``(B, C)``); ``boundary`` is one name.
    """

    __doc__ = (__doc__ or "") + _COMMON_DOC

    def __init__(
        self,
        length: int,
        extent: float = 1.0,
        *,
        nu: Any = 0.0,
        velocity: Any = 0.0,
        dt: float = 0.01,
        n_substeps: Substeps = 1,
        scheme: Scheme = "oucs2",
        boundary: BoundaryName = "periodic",
        learnable: bool = False,
        inflow_value: float | None = 0.0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        if not isinstance(boundary, str):
            raise ConfigError(f"AdvectionDiffusion1d takes one boundary name, got {boundary!r}")
        super().__init__(
            (length,),
            (extent,),
            nu=nu,
            velocity=velocity,
            dt=dt,
            n_substeps=n_substeps,
            scheme=scheme,
            boundaries=(boundary,),
            learnable=learnable,
            inflow_value=inflow_value,
            dtype=dtype,
            device=device,
        )

    @property
    def length(self) -> int:
        """Number of grid points ``M``."""
        return self.sizes[0]
