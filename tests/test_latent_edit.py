"""Latent edits: bump placement, region set/scale, Fourier keep/zero, undo/redo history."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diano.errors import ConfigError
from diano.latent_edit import (
    EditHistory,
    FourierFilter,
    GaussianBump,
    LatentGrid,
    ScaleRegion,
    SetRegion,
    radial_wavenumber,
    region_cells,
)

GRID = LatentGrid((16, 16), (-2.0, 6.0), (-4.0, 4.0))


def test_grid_from_cell_centred_coords() -> None:
    x = -2.0 + 8.0 / 128 * (np.arange(128) + 0.5)
    y = -4.0 + 8.0 / 128 * (np.arange(128) + 0.5)
    grid = LatentGrid.from_coords((16, 16), x, y)
    assert grid.x_range == pytest.approx((-2.0, 6.0))
    assert grid.y_range == pytest.approx((-4.0, 4.0))
    yc, xc = grid.centres()
    assert xc[0] == pytest.approx(-1.75) and yc[-1] == pytest.approx(3.75)
    assert grid.cell_of(1.3, -3.9) == (0, 6)


def test_bump_peaks_at_its_physical_centre() -> None:
    z = torch.zeros(1, 1, 16, 16)
    # cell (row 9, col 10) has centre x = -2 + 10.5 * 0.5 = 3.25, y = -4 + 9.5 * 0.5 = 0.75
    out = GaussianBump(x=3.25, y=0.75, radius=0.6, amplitude=2.0).apply(z, GRID)
    row, col = np.unravel_index(int(out[0, 0].argmax()), (16, 16))
    assert (row, col) == (9, 10)
    assert float(out.max()) == pytest.approx(2.0)
    # σ = 0.6: one cell (0.5) away the bump is A·exp(-0.25/0.72)
    assert float(out[0, 0, 9, 11]) == pytest.approx(2.0 * np.exp(-0.25 / 0.72), rel=1e-5)
    assert torch.equal(z, torch.zeros(1, 1, 16, 16))  # never in place


def test_bump_on_one_channel_only() -> None:
    z = torch.zeros(1, 2, 16, 16)
    out = GaussianBump(0.0, 0.0, 1.0, 1.0, channel=1).apply(z, GRID)
    assert float(out[0, 0].abs().max()) == 0.0 and float(out[0, 1].max()) > 0.5


def test_set_and_scale_region() -> None:
    z = torch.randn(1, 1, 16, 16)
    cells = region_cells((2, 4), (5, 8))
    assert len(cells) == 6
    set_ = SetRegion(cells, 3.0).apply(z, GRID)
    assert torch.all(set_[0, 0, 2:4, 5:8] == 3.0)
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[2:4, 5:8] = False
    assert torch.equal(set_[0, 0][outside], z[0, 0][outside])
    scaled = ScaleRegion(cells, -0.5).apply(z, GRID)
    assert torch.allclose(scaled[0, 0, 2:4, 5:8], -0.5 * z[0, 0, 2:4, 5:8])
    assert torch.equal(scaled[0, 0][outside], z[0, 0][outside])


def test_region_outside_grid_or_empty_is_an_error() -> None:
    z = torch.zeros(1, 1, 16, 16)
    with pytest.raises(ConfigError, match="outside"):
        SetRegion(((16, 0),), 1.0).apply(z, GRID)
    with pytest.raises(ConfigError, match="empty"):
        ScaleRegion((), 2.0).apply(z, GRID)


def _mode(ky: int, kx: int) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    return torch.cos(2 * torch.pi * (ky * yy + kx * xx) / 16)[None, None]


def test_fourier_keep_and_zero_separate_bands() -> None:
    low, high = _mode(1, 1), _mode(0, 6)  # |k| = 1.41 and 6
    z = 0.7 + low + high
    kept = FourierFilter(0, 2, "keep").apply(z, GRID)
    assert torch.allclose(kept, 0.7 + low, atol=1e-5)
    zeroed = FourierFilter(5, 8, "zero").apply(z, GRID)
    assert torch.allclose(zeroed, 0.7 + low, atol=1e-5)
    no_mean = FourierFilter(0, 0, "zero").apply(z, GRID)
    assert torch.allclose(no_mean, low + high, atol=1e-5)


def test_radial_wavenumber_layout() -> None:
    k = radial_wavenumber((16, 16))
    assert k.shape == (16, 9)
    assert float(k[0, 0]) == 0 and float(k[15, 1]) == pytest.approx(np.sqrt(2))


def test_history_undo_redo_and_branching() -> None:
    base = torch.zeros(1, 1, 16, 16)
    a = SetRegion(((0, 0),), 1.0)
    b = SetRegion(((0, 1),), 2.0)
    c = SetRegion(((0, 2),), 3.0)
    h = EditHistory().push(a).push(b)
    assert h.applied == (a, b) and not h.can_redo
    assert float(h.current(base, GRID)[0, 0, 0, 1]) == 2.0
    h = h.undo()
    assert h.applied == (a,) and h.can_redo
    assert float(h.current(base, GRID)[0, 0, 0, 1]) == 0.0
    assert h.redo().applied == (a, b)
    branched = h.push(c)  # a new edit after an undo drops the undone one
    assert branched.applied == (a, c) and not branched.can_redo
    assert EditHistory().undo().cursor == 0
    assert branched.reset().applied == ()
    assert branched.describe() == ["set 1 cell(s) to 1", "set 1 cell(s) to 3"]


def test_edits_check_latent_shape() -> None:
    with pytest.raises(ConfigError, match=r"\(B, Lc, 16, 16\)"):
        GaussianBump(0, 0, 1, 1).apply(torch.zeros(1, 1, 8, 8), GRID)


def test_add_latent_adds_a_change_of_matching_shape() -> None:
    from diano.latent_edit import AddLatent

    z = torch.ones(1, 1, 16, 16)
    delta = np.zeros((1, 16, 16), np.float32)
    delta[0, 3, 4] = 2.5
    out = AddLatent(delta, "vortex").apply(z, GRID)
    assert float(out[0, 0, 3, 4]) == 3.5 and float(out.sum()) == 256 + 2.5
    assert AddLatent(delta, "vortex").describe() == "vortex"
    with pytest.raises(ConfigError, match="does not fit"):
        AddLatent(delta[:, :8]).apply(z, GRID)
