"""SpectralConv: shapes in 1D/2D/3D, resolution consistency, gradients, float64 gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from diano.layers import SpectralConv, usable_modes


def band_limited(n: int, dim: int, channels: int = 2) -> torch.Tensor:
    """A smooth periodic field sampled at cell centres of an n^dim grid, (1, C, *S), float64."""
    axes = [(torch.arange(n, dtype=torch.float64) + 0.5) * (2 * math.pi / n)] * dim
    mesh = torch.meshgrid(*axes, indexing="ij")
    f = torch.cos(mesh[0] - mesh[-1])
    for a, x in enumerate(mesh):
        f = f + torch.sin(2 * x + 0.3 * a) + 0.5 * torch.cos(3 * x - 1.0)
    return torch.stack([f * (c + 1) - c for c in range(channels)]).unsqueeze(0)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_output_shapes_including_other_grids(dim: int) -> None:
    n = 8 if dim == 3 else 16
    conv = SpectralConv(3, 5, (3,) * dim)
    x = torch.randn(2, 3, *(n,) * dim)
    assert conv(x).shape == (2, 5, *(n,) * dim)
    assert conv(x, (2 * n,) * dim).shape == (2, 5, *(2 * n,) * dim)
    assert conv(x, (n // 2,) * dim).shape == (2, 5, *(n // 2,) * dim)
    odd = tuple(n + 3 - a for a in range(dim))
    assert conv(x, odd).shape == (2, 5, *odd)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_resolution_consistency_for_band_limited_input(dim: int) -> None:
    """The operator applied at N and at 2N, and N → 2N, agree on a band-limited field."""
    torch.manual_seed(1)
    n = 16
    conv = SpectralConv(2, 3, (5,) * dim).double()
    coarse, fine = band_limited(n, dim), band_limited(2 * n, dim)
    at_fine = conv(fine)
    assert at_fine.abs().max() > 0.1
    torch.testing.assert_close(conv(coarse, (2 * n,) * dim), at_fine, atol=1e-10, rtol=0)
    torch.testing.assert_close(conv(fine, (n,) * dim), conv(coarse), atol=1e-10, rtol=0)


def test_all_corners_are_used_in_3d() -> None:
    """A mode with negative frequency on the first two axes passes (the authors' 3D
    layer kept only the [:m, :m, :m] corner and would drop it)."""
    n = 8
    x = torch.zeros(1, 1, n, n, n, dtype=torch.float64)
    grid = (torch.arange(n, dtype=torch.float64) + 0.5) * (2 * math.pi / n)
    zz, yy, xx = torch.meshgrid(grid, grid, grid, indexing="ij")
    x[0, 0] = torch.cos(-zz - yy + xx)  # mode (k_z, k_y, k_x) = (-1, -1, 1) and its conjugate
    conv = SpectralConv(1, 1, (2, 2, 2)).double()
    assert conv(x).abs().max() > 1e-3


def test_modes_are_limited_to_what_the_grids_hold() -> None:
    assert usable_modes((16, 16), (64, 64)) == (16, 16)
    assert usable_modes((16, 16), (16, 16)) == (8, 8)
    assert usable_modes((8, 8, 8), (32, 32, 32), (4, 4, 4)) == (2, 2, 2)
    assert usable_modes((4, 4), (2, 8)) == (1, 4)


def test_gradients_reach_weights_and_input() -> None:
    conv = SpectralConv(2, 2, (3, 3))
    x = torch.randn(2, 2, 12, 12, requires_grad=True)
    conv(x, (20, 20)).square().sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_gradcheck_float64() -> None:
    conv = SpectralConv(2, 1, (2, 2)).double()
    x = torch.randn(1, 2, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: conv(t, (6, 8)), (x,), fast_mode=True)
    weight = conv.weight.detach().clone().requires_grad_(True)

    def of_weight(w: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(conv, {"weight": w}, (x.detach(),))

    assert torch.autograd.gradcheck(of_weight, (weight,), fast_mode=True)


def test_weights_are_real_and_follow_dtype() -> None:
    conv = SpectralConv(2, 3, (4, 4))
    assert not conv.weight.is_complex() and conv.weight.shape == (2, 3, 7, 4, 2)
    assert conv.double()(torch.randn(1, 2, 10, 10, dtype=torch.float64)).dtype == torch.float64
