"""Fourier block, sampling blocks, coordinates, and the FNO encoder/decoder plans."""

from __future__ import annotations

import pytest
import torch

from diano.layers import (
    ChannelMLP,
    Downsample,
    FNODecoder,
    FNOEncoder,
    FourierBlock,
    LineToPlane,
    Upsample,
    average_over_height,
    decoder_stages,
    grid_coordinates,
    plan_stages,
    resample,
)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_down_and_up_blocks_shapes(dim: int) -> None:
    x = torch.randn(2, 4, *(8,) * dim)
    assert Downsample(2, dim)(x).shape == (2, 4, *(4,) * dim)
    assert Downsample(2, dim, mode="decimate")(x).shape == (2, 4, *(4,) * dim)
    assert Upsample(4, 2, dim)(x).shape == (2, 4, *(16,) * dim)
    factors = (1,) * (dim - 1) + (4,)
    assert Upsample(4, factors, dim)(x).shape == (2, 4, *(8,) * (dim - 1), 32)


def test_downsample_averages_and_decimate_keeps_points() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    averaged = Downsample(2, 2)(x)
    torch.testing.assert_close(averaged, torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    torch.testing.assert_close(Downsample(2, 2, "decimate")(x), x[..., ::2, ::2])


def test_upsample_stages_are_separate_modules() -> None:
    stages = decoder_stages((32, 32), plan_stages((32, 32), (4, 4), 3))
    decoder = FNODecoder(
        1, 1, width=4, n_modes=(2, 2), latent_shape=(4, 4), stages=stages, extent=(1.0, 1.0)
    )
    convs = [up.conv.weight for up in decoder.ups]
    assert len(convs) == 3
    assert len({w.data_ptr() for w in convs}) == 3


def test_resample_preserves_constants_and_shapes() -> None:
    x = torch.full((1, 2, 12, 12), 3.0)
    for shape in [(6, 6), (24, 24), (5, 7), (6, 24)]:
        y = resample(x, shape)
        assert y.shape == (1, 2, *shape)
        torch.testing.assert_close(y, torch.full_like(y, 3.0))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_fourier_block_changes_resolution(dim: int) -> None:
    block = FourierBlock(4, 6, (2,) * dim)
    x = torch.randn(2, 4, *(8,) * dim)
    assert block(x).shape == (2, 6, *(8,) * dim)
    assert block(x, (4,) * dim).shape == (2, 6, *(4,) * dim)
    assert block(x, (16,) * dim).shape == (2, 6, *(16,) * dim)


def test_fourier_block_gradients_reach_every_parameter() -> None:
    block = FourierBlock(3, 3, (3, 3), activation=None)
    block(torch.randn(2, 3, 12, 12), (6, 6)).square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_local_skip_kernel_keeps_shapes_and_resolution_changes(dim: int) -> None:
    block = FourierBlock(4, 6, (2,) * dim, skip_kernel=3)
    assert tuple(block.skip.weight.shape) == (6, 4, *(3,) * dim)
    x = torch.randn(2, 4, *(8,) * dim)
    assert block(x).shape == (2, 6, *(8,) * dim)
    assert block(x, (4,) * dim).shape == (2, 6, *(4,) * dim)
    assert block(x, (16,) * dim).shape == (2, 6, *(16,) * dim)


def test_local_skip_kernel_sees_neighbours_and_the_pointwise_one_does_not() -> None:
    """A point change moves a 3×3 skip's output in the 8 neighbours too, a 1×1 skip's only
    at the point (spectral path off: no modes beyond the mean are kept)."""
    for kernel, reach in ((1, 1), (3, 9)):
        torch.manual_seed(0)
        block = FourierBlock(2, 2, (1, 1), activation=None, skip_kernel=kernel)
        x = torch.randn(1, 2, 9, 9)
        bumped = x.clone()
        bumped[0, :, 4, 4] += 1.0
        with torch.no_grad():
            change = block(bumped) - block(x)
        # the mode-0 spectral path spreads a uniform change: remove it (a far corner's)
        change = change - change[..., :1, :1]
        assert int((change.abs().amax(dim=1) > 1e-3).sum()) == reach


def test_local_skip_kernel_gradcheck_float64() -> None:
    torch.manual_seed(0)
    block = FourierBlock(2, 3, (2, 2), skip_kernel=3).double()
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: block(t, (3, 3)), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda t: block(t), (x,), fast_mode=True)


def test_skip_kernel_must_be_odd() -> None:
    with pytest.raises(ValueError, match="odd"):
        FourierBlock(2, 2, (2, 2), skip_kernel=2)


def test_kaiming_init_keeps_variance_order_one() -> None:
    """The default PyTorch init collapsed the FNO on this project's data; ours must not."""
    x = torch.randn(4, 32, 32, 32)
    assert 0.3 < FourierBlock(32, 32, (8, 8))(x).std() < 3.0
    assert 0.3 < FourierBlock(32, 32, (8, 8), skip_kernel=3)(x).std() < 3.0
    assert 0.3 < ChannelMLP(32, 128, 32, 2)(x).std() < 3.0


def test_grid_coordinates_order_and_cell_centres() -> None:
    coords = grid_coordinates((2, 4), (1.0, 8.0))
    assert coords.shape == (1, 2, 2, 4)
    torch.testing.assert_close(coords[0, 0, 0], torch.tensor([1.0, 3.0, 5.0, 7.0]))  # x
    torch.testing.assert_close(coords[0, 1, :, 0], torch.tensor([0.25, 0.75]))  # y


def test_plan_stages_spreads_halvings() -> None:
    assert plan_stages((128, 128), (16, 16), 3) == [(64, 64), (32, 32), (16, 16)]
    assert plan_stages((64, 256), (64, 64), 3) == [(64, 128), (64, 64), (64, 64)]
    assert plan_stages((32, 32, 32), (4, 4, 4), 2) == [(8, 8, 8), (4, 4, 4)]
    with pytest.raises(ValueError, match="power-of-two"):
        plan_stages((48, 48), (20, 20), 2)


def test_encoder_and_decoder_any_resolution() -> None:
    stages = plan_stages((16, 16), (4, 4), 2)
    enc = FNOEncoder(1, 2, width=8, n_modes=(4, 4), stages=stages, extent=(1.0, 1.0))
    dec = FNODecoder(
        2,
        1,
        width=8,
        n_modes=(4, 4),
        latent_shape=(4, 4),
        stages=decoder_stages((16, 16), stages),
        extent=(1.0, 1.0),
    )
    assert enc(torch.randn(3, 1, 16, 16)).shape == (3, 2, 4, 4)
    assert enc(torch.randn(3, 1, 32, 32)).shape == (3, 2, 4, 4)
    z = torch.randn(3, 2, 4, 4)
    assert dec(z).shape == (3, 1, 16, 16)
    assert dec(z, (32, 32)).shape == (3, 1, 32, 32)


def test_line_to_plane_and_masked_height_average() -> None:
    lift = LineToPlane(1, 4, height=6)
    assert lift(torch.randn(2, 1, 10)).shape == (2, 4, 6, 10)
    x = torch.zeros(1, 1, 4, 3)
    x[0, 0, 0] = 5.0  # a solid row with a large value
    x[0, 0, 1:] = 1.0
    mask = torch.ones(1, 1, 4, 3)
    mask[0, 0, 0] = 0.0
    torch.testing.assert_close(average_over_height(x, mask), torch.ones(1, 1, 3))
    torch.testing.assert_close(average_over_height(x), torch.full((1, 1, 3), 2.0))
