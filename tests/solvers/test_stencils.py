"""Stencil matrices: exact OUCS2 coefficients, accuracy at every row, upwind bias, apply_along."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from diano.errors import ConfigError
from diano.solvers import (
    apply_along,
    first_derivative_matrix,
    oucs2_coefficients,
    second_derivative_matrix,
)
from diano.solvers.stencils import closure_row

F64 = torch.float64


def _cells(n: int) -> tuple[torch.Tensor, float]:
    h = 1.0 / n
    return (torch.arange(n, dtype=F64) + 0.5) * h, h


def test_oucs2_general_form_gives_the_paper_coefficients() -> None:
    lhs, rhs = oucs2_coefficients()
    assert lhs == (Fraction(46, 3), Fraction(36), Fraction(26, 3))
    assert rhs == (
        Fraction(-14, 9),
        Fraction(-292, 9),
        Fraction(10),
        Fraction(212, 9),
        Fraction(4, 9),
    )
    paper = (-1.5556, -32.4444, 10.0, 23.5556, 0.4444)
    assert all(abs(float(q) - p) < 1e-4 for q, p in zip(rhs, paper, strict=True))
    assert sum(rhs) == 0
    # Taylor consistency in exact arithmetic: orders 0..5 vanish, so the interior is 5th order.
    for order in range(6):
        r = sum(
            q * Fraction(m) ** order for q, m in zip(rhs, range(-2, 3), strict=True)
        ) / math.factorial(order)
        left = (
            (
                sum(p * Fraction(k) ** (order - 1) for p, k in zip(lhs, range(-1, 2), strict=True))
                / math.factorial(order - 1)
            )
            if order
            else 0
        )
        assert r == left


def test_closure_rows_are_consistent_second_order() -> None:
    for beta in (Fraction(1, 50), Fraction(9, 100)):
        c = closure_row(beta)
        moments = [sum(cm * Fraction(m - 1) ** k for m, cm in enumerate(c)) for k in range(3)]
        assert moments == [0, 1, 0]  # derivative at point 1, exact for quadratics


def test_oucs2_periodic_interior_accuracy_on_sine() -> None:
    errs = []
    for n in (16, 32, 64):
        x = torch.arange(n, dtype=F64) / n
        d = first_derivative_matrix(n, 1.0 / n, "oucs2", "periodic")
        errs.append(
            float(
                (d @ torch.sin(2 * math.pi * x) - 2 * math.pi * torch.cos(2 * math.pi * x))
                .abs()
                .max()
            )
        )
    assert errs[1] < 2e-6  # the paper's check: 1.7e-6 at N = 32
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) > 4.7, orders


@pytest.mark.parametrize("scheme", ["oucs2", "central2", "central4"])
@pytest.mark.parametrize("direction", [1, -1])
def test_free_boundary_derivative_accurate_at_every_row(scheme: str, direction: int) -> None:
    """A smooth non-periodic function: every row, the closures included, converges at 2nd order.

    With the authors' missing 1/h on rows 1 and N-2 those rows would be off by a factor N.
    """
    row_errs = []
    for n in (32, 64):
        x, h = _cells(n)
        f = torch.exp(torch.sin(3 * x) + x)
        df = (3 * torch.cos(3 * x) + 1) * f
        d = first_derivative_matrix(n, h, scheme, "free", direction)
        row_errs.append((d @ f - df).abs())
    e32, e64 = row_errs
    assert float(e32.max()) < 0.05
    for row in (0, 1, 2, 29, 30, 31):
        assert float(e32[row]) < 0.05, row
    # Second order at the closure rows: halving h divides their error by about 4.
    for r32, r64 in ((1, 1), (30, 62), (31, 63)):
        assert float(e32[r32] / e64[r64]) > 3.0


def test_missing_one_over_h_would_be_caught() -> None:
    n = 32
    x, h = _cells(n)
    d = first_derivative_matrix(n, h, "oucs2", "free")
    f = x**2
    assert abs(float((d @ f)[1]) - 2 * float(x[1])) < 1e-9  # closures are exact on quadratics
    assert abs(float((d @ f)[n - 2]) - 2 * float(x[n - 2])) < 1e-9


def test_oucs2_is_upwind_biased_and_mirrored() -> None:
    n, h = 32, 1.0 / 32
    d_pos = first_derivative_matrix(n, h, "oucs2", "periodic", 1)
    d_neg = first_derivative_matrix(n, h, "oucs2", "periodic", -1)
    # -c D is dissipative for the matching sign of c: Re(eig) <= 0, strictly for some modes.
    for c, d in ((1.0, d_pos), (-1.0, d_neg)):
        ev = torch.linalg.eigvals(-c * d)
        assert float(ev.real.max()) < 1e-10 and float(ev.real.min()) < -10
    # The wrong pairing (c = +1 with the mirrored stencil) is anti-dissipative.
    assert float(torch.linalg.eigvals(-1.0 * d_neg).real.max()) > 10
    f = torch.sin(2 * math.pi * (torch.arange(n, dtype=F64) + 0.5) * h) ** 3
    assert torch.allclose(d_neg @ f, -(d_pos @ f.flip(0)).flip(0))


@pytest.mark.parametrize("scheme", ["central2", "central4"])
def test_central_matrices_are_mirror_symmetric(scheme: str) -> None:
    for bnd in ("periodic", "free"):
        d_pos = first_derivative_matrix(12, 0.1, scheme, bnd, 1)
        d_neg = first_derivative_matrix(12, 0.1, scheme, bnd, -1)
        assert torch.equal(d_pos, d_neg)


def test_central4_is_fourth_order_and_less_dispersive() -> None:
    """On a periodic sine the error falls 16-fold per halving of h; the modified wavenumber
    of a wave of 8 cells is (8 sin kh - sin 2kh)/(6 kh) = 0.988 of the true one (central2:
    sin kh / kh = 0.900), read off the matrix's action on the wave."""
    errs = []
    for n in (16, 32, 64):
        x = torch.arange(n, dtype=F64) / n
        d = first_derivative_matrix(n, 1.0 / n, "central4", "periodic")
        f, df = torch.sin(2 * math.pi * x), 2 * math.pi * torch.cos(2 * math.pi * x)
        errs.append(float((d @ f - df).abs().max()))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) > 3.9, orders
    n = 32
    x = torch.arange(n, dtype=F64)
    kh = 2 * math.pi / 8
    wave, slope = torch.sin(kh * x), kh * torch.cos(kh * x)
    for scheme, ratio in (("central4", 0.988), ("central2", 0.900)):
        d = first_derivative_matrix(n, 1.0, scheme, "periodic")
        got = float((d @ wave) @ slope / (slope @ slope))
        assert got == pytest.approx(ratio, abs=1e-3), scheme
    expected = (8 * math.sin(kh) - math.sin(2 * kh)) / (6 * kh)
    got = float((first_derivative_matrix(n, 1.0, "central4", "periodic") @ wave) @ slope)
    assert got / float(slope @ slope) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ConfigError, match="at least 5"):
        first_derivative_matrix(4, 0.25, "central4", "periodic")


def test_second_derivative_rows_including_one_sided() -> None:
    errs = []
    for n in (32, 64):
        x, h = _cells(n)
        f = torch.exp(torch.sin(3 * x) + x)
        d2f = ((3 * torch.cos(3 * x) + 1) ** 2 - 9 * torch.sin(3 * x)) * f
        errs.append((second_derivative_matrix(n, h, "free") @ f - d2f).abs() / d2f.abs().max())
    assert float(errs[0].max()) < 0.02
    assert float(errs[0][1:-1].max() / errs[1][1:-1].max()) > 3.5  # 2nd order inside
    assert float(errs[0][0] / errs[1][0]) > 1.8  # (2,-5,4,-1) is first order at the wall
    x = torch.arange(16, dtype=F64) / 16
    dp = second_derivative_matrix(16, 1 / 16, "periodic")
    symbol = -4 * 16**2 * math.sin(math.pi / 16) ** 2  # exact eigenvalue of the periodic mode
    assert torch.allclose(dp @ torch.sin(2 * math.pi * x), symbol * torch.sin(2 * math.pi * x))


def test_dtype_and_device_arguments() -> None:
    d = first_derivative_matrix(8, 0.1, "oucs2", "free", dtype=torch.float32, device="cpu")
    assert d.dtype == torch.float32 and d.shape == (8, 8)


@pytest.mark.parametrize("dim", [-1, -2, -3])
def test_apply_along_matches_einsum(dim: int) -> None:
    z = torch.randn(2, 3, 5, 6, 7, dtype=F64)
    m = z.shape[dim]
    shared = torch.randn(m, m, dtype=F64)
    per = torch.randn(2, 3, m, m, dtype=F64)
    letters = "def"
    ax = letters[dim]
    out_ax = "x"
    src = "bc" + letters
    dst = src.replace(ax, out_ax)
    ref_shared = torch.einsum(f"{out_ax}{ax},{src}->{dst}", shared, z)
    ref_per = torch.einsum(f"bc{out_ax}{ax},{src}->{dst}", per, z)
    assert torch.allclose(apply_along(shared, z, dim), ref_shared)
    assert torch.allclose(apply_along(per, z, dim), ref_per)


def test_invalid_arguments_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 5"):
        first_derivative_matrix(4, 0.1, "oucs2", "free")
    with pytest.raises(ConfigError, match="unknown boundary"):
        first_derivative_matrix(8, 0.1, "oucs2", "wall")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown derivative scheme"):
        first_derivative_matrix(8, 0.1, "weno5")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="direction"):
        first_derivative_matrix(8, 0.1, direction=0)
