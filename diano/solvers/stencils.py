"""Finite-difference operator matrices on a uniform line, and their application along an axis.

Three first-derivative schemes: ``"central2"``, ``(-1, 0, 1)/(2h)``; ``"central4"``,
``(1, -8, 0, 8, -1)/(12h)``, fourth order and far less dispersive (a wave of 8 cells moves at
99 % of its speed, against 90 % with central2), with the central2 rows next to a non-periodic
edge; and ``"oucs2"``, the optimal upwind compact scheme used by DIANO (Viknesh & Arzani,
arXiv 2510.00233; Sengupta-type OUCS2), written in its general form with free parameters
``p33`` and ``a`` (``a`` is the scheme's η) and evaluated in exact fractions::

    p32 f'_{j-1} + p33 f'_j + p34 f'_{j+1} = (1/h) (q31 f_{j-2} + ... + q35 f_{j+2})

With ``p33 = 36`` and ``a = -40`` this is ``15.3333 f'_{j-1} + 36 f'_j + 8.6667 f'_{j+1} =
(1/h)[-1.5556, -32.4444, 10, 23.5556, 0.4444]``: fifth-order accurate, with an even-order
(dissipative) truncation term that damps modes when the advection velocity is positive.
The mirrored operator ``-J D J`` (``J`` reverses the grid) is the upwind choice for negative
velocity.

Non-periodic ("free") closures follow the paper, each divided by ``h`` (the authors' code
forgot the ``1/h`` on rows 1 and N-2): rows 0 and N-1 are the one-sided second-order
differences ``(-3, 4, -1)/(2h)`` and ``(1, -4, 3)/(2h)``; rows 1 and N-2 are the explicit
5-point closures with β₁ = 0.02 and β₂ = 0.09. Unlike the authors' code, which overwrote rows
of the *periodic* (circulant) inverse and so kept wrap-around weights in the interior rows,
the closures are rows of the banded system ``A D = B`` itself (``A`` has unit rows there),
so ``D = A⁻¹B`` has no coupling across the domain.

All matrices are built in float64 and returned in the requested dtype.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import torch
from torch import Tensor

from diano.errors import ConfigError

Scheme = Literal["oucs2", "central2", "central4"]
Boundary = Literal["periodic", "free", "upwind"]

SCHEMES: tuple[str, ...] = ("oucs2", "central2", "central4")
BOUNDARIES: tuple[str, ...] = ("periodic", "free", "upwind")

#: Nominal order of accuracy of each first-derivative scheme in the interior.
SCHEME_ORDER: dict[str, int] = {"oucs2": 5, "central2": 2, "central4": 4}

#: Closure parameters of the OUCS2 rows 1 and N-2 (paper values).
BETA1 = Fraction(1, 50)
BETA2 = Fraction(9, 100)


def oucs2_coefficients(
    p33: Fraction = Fraction(36), a: Fraction = Fraction(-40)
) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """Return the exact OUCS2 interior coefficients from the general form.

    Args:
        p33: Diagonal weight of the implicit (left-hand) side.
        a: Upwind parameter η; negative values bias the scheme to the left (upwind for c > 0).

    Returns:
        ``(lhs, rhs)``: ``lhs = (p32, p33, p34)`` on ``f'_{j-1..j+1}`` and
        ``rhs = (q31, ..., q35)`` on ``f_{j-2..j+2}`` (to be divided by ``h``).
    """
    p33, a = Fraction(p33), Fraction(a)
    lhs = (p33 / 3 - a / 12, p33, p33 / 3 + a / 12)
    rhs = (
        -p33 / 36 + a / 72,
        -7 * p33 / 9 + a / 9,
        -a / 4,
        7 * p33 / 9 + a / 9,
        p33 / 36 + a / 72,
    )
    return lhs, rhs


def closure_row(beta: Fraction) -> tuple[Fraction, ...]:
    """Return the 5-point second-order closure for ``f'_1`` on ``f_0..f_4`` (times ``h``)."""
    b = Fraction(beta)
    return (
        2 * b / 3 - Fraction(1, 3),
        -(8 * b / 3 + Fraction(1, 2)),
        4 * b + 1,
        -(8 * b / 3 + Fraction(1, 6)),
        2 * b / 3,
    )


def _check(n: int, h: float, scheme: str | None, boundary: str) -> None:
    if boundary not in BOUNDARIES:
        raise ConfigError(f"unknown boundary {boundary!r}; use one of {BOUNDARIES}")
    if scheme is not None and scheme not in SCHEMES:
        raise ConfigError(f"unknown derivative scheme {scheme!r}; use one of {SCHEMES}")
    if not h > 0:
        raise ConfigError(f"grid spacing h must be positive, got {h}")
    need = 5 if scheme in ("oucs2", "central4") else (3 if boundary == "periodic" else 4)
    if n < need:
        raise ConfigError(
            f"{scheme or 'second-derivative'} stencil with boundary {boundary!r} needs at least "
            f"{need} grid points along an axis, got {n}"
        )


def _banded(n: int, offsets: range, weights: tuple[Fraction, ...], periodic: bool) -> Tensor:
    """Return the float64 (n, n) matrix with ``weights`` on the given diagonals."""
    out = torch.zeros(n, n, dtype=torch.float64)
    for j in range(n):
        for off, w in zip(offsets, weights, strict=True):
            col = j + off
            if periodic:
                out[j, col % n] += float(w)
            elif 0 <= col < n:
                out[j, col] = float(w)
    return out


def _oucs2_positive(n: int, h: float, periodic: bool) -> Tensor:
    lhs, rhs = oucs2_coefficients()
    a = _banded(n, range(-1, 2), lhs, periodic)
    b = _banded(n, range(-2, 3), rhs, periodic) / h
    if not periodic:
        # Explicit closure rows: unit rows in A, the closure stencils (divided by h) in B.
        for row in (0, 1, n - 2, n - 1):
            a[row] = 0.0
            a[row, row] = 1.0
            b[row] = 0.0
        b[0, :3] = torch.tensor([-1.5, 2.0, -0.5], dtype=torch.float64) / h
        b[n - 1, -3:] = torch.tensor([0.5, -2.0, 1.5], dtype=torch.float64) / h
        b[1, :5] = torch.tensor([float(c) for c in closure_row(BETA1)], dtype=torch.float64) / h
        # Row N-2 is the mirror image of the closure: f'(x_{N-2}) = -(1/h) Σ c_m f_{N-1-m}.
        mirrored = [-float(c) for c in reversed(closure_row(BETA2))]
        b[n - 2, -5:] = torch.tensor(mirrored, dtype=torch.float64) / h
    return torch.linalg.solve(a, b)


def _central2(n: int, h: float, periodic: bool) -> Tensor:
    half = Fraction(1, 2)
    d = _banded(n, range(-1, 2), (-half, Fraction(0), half), periodic) / h
    if not periodic:
        d[0] = 0.0
        d[n - 1] = 0.0
        d[0, :3] = torch.tensor([-1.5, 2.0, -0.5], dtype=torch.float64) / h
        d[n - 1, -3:] = torch.tensor([0.5, -2.0, 1.5], dtype=torch.float64) / h
    return d


def _central4(n: int, h: float, periodic: bool) -> Tensor:
    weights = tuple(Fraction(w, 12) for w in (1, -8, 0, 8, -1))
    d = _banded(n, range(-2, 3), weights, periodic) / h
    if not periodic:
        # the rows next to the edges fall back to central2 and its one-sided closures
        edge = _central2(n, h, periodic)
        for row in (0, 1, n - 2, n - 1):
            d[row] = edge[row]
    return d


def first_derivative_matrix(
    n: int,
    h: float,
    scheme: Scheme = "oucs2",
    boundary: Boundary = "periodic",
    direction: int = 1,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    """Build the dense first-derivative matrix ``D`` with ``(D f)_j ≈ f'(x_j)``.

    Args:
        n: Number of grid points.
        h: Grid spacing (physical length units).
        scheme: ``"oucs2"`` (upwind compact, fifth order inside), ``"central2"`` or
            ``"central4"`` (fourth order inside, second order in the two rows at an edge).
        boundary: ``"periodic"``; ``"free"`` (paper closures); ``"upwind"`` builds the same
            closures as ``"free"``, the solver then holds the inflow row fixed (Dirichlet).
        direction: ``+1`` biases the stencil for positive advection velocity (upwind side at
            lower indices), ``-1`` returns the mirrored operator ``-J D J``. The central
            schemes are mirror-symmetric, so both directions give the same matrix.
        dtype: Dtype of the result (built in float64 first).
        device: Device of the result.

    Returns:
        Tensor of shape ``(n, n)``.
    """
    _check(n, h, scheme, boundary)
    if direction not in (1, -1):
        raise ConfigError(f"direction must be +1 or -1, got {direction}")
    periodic = boundary == "periodic"
    build = {"oucs2": _oucs2_positive, "central2": _central2, "central4": _central4}[scheme]
    d = build(n, h, periodic)
    if direction == -1:
        d = -d.flip(0, 1)  # -J D J: reverse rows and columns, negate
    return d.to(dtype=dtype, device=device)


def second_derivative_matrix(
    n: int,
    h: float,
    boundary: Boundary = "periodic",
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    """Build the central second-derivative matrix ``(1, -2, 1)/h²``.

    Non-periodic boundaries use the one-sided rows ``(2, -5, 4, -1)/h²`` at row 0 and
    ``(-1, 4, -5, 2)/h²`` at row n-1.

    Returns:
        Tensor of shape ``(n, n)``.
    """
    _check(n, h, None, boundary)
    d = _banded(n, range(-1, 2), (Fraction(1), Fraction(-2), Fraction(1)), boundary == "periodic")
    if boundary != "periodic":
        d[0] = 0.0
        d[n - 1] = 0.0
        d[0, :4] = torch.tensor([2.0, -5.0, 4.0, -1.0], dtype=torch.float64)
        d[n - 1, -4:] = torch.tensor([-1.0, 4.0, -5.0, 2.0], dtype=torch.float64)
    return (d / (h * h)).to(dtype=dtype, device=device)


def apply_along(op: Tensor, z: Tensor, dim: int) -> Tensor:
    """Apply the matrix ``op`` along dimension ``dim`` of ``z``: ``out_i = Σ_j op_ij z_j``.

    Args:
        op: ``(M, M)`` shared by all samples, or ``(B', C', M, M)`` per sample and channel
            with ``B'``, ``C'`` broadcastable to the first two dims of ``z``.
        z: ``(B, C, *S)`` with ``S[dim] == M``; ``dim`` is negative and a spatial dimension.

    Returns:
        Tensor of the broadcast shape of ``z``.
    """
    m = z.shape[dim]
    lead = z.shape[:2]
    before = z.shape[2:dim] if dim != -1 else z.shape[2:-1]
    after = z.shape[dim + 1 :] if dim != -1 else ()
    p = 1
    for s in before:
        p *= s
    if dim == -1:
        # (B, C, P, M) @ (..., M, M)^T: each (b, c) slice is a (P, M) matrix times op[b, c]^T.
        out = z.reshape(*lead, p, m) @ op.transpose(-1, -2)
        return out.reshape(*out.shape[:2], *before, m)
    t = 1
    for s in after:
        t *= s
    zz = z.reshape(*lead, p, m, t)  # (B, C, P, M, T), M the axis being differentiated
    if op.dim() == 4:
        op = op.unsqueeze(-3)  # (B', C', 1, M, M) broadcasts over P
    out = op @ zz  # (B, C, P, M, T)
    return out.reshape(*out.shape[:2], *before, m, *after)
