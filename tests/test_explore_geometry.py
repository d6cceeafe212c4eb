"""Numerics behind the 3D vessel and stenosis pages: maps, down-sampling, the 1D march."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from diano.errors import ConfigError, DataError, UnstableSolverError
from diano.explore.line import (
    LineSettings,
    build_line_solver,
    centreline_line,
    decode_line,
    encode_line,
    fitted_to,
    line_coordinates,
    line_model,
    line_settings_from_model,
    line_stability,
    march_line,
    pooled_line,
    standing_channels,
)
from diano.explore.synthetic import stenosis_channel, vessel_tube
from diano.explore.vessel import (
    display_sizes,
    downsample,
    downsample_mask,
    fullest_planes,
    lattice_centres,
    map_pressure,
    rel_l2,
    velocity_channels,
)
from diano.models.presets import default_config
from diano.models.registry import build_model


@pytest.fixture(scope="module")
def tube() -> dict:
    return vessel_tube(32)


def _m2o(name: str, n: int = 32):
    config = default_config(name, "coronary3d", "many_to_one", size="tiny")
    if name == "diano":
        config = dataclasses.replace(config, grid_shape=(n,) * 3)
    return build_model(name, config).eval()


def test_synthetic_cases_are_valid_benchmark_cases(tube, tmp_path) -> None:
    from diano.data import load, write_case

    data = load(write_case(tmp_path / "coronary3d_t.h5", **tube))
    assert data.fields.shape == (1, 4, 32, 32, 32) and data.mask[:, :, 0].any()
    assert data.mask[:, :, -1].any()  # the lumen reaches both end faces
    sten = load(write_case(tmp_path / "stenosis2d_t.h5", **stenosis_channel(16, 64, 4)))
    assert sten.channels == ("vorticity", "u", "v", "p") and sten.n_times == 4


def test_map_pressure_shows_diano_inside_and_masks_every_output(tube) -> None:
    velocity = velocity_channels(tube["fields"], tube["channels"])
    mask = tube["mask"]
    out = map_pressure(_m2o("diano"), velocity, mask)
    assert out.pressure.shape == mask.shape
    assert np.all(out.pressure[mask == 0] == 0)
    assert out.latent_pressure.shape == (8, 8, 8) and out.latent_velocity.shape == (3, 8, 8, 8)
    assert out.latent_mask.any() and np.all(out.latent_pressure[~out.latent_mask] == 0)
    assert out.solve.startswith("cg:")
    cno = map_pressure(_m2o("cno"), velocity, mask)
    assert cno.latent_pressure is None and np.all(cno.pressure[mask == 0] == 0)
    marching = build_model("diano", default_config("diano", "stenosis2d", size="tiny"))
    with pytest.raises(ConfigError, match="many_to_one"):
        map_pressure(marching, velocity, mask)
    with pytest.raises(DataError, match="channels"):
        velocity_channels(tube["fields"], ("a", "b", "c", "d"))


def test_downsample_averages_fluid_cells_only() -> None:
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[:2, :2, :2] = 1
    mask[0, 0, 0] = 0  # 7 of 8 fluid in the first block
    field = np.full((4, 4, 4), 5.0, np.float32)
    field[mask == 0] = 100.0  # solid values must not leak in
    out = downsample(field, mask, 2)
    assert out.shape == (2, 2, 2) and out[0, 0, 0] == pytest.approx(5.0)
    assert np.all(out.ravel()[1:] == 0)
    assert downsample_mask(mask, 2).sum() == 1
    assert display_sizes(64) == [64, 32, 16] and display_sizes(48) == [48, 24]
    np.testing.assert_array_equal(downsample(field, mask, 1), field)


def test_lattice_centres_and_fullest_planes() -> None:
    x = np.arange(8) + 0.5
    (c,) = lattice_centres([x], (4,))
    np.testing.assert_allclose(c, [1.0, 3.0, 5.0, 7.0])
    with pytest.raises(ConfigError):
        lattice_centres([x], (3,))
    mask = np.zeros((4, 5, 6), bool)
    mask[1, 2, :] = True
    mask[1, :, 4] = True
    assert fullest_planes(mask) == (4, 2, 1)
    assert rel_l2(np.ones(3), np.ones(3), np.ones(3)) == 0.0


@pytest.fixture(scope="module")
def line_diano():
    config = default_config("diano", "stenosis2d", "geometric", size="tiny")
    config = dataclasses.replace(config, grid_shape=(16, 64), latent_shape=(16,))
    return build_model("diano", config).eval()


def test_line_encode_march_decode(line_diano) -> None:
    case = stenosis_channel(16, 64, 3)
    field, mask = case["fields"][0, :1], case["mask"]
    assert line_model(line_diano) == (16, 1.0)
    settings = line_settings_from_model(line_diano)
    assert settings.boundary == "periodic" and settings.velocity > 0
    z = encode_line(line_diano, field, mask)
    assert z.shape == (1, 1, 16)
    solver = build_line_solver(settings, 16, 1.0)
    assert line_stability(solver, settings).ok
    states = march_line(solver, z, 3, settings)
    assert len(states) == 3 and not torch.equal(states[-1], z)
    # the model's own solver gives the same march with its own settings
    torch.testing.assert_close(states[0], line_diano.step(z), rtol=1e-5, atol=1e-6)
    decoded = decode_line(line_diano, states[-1], (16, 64), mask)
    assert decoded.shape == (1, 16, 64) and np.all(decoded[:, mask == 0] == 0)
    assert line_coordinates(case["coords"]["x"][0], 16).shape == (16,)
    assert pooled_line(field, mask, 16).shape == (1, 16)


def test_unstable_line_settings_are_refused(line_diano) -> None:
    settings = LineSettings(nu=0.0, velocity=400.0, dt=0.01, n_substeps=1)
    solver = build_line_solver(settings, 16, 1.0)  # building never raises
    report = line_stability(solver, settings)
    assert not report.ok and report.n_substeps_needed > 1
    with pytest.raises(UnstableSolverError, match="CFL"):
        march_line(solver, torch.zeros(1, 1, 16), 1, settings)
    auto = dataclasses.replace(settings, n_substeps="auto")
    assert line_stability(solver, auto).ok
    with pytest.raises(ConfigError, match="line"):
        line_model(build_model("cno", default_config("cno", "stenosis2d", size="tiny")))


def test_standing_line_marches_its_travelling_part_as_the_model_does() -> None:
    from diano.models.presets import standing_config

    config = standing_config(default_config("diano", "stenosis2d", "geometric", size="tiny"))
    config = dataclasses.replace(config, grid_shape=(16, 64), latent_shape=(16,))
    model = build_model("diano", config).eval()
    assert standing_channels(model) == 1
    case = stenosis_channel(16, 64, 3)
    z = encode_line(model, case["fields"][0, :1], case["mask"])
    assert z.shape == (1, 2, 16)
    settings = line_settings_from_model(model)
    solver = build_line_solver(settings, 16, 1.0)
    states = march_line(solver, z, 3, settings, standing=1)
    assert all(torch.equal(s[:, :1], z[:, :1]) for s in states)
    assert not torch.equal(states[-1][:, 1:], z[:, 1:])
    with torch.no_grad():
        torch.testing.assert_close(states[-1], model.step(z, 3), rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="standing"):
        march_line(solver, z, 1, settings, standing=2)


def test_centreline_line_and_a_fitted_reference() -> None:
    # Poiseuille profiles through the synthetic stenosis: u = U(x) (1 − (y/h)²) with the flux
    # fixed (U h constant), ω = −∂u/∂y = 2 U y / h²; the line is U pooled to 64 points
    case = stenosis_channel(64, 256, 1)
    y, mask = case["coords"]["y"][0], case["mask"]
    half = np.maximum(np.abs(np.where(mask > 0, y[:, None], 0.0)).max(axis=0), 1e-3)
    speed = 0.5 / half  # (W,)
    w = 2.0 * speed[None] * y[:, None] / half[None] ** 2 * mask
    line = centreline_line(w, mask, y, 64)
    axis = speed.reshape(64, 4).mean(axis=1)
    np.testing.assert_allclose(line, axis, rtol=0.08)
    fitted, corr = fitted_to(line, axis)
    assert line.shape == (64,) and corr > 0.995
    # the fit maps the reference onto the line's scale; a constant reference gives 0
    np.testing.assert_allclose(fitted.mean(), line.mean(), rtol=1e-5)
    flat, zero = fitted_to(line, np.ones(64))
    assert zero == 0.0 and np.allclose(flat, line.mean())
    again, one = fitted_to(2.0 * line + 3.0, line)
    assert one == pytest.approx(1.0) and np.allclose(again, 2.0 * line + 3.0, atol=1e-4)
