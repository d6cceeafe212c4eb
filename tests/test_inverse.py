"""Inverse edits (diano.explore.inverse) and the multi-resolution decode (diano.explore.resolution)
on tiny random-weight models: the objective falls, the region is respected, the model's
weights never change, the PDE option stays stable, bad input gets a clear error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from diano.errors import ConfigError, UnstableSolverError
from diano.explore import settings_from_model
from diano.explore.inverse import InverseConfig, Region, inverse_edit, pde_settings
from diano.explore.resolution import (
    FACTORS,
    Reference,
    decode_at,
    decode_shapes,
    decode_support,
    grid_points,
    interpolate,
    resolution_errors,
)
from diano.models import build_model
from diano.models.presets import default_config

N = 16


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """A tiny temporal DIANO (16² grid, 8² latent, 8D × 8D box), random weights."""
    torch.manual_seed(0)
    config = dataclasses.replace(
        default_config("diano", "cylinder2d", "temporal", size="tiny"),
        grid_shape=(N, N),
        latent_shape=(8, 8),
        n_modes=(4, 4),
        width=4,
        n_layers=2,
    )
    m = build_model("diano", config)
    m.eval()
    return m  # parameters keep requires_grad=True: the edit must not touch them anyway


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, np.ndarray]:
    h = 8.0 / N
    return -2.0 + h * (np.arange(N) + 0.5), -4.0 + h * (np.arange(N) + 0.5)


@pytest.fixture()
def z0(model) -> torch.Tensor:
    torch.manual_seed(1)
    with torch.no_grad():
        return model.encode(torch.randn(1, 1, N, N))


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_latent_edit_lowers_the_loss_and_leaves_the_model_alone(model, grid, z0) -> None:
    x, y = grid
    mask = Region((0.0, 3.0), (-1.5, 1.5)).mask(x, y)
    with torch.no_grad():  # a target the random decoder can reach: another latent's field
        target = model.decode(z0 + torch.randn_like(z0))[0, 0].numpy()
    before = _state(model)
    steps = list(inverse_edit(model, z0, mask, target, InverseConfig(n_iters=25, lr=0.1)))
    assert [s.iteration for s in steps] == list(range(26))
    assert steps[-1].loss < 0.5 * steps[0].loss
    assert steps[-1].rms < steps[0].rms
    assert not torch.equal(steps[-1].z, z0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_only_the_region_counts(model, grid, z0) -> None:
    x, y = grid
    mask = Region((0.0, 3.0), (-1.5, 1.5)).mask(x, y)
    with torch.no_grad():
        u = model.decode(z0)[0, 0].numpy()
    # the target equals the field inside the region and differs everywhere outside it
    target = np.where(mask, u, u + 100.0)
    steps = list(inverse_edit(model, z0, mask, target, InverseConfig(n_iters=3, lr=0.1)))
    assert steps[0].loss == pytest.approx(0.0, abs=1e-10)
    assert torch.allclose(steps[-1].z, z0, atol=1e-6)  # nothing to do: no gradient
    # keeping the rest: the field outside the region changes less
    free = list(inverse_edit(model, z0, mask, 3.0, InverseConfig(n_iters=20, lr=0.1)))
    kept = list(
        inverse_edit(model, z0, mask, 3.0, InverseConfig(n_iters=20, lr=0.1, keep_weight=10.0))
    )
    with torch.no_grad():
        out_free = (model.decode(free[-1].z)[0, 0].numpy() - u)[~mask]
        out_kept = (model.decode(kept[-1].z)[0, 0].numpy() - u)[~mask]
    assert np.abs(out_kept).mean() < np.abs(out_free).mean()


def test_marching_latent_edit_goes_through_the_solver(model, grid, z0) -> None:
    x, y = grid
    mask = Region((-2.0, 6.0), (-4.0, 4.0)).mask(x, y)
    with torch.no_grad():
        target = model.decode(model.step(z0, 3))[0, 0].numpy() + 0.5
    steps = list(inverse_edit(model, z0, mask, target, InverseConfig(n_iters=20, n_steps=3)))
    assert steps[-1].loss < steps[0].loss


def test_pde_option_fits_and_stays_stable(model, grid, z0) -> None:
    x, y = grid
    mask = Region((-2.0, 6.0), (-4.0, 4.0)).mask(x, y)
    settings = settings_from_model(model)
    faster = dataclasses.replace(settings, velocity=(1.5 * settings.velocity[0], 0.2))
    from diano.explore import build_solver, marching_latent

    with torch.no_grad():
        z_goal = build_solver(faster, *marching_latent(model))(z0, 4)
        target = model.decode(z_goal)[0, 0].numpy()
    before = _state(model)
    config = InverseConfig("pde", n_iters=30, lr=0.05, n_steps=4)
    steps = list(inverse_edit(model, z0, mask, target, config, settings=settings))
    assert steps[-1].loss < 0.5 * steps[0].loss
    assert steps[0].nu == pytest.approx(settings.nu, rel=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    solver = build_solver(settings, *marching_latent(model))
    for s in steps:  # every visited setting is stable for the chosen sub-steps
        assert s.nu > 0
        report = solver.stability(s.nu, torch.tensor([s.velocity]), n_substeps=settings.n_substeps)
        assert report.ok
    assert pde_settings(steps[-1], settings).velocity == steps[-1].velocity


def test_inverse_edits_a_carrier_latent_through_its_own_solver(grid) -> None:
    """A two-channel carrier latent: the latent edit and the PDE fit both march it with the
    carrier solver (the field fed at the cylinder) and stay stable."""
    from diano.models.presets import carrier_config

    torch.manual_seed(0)
    base = dataclasses.replace(
        default_config("diano", "cylinder2d", "temporal", size="tiny"),
        grid_shape=(N, N), latent_shape=(8, 8), n_modes=(4, 4), width=4, n_layers=2,
    )  # fmt: skip
    model = build_model("diano", carrier_config(base)).eval()
    settings = settings_from_model(model)
    assert settings.carrier
    x, y = grid
    mask = Region((1.0, 6.0), (-4.0, 4.0)).mask(x, y)
    with torch.no_grad():
        z0 = model.encode(torch.randn(1, 1, N, N))
        target = model.decode(model.step(z0, 3))[0, 0].numpy() + 0.5
    edit = list(inverse_edit(model, z0, mask, target, InverseConfig(n_iters=15, n_steps=3)))
    assert edit[-1].loss < edit[0].loss and edit[-1].z.shape == (1, 2, 8, 8)
    config = InverseConfig("pde", n_iters=10, lr=0.05, n_steps=3)
    fit = list(inverse_edit(model, z0, mask, target, config, settings=settings))
    assert all(np.isfinite(s.loss) for s in fit) and fit[0].nu == pytest.approx(settings.nu)


def test_pde_option_is_cut_back_at_the_stability_limit(model, grid, z0) -> None:
    x, y = grid
    mask = Region((-2.0, 6.0), (-4.0, 4.0)).mask(x, y)
    # start just below the CFL limit (|c|·dt/h = 30 · 0.01 · 8 = 2.4, limit 2.83) with steps
    # of half the start velocity: most steps would cross the limit
    settings = dataclasses.replace(settings_from_model(model), velocity=(30.0, 0.0), n_substeps=1)
    config = InverseConfig("pde", n_iters=15, lr=0.5, n_steps=2)
    steps = list(inverse_edit(model, z0, mask, 50.0, config, settings=settings))
    from diano.explore import build_solver, marching_latent

    solver = build_solver(settings, *marching_latent(model))
    for s in steps:
        assert solver.stability(s.nu, torch.tensor([s.velocity]), n_substeps=1).ok
    assert any(s.cut for s in steps)
    assert all(np.isfinite(s.loss) for s in steps)


def test_unstable_start_settings_raise_a_clear_error(model, grid, z0) -> None:
    x, y = grid
    mask = Region((0.0, 3.0), (-1.5, 1.5)).mask(x, y)
    settings = dataclasses.replace(settings_from_model(model), velocity=(500.0, 0.0), n_substeps=1)
    with pytest.raises(UnstableSolverError, match="CFL"):
        inverse_edit(model, z0, mask, 0.0, InverseConfig("pde", n_steps=1), settings=settings)


@pytest.mark.parametrize(
    ("region", "message"),
    [
        (Region((3.0, 1.0), (-1.0, 1.0)), "must increase"),
        (Region((20.0, 30.0), (-1.0, 1.0)), "holds no grid point"),
        (Region((float("nan"), 1.0), (-1.0, 1.0)), "finite"),
    ],
)
def test_bad_regions_are_refused(grid, region, message) -> None:
    with pytest.raises(ConfigError, match=message):
        region.mask(*grid)


def test_bad_targets_and_settings_are_refused(model, grid, z0) -> None:
    x, y = grid
    mask = Region((0.0, 3.0), (-1.5, 1.5)).mask(x, y)
    config = InverseConfig(n_iters=2)
    with pytest.raises(ConfigError, match="must match the decoded grid"):
        inverse_edit(model, z0, mask, np.zeros((5, 5)), config)
    with pytest.raises(ConfigError, match="NaN or Inf"):
        inverse_edit(model, z0, mask, np.full((N, N), np.nan), config)
    with pytest.raises(ConfigError, match="finite"):
        inverse_edit(model, z0, mask, float("inf"), config)
    with pytest.raises(ConfigError, match="empty"):
        inverse_edit(model, z0, np.zeros((N, N), bool), 0.0, config)
    with pytest.raises(ConfigError, match="region mask has shape"):
        inverse_edit(model, z0, np.ones((4, 4), bool), 0.0, config, output_shape=(N, N))
    with pytest.raises(ConfigError, match="n_iters"):
        InverseConfig(n_iters=100_000)
    with pytest.raises(ConfigError, match="n_steps >= 1"):
        InverseConfig("pde", n_steps=0)
    with pytest.raises(ConfigError, match="variable"):
        InverseConfig("weights")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lr"):
        InverseConfig(lr=-1.0)


def test_pde_option_needs_a_latent_pde(grid) -> None:
    cnn = build_model(
        "cnn_ae",
        dataclasses.replace(default_config("cnn_ae", "cylinder2d", size="tiny")),
    )
    cnn.eval()
    n = cnn.config.grid_shape[0]
    with torch.no_grad():
        z = cnn.encode(torch.randn(1, 1, n, n))
    mask = np.ones((n, n), bool)
    with pytest.raises(ConfigError, match="marches DIANO"):
        inverse_edit(cnn, z, mask, 0.0, InverseConfig("pde", n_steps=1))
    # the latent option works for a baseline with a grid latent
    steps = list(inverse_edit(cnn, z, mask, 1.0, InverseConfig(n_iters=5, lr=0.1)))
    assert steps[-1].loss < steps[0].loss


# -- multi-resolution decode -------------------------------------------------------------
def test_decode_at_three_resolutions(model, grid, z0) -> None:
    shapes = decode_shapes((N, N))
    assert shapes == [(N // 2, N // 2), (N, N), (2 * N, 2 * N)]
    fields = decode_at(model, z0, shapes)
    assert [f.shape[1:] for f in fields] == shapes
    assert "any resolution" in decode_support(model)
    with pytest.raises(ConfigError):
        decode_shapes((N, N), (0.0,))


def test_interpolation_and_errors_against_the_finest_truth(grid) -> None:
    x, y = grid
    # a smooth field: interpolation of the truth onto any decoded grid is nearly exact
    fx, fy = grid_points(x, y, (2 * N, 2 * N))
    assert np.allclose(np.diff(fx), 4.0 / N) and fx[0] == pytest.approx(-2.0 + 2.0 / N)

    def smooth(xx, yy):
        return np.sin(0.5 * xx)[None, :] * np.cos(0.4 * yy)[:, None]

    assert np.allclose(interpolate(smooth(x, y), x, y, x, y), smooth(x, y))
    coarse = Reference(smooth(x, y), x, y, None, "data")
    fine = Reference(smooth(fx, fy), fx, fy, None, "fine")
    decoded = [smooth(*grid_points(x, y, s)) for s in decode_shapes((N, N))]
    rows = resolution_errors(decoded, FACTORS, [coarse, fine], x, y)
    # coarser than the data: against the data's cell averages; else the finest truth
    assert [r.reference for r in rows] == ["data, box-averaged", "fine", "fine"]
    assert all(r.rel_l2 < 0.02 for r in rows)
    rows = resolution_errors(decoded, FACTORS, [coarse], x, y)
    assert rows[-1].rel_l2 is None and rows[1].rel_l2 == pytest.approx(0.0, abs=1e-12)
