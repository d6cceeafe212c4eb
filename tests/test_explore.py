"""Explorer numerics: predictions per mode, error curves, readable region, saliency, vortices."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from diano.errors import ConfigError, DataError, UnstableSolverError
from diano.explore import (
    LambOseen,
    SolverSettings,
    build_solver,
    insert_vortex,
    latent_correlation,
    latent_residual,
    march,
    marching_latent,
    pool_to,
    predict,
    readable_region,
    reference_curves,
    rel_l2_curve,
    saliency,
    settings_from_model,
    stability,
    vortex_street,
)
from diano.latent_edit import LatentGrid
from diano.solvers import AdvectionDiffusion2d


class ShiftModel(nn.Module):
    """Contract stand-in: 4× box-average encoder, nearest decoder, a one-cell roll as step."""

    name = "shift"
    scenario = "temporal"

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(u, 4) * self.scale

    def decode(self, z: torch.Tensor, output_shape=None) -> torch.Tensor:
        return F.interpolate(z, size=output_shape, mode="nearest")

    def step(self, z: torch.Tensor, n: int = 1) -> torch.Tensor:
        return torch.roll(z, n, dims=-1)


def _travelling_wave(n_t: int = 6) -> np.ndarray:
    """A coarse pattern that moves one 4-cell block per frame along x: (T, 1, 16, 16)."""
    rng = np.random.default_rng(0)
    block = rng.standard_normal((4, 4)).astype(np.float32)
    frames = [np.kron(np.roll(block, t, axis=1), np.ones((4, 4)))[None] for t in range(n_t)]
    return np.stack(frames).astype(np.float32)


def test_predict_modes_track_a_travelling_wave() -> None:
    truth = _travelling_wave()
    model = ShiftModel()
    rec = predict(model, truth, "reconstruction", start=1, n_steps=3, batch_size=2)
    assert rec.fields.shape == (4, 1, 16, 16) and rec.latents.shape == (4, 1, 4, 4)
    np.testing.assert_allclose(rec.fields, truth[1:5], atol=1e-6)
    lat = predict(model, truth, "latent", start=1)
    assert lat.fields.shape == (5, 1, 16, 16) and lat.start == 1
    np.testing.assert_allclose(lat.fields, truth[1:], atol=1e-6)
    re = predict(model, truth, "reencoded", start=0, n_steps=5)
    np.testing.assert_allclose(re.fields, truth, atol=1e-6)
    assert model.scale.grad is None


def test_predict_rejects_bad_windows_and_static_marching() -> None:
    truth = _travelling_wave()
    with pytest.raises(ConfigError, match="past the case"):
        predict(ShiftModel(), truth, "latent", start=3, n_steps=5)
    with pytest.raises(ConfigError, match="unknown prediction mode"):
        predict(ShiftModel(), truth, "sideways")
    static = ShiftModel()
    static.scenario = "static"
    with pytest.raises(ConfigError, match="cannot march"):
        predict(static, truth, "latent")


def test_error_and_reference_curves() -> None:
    truth = _travelling_wave()
    assert np.allclose(rel_l2_curve(truth, truth), 0)
    assert np.allclose(rel_l2_curve(np.zeros_like(truth), truth), 1)
    mask = np.zeros((16, 16))
    mask[:, :4] = 1
    wrong_outside = truth.copy()
    wrong_outside[..., 4:] += 5.0
    assert np.allclose(rel_l2_curve(wrong_outside, truth, mask), 0)
    ref = reference_curves(truth, start=2, n_steps=3)
    assert ref["persistence"].shape == (4,) and ref["persistence"][0] == 0
    assert ref["persistence"][1] > 0.5
    assert np.all(ref["time mean"] > 0)


def test_pool_and_correlation() -> None:
    truth = _travelling_wave()
    pooled = pool_to(truth[0, 0], (4, 4))
    assert pooled.shape == (4, 4)
    assert latent_correlation(3.0 * pooled + 1.0, pooled) == pytest.approx(1.0)
    assert latent_correlation(-pooled, pooled) == pytest.approx(-1.0)
    mask = np.ones((16, 16))
    mask[:4, :4] = 0  # the solid block is left out of the average
    field = np.where(mask > 0, 2.0, 100.0)
    assert np.allclose(pool_to(field, (4, 4), mask)[1:, 1:], 2.0)
    region = np.zeros((4, 4), bool)
    region[:, 2:] = True
    assert latent_correlation(pooled * region, pooled, region) == pytest.approx(1.0)


def test_readable_region_starts_one_diameter_behind_the_cylinder_centre() -> None:
    n = 128
    x = -2.0 + 8.0 / n * (np.arange(n) + 0.5)
    y = -4.0 + 8.0 / n * (np.arange(n) + 0.5)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    mask = (xx**2 + yy**2 > 0.25).astype(np.uint8)  # D = 1 at the origin
    grid = LatentGrid.from_coords((16, 16), x, y)
    region = readable_region(grid, mask, x, y)
    # method.md §13: the wake is latent columns 6-15 (x >= 1D)
    assert region.all(axis=0).tolist() == [False] * 6 + [True] * 10
    assert readable_region(grid, np.ones((n, n)), x, y).all()
    assert readable_region(grid, mask, x, y, whole_box=True).all()  # tied over the box


def test_saliency_of_a_local_decoder_peaks_at_the_chosen_point() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 3, padding=1)

    def decode(z: torch.Tensor) -> torch.Tensor:
        return conv(F.interpolate(z, size=(64, 64), mode="bilinear", align_corners=False))

    z = torch.randn(1, 1, 16, 16)
    sal = saliency(decode, z, point=(37, 10))
    assert sal.shape == (1, 16, 16)
    row, col = np.unravel_index(int(sal[0].argmax()), (16, 16))
    assert abs(row - 37 // 4) <= 1 and abs(col - 10 // 4) <= 1
    assert sal[0, 0, 15] == 0  # far cells cannot reach a local output
    assert conv.weight.grad is None
    with pytest.raises(ConfigError, match="outside"):
        saliency(decode, z, point=(64, 0))


def test_lamb_oseen_circulation_and_velocity() -> None:
    n, length = 256, 8.0
    x = -length / 2 + length / n * (np.arange(n) + 0.5)
    vortex = LambOseen(x=0.3, y=-0.2, core_radius=0.5, circulation=2.0)
    omega = vortex.vorticity(x, x)
    assert omega.sum() * (length / n) ** 2 == pytest.approx(2.0, rel=1e-4)
    assert omega.max() == pytest.approx(2.0 / (math.pi * 0.25), rel=1e-2)
    u, v = vortex.velocity(x, x)
    # line integral of the velocity along a circle of radius 3 around the centre ≈ Γ
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    px, py = 0.3 + 3 * np.cos(theta), -0.2 + 3 * np.sin(theta)
    ix = np.clip(np.searchsorted(x, px), 0, n - 1)
    iy = np.clip(np.searchsorted(x, py), 0, n - 1)
    tangential = -u[iy, ix] * np.sin(theta) + v[iy, ix] * np.cos(theta)
    assert tangential.mean() * 2 * np.pi * 3 == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ConfigError):
        LambOseen(0, 0, 0.0, 1.0)


def test_insert_vortex_changes_vorticity_and_velocity_only_in_the_fluid() -> None:
    x = np.linspace(-1, 1, 32)
    field = np.zeros((3, 32, 32), np.float32)
    mask = np.ones((32, 32))
    mask[:4] = 0
    out = insert_vortex(field, ("vorticity", "u", "p"), x, x, LambOseen(0, 0, 0.3, 1.0), mask)
    assert out[0].max() > 1 and np.abs(out[1]).max() > 0.1
    assert np.all(out[2] == 0) and np.all(out[:, :4] == 0)
    with pytest.raises(ConfigError, match="channels"):
        insert_vortex(field, ("p", "q", "r"), x, x, LambOseen(0, 0, 0.3, 1.0))


def _tiny(name: str, scenario: str = "temporal"):
    from diano.models.presets import default_config
    from diano.models.registry import build_model

    return build_model(name, default_config(name, "cylinder2d", scenario, size="tiny")).eval()


def test_playground_march_matches_the_models_own_step() -> None:
    model = _tiny("diano")
    shape, box = marching_latent(model)
    settings = settings_from_model(model)
    solver = build_solver(settings, shape, box)
    assert stability(solver, settings).ok
    z = torch.randn(1, model.config.latent_channels, *shape)
    states = march(solver, z, 3, settings)
    assert len(states) == 3
    with torch.no_grad():
        expected = model.step(z, 3)
    torch.testing.assert_close(states[-1], expected, rtol=1e-5, atol=1e-6)
    residual = latent_residual(solver, torch.cat([z, *states]), settings.dt)
    assert residual.shape == (3,) and float(residual.max()) < 0.05


def test_playground_marches_a_carrier_latent_like_the_model() -> None:
    """A carrier model's settings keep its source columns and march with its own solver;
    the same settings go through a session bundle unchanged; bad carrier settings are
    refused with a clear message."""
    from diano.explore.playground import settings_from_dict, settings_to_dict
    from diano.models.presets import carrier_config, default_config
    from diano.models.registry import build_model

    config = carrier_config(default_config("diano", "cylinder2d", "temporal"))  # 16×16
    model = build_model("diano", config).eval()
    shape, box = marching_latent(model)
    settings = settings_from_model(model)
    assert settings.carrier and settings.source == config.pde.source
    assert settings.boundary == ("carrier", "periodic")
    assert settings_from_dict(settings_to_dict(settings)) == settings
    solver = build_solver(settings, shape, box)
    z = torch.randn(1, 2, *shape)
    states = march(solver, z, 3, settings)
    with torch.no_grad():
        expected = model.step(z, 3)
    torch.testing.assert_close(states[-1], expected, rtol=1e-5, atol=1e-6)
    residual = latent_residual(solver, torch.cat([states[0], *states[1:]]), settings.dt)
    assert residual.shape == (2,) and float(residual.max()) < 0.05
    # the same latent marched with a periodic x boundary: both channels wrap round
    periodic = dataclasses.replace(settings, boundary=("periodic", "periodic"))
    assert isinstance(build_solver(periodic, shape, box), AdvectionDiffusion2d)
    with pytest.raises(ConfigError, match="positive x velocity"):
        build_solver(dataclasses.replace(settings, velocity=(-1.0, 0.0)), shape, box)
    with pytest.raises(ConfigError, match="source columns"):
        build_solver(dataclasses.replace(settings, source=None), shape, box)
    entry = settings_to_dict(settings)
    with pytest.raises(DataError, match="source"):
        settings_from_dict({**entry, "source": [5, 2]})
    with pytest.raises(DataError, match="boundary"):
        settings_from_dict({**entry, "source": None})  # a carrier x boundary, no columns


def test_playground_marches_a_learned_rate_like_the_model_or_without_it() -> None:
    """A carrier model with a learned local rate: its settings switch the rate on and march
    like the model; switched off they march the pure advection–diffusion; the rate needs
    the carrier and a model that has one."""
    from diano.explore import describe_pde, learned_rate, model_solver
    from diano.explore.playground import settings_from_dict, settings_to_dict
    from diano.models.presets import carrier_config, default_config
    from diano.models.registry import build_model

    config = carrier_config(default_config("diano", "cylinder2d", "temporal"))
    config = dataclasses.replace(config, pde=dataclasses.replace(config.pde, correction=4))
    torch.manual_seed(0)
    model = build_model("diano", config).eval()
    with torch.no_grad():  # a trained rate: the zero-initialised output layer filled in
        model.solver.correction.out.weight.normal_(0.0, 0.5)
        model.solver.correction.out.bias.fill_(1.0)
    settings = settings_from_model(model)
    assert settings.learned and learned_rate(model) is model.solver.correction
    assert settings_from_dict(settings_to_dict(settings)) == settings
    old = {k: v for k, v in settings_to_dict(settings).items() if k != "learned"}
    assert not settings_from_dict(old).learned  # bundles written before the rate existed
    z = torch.randn(1, 2, *config.latent_shape)
    states = march(model_solver(settings, model), z, 3, settings)
    with torch.no_grad():
        expected = model.step(z, 3)
    torch.testing.assert_close(states[-1], expected, rtol=1e-5, atol=1e-6)
    pure = dataclasses.replace(settings, learned=False)
    plain = march(model_solver(pure, model), z, 3, pure)
    assert float((plain[-1] - expected).abs().max()) > 1e-3
    assert "+ f(z, x, y)" in describe_pde(model) and "(149 parameters)" in describe_pde(model)
    pure_model = build_model(
        "diano", carrier_config(default_config("diano", "cylinder2d", "temporal"))
    )
    assert "f(z" not in describe_pde(pure_model) and "columns 3–6" in describe_pde(pure_model)
    assert describe_pde(_tiny("cno")) is None
    shape, box = marching_latent(model)
    with pytest.raises(ConfigError, match="has none"):
        build_solver(settings, shape, box)  # no rate given
    with pytest.raises(ConfigError, match="'carrier' x boundary"):
        model_solver(dataclasses.replace(settings, boundary=("periodic", "periodic")), model)
    with pytest.raises(DataError, match="learned"):
        settings_from_dict({**settings_to_dict(settings), "learned": "yes"})


def test_playground_warns_instead_of_blowing_up() -> None:
    model = _tiny("diano")
    shape, box = marching_latent(model)
    fast = SolverSettings(nu=0.0, velocity=(40.0, 0.0), dt=0.05, n_substeps=1)
    solver = build_solver(fast, shape, box)
    report = stability(solver, fast)
    assert not report.ok and report.n_substeps_needed > 1
    with pytest.raises(UnstableSolverError, match="CFL"):
        march(solver, torch.randn(1, 1, *shape), 2, fast)
    auto = SolverSettings(nu=0.0, velocity=(40.0, 0.0), dt=0.05, n_substeps="auto")
    states = march(build_solver(auto, shape, box), torch.randn(1, 1, *shape), 2, auto)
    assert all(torch.isfinite(s).all() for s in states)


def test_playground_needs_a_temporal_diano() -> None:
    with pytest.raises(ConfigError, match="playground"):
        marching_latent(_tiny("cno"))
    with pytest.raises(ConfigError, match="playground"):
        marching_latent(_tiny("diano", "static"))


def test_predict_with_a_registered_model_and_the_synthetic_street() -> None:
    case = vortex_street(n=32, n_times=5)
    assert case["fields"].shape == (5, 3, 32, 32)
    assert case["mask"][16, 8] == 0 and case["mask"][0, 0] == 1
    truth = case["fields"][:, :1]
    model = _tiny("diano")
    pred = predict(model, truth, "latent", start=1, n_steps=3)
    assert pred.fields.shape == (4, 1, 32, 32)
    assert pred.latents.shape == (4, 1, *model.config.latent_shape)
    vector = predict(_tiny("mlp_ae"), truth, "reconstruction")
    assert vector.latents is None and vector.fields.shape == truth.shape
