"""DIANO-specific tests: initialisation, PDE overrides, latent PDE discovery, the velocity
conversion, masks, resolution, presets and config validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from diano.errors import ConfigError
from diano.models import (
    AdvectionPDE,
    Diano,
    DianoConfig,
    build_model,
    default_config,
    latent_velocity,
    paper_config,
    physical_coefficients,
)
from diano.models.presets import CYLINDER_SNAPSHOT_DT, cylinder_pde


def tiny(benchmark: str, scenario: str, **changes) -> Diano:
    config = default_config("diano", benchmark, scenario, size="tiny")
    return build_model("diano", dataclasses.replace(config, **changes))


def test_kaiming_init_output_is_not_collapsed(field) -> None:
    """A fresh model maps unit-variance input to O(1) latents and outputs (the default
    PyTorch init gave latent std ≈ 1e-3 in the feasibility prototype)."""
    config = DianoConfig(
        scenario="static", grid_shape=(64, 64), latent_shape=(8, 8), n_modes=(8, 8), width=32
    )
    model = Diano(config)
    u = field((64, 64), 1, batch=2)
    with torch.no_grad():
        z = model.encode(u)
        out = model.decode(z)
    assert 0.1 < z.std() < 10.0
    assert 0.1 < out.std() < 10.0


def test_velocity_conversion_matches_hand_computation() -> None:
    # 0.85 U∞ for 0.0525 D/U∞ is 0.044625 D per snapshot, 0.044625 / 8 of the unit box;
    # at dt = 0.01 the latent speed is 0.5578125
    velocity, dt = latent_velocity((0.85, 0.0), 0.0525, (8.0, 8.0))
    assert dt == 0.01
    assert velocity == pytest.approx((0.5578125, 0.0), rel=1e-12)
    # axes: velocity is (cx, cy, cz), extent and box are (Lz, Ly, Lx)
    velocity, dt = latent_velocity(
        (1.0, 2.0, 3.0), 0.1, (1.0, 2.0, 4.0), latent_dt=0.05, box=(1.0, 1.0, 2.0)
    )
    assert dt == 0.05
    assert velocity == pytest.approx((1.0 * 0.1 / 4.0 * 2.0 / 0.05, 2.0 * 0.1 / 2.0 / 0.05, 6.0))
    assert cylinder_pde(CYLINDER_SNAPSHOT_DT).velocity == pytest.approx((0.53125, 0.0))
    with pytest.raises(ConfigError, match="positive"):
        latent_velocity((1.0, 0.0), -0.1, (8.0, 8.0))


def test_physical_coefficients_invert_the_velocity_conversion() -> None:
    pde = cylinder_pde(0.0525, re=100.0, speed=0.85)
    found = physical_coefficients(pde, 0.0525, (8.0, 8.0))
    assert found["velocity"] == pytest.approx((0.85, 0.0), rel=1e-12)
    # ν = 0.01 · 2/Re on the unit box is 2e-4 · 8² D² per 0.01 latent time = 0.0525 D/U∞
    assert found["nu"] == pytest.approx(2.0e-4 * 64.0 * 0.01 / 0.0525, rel=1e-12)


def test_default_temporal_latent_is_the_measured_recipe() -> None:
    pde = default_config("diano", "cylinder2d").pde
    assert pde.velocity[1] == 0.0 and 0.5 < pde.velocity[0] < 0.6
    assert pde.nu == pytest.approx(0.01 * 2 / 100)
    assert pde.boundary == ("periodic", "periodic")


def test_per_sample_pde_overrides_in_step() -> None:
    model = tiny("cylinder2d", "temporal")
    z = torch.randn(3, 1, *model.config.latent_shape)
    nu = torch.tensor([0.0, 0.01, 0.05])
    velocity = torch.tensor([[0.5, 0.0], [0.0, 0.5], [-0.3, 0.2]])
    with torch.no_grad():
        batched = model.step(z, 2, nu=nu, velocity=velocity, dt=0.02)
        for i in range(3):
            alone = model.step(
                z[i : i + 1], 2, nu=float(nu[i]), velocity=tuple(velocity[i].tolist()), dt=0.02
            )
            torch.testing.assert_close(batched[i : i + 1], alone)
        assert not torch.allclose(batched[0], model.step(z, 2)[0])
        torch.testing.assert_close(model.step(z, 0), z)
    with pytest.raises(ConfigError, match="unknown PDE overrides"):
        model.step(z, 1, viscosity=0.1)


def test_learnable_pde_parameters_receive_gradients(field) -> None:
    fixed = tiny("cylinder2d", "temporal")
    assert not any("solver" in name for name, _ in fixed.named_parameters())
    model = tiny("cylinder2d", "temporal", learnable_pde=True)
    solver_params = dict(model.solver.named_parameters())
    assert set(solver_params) == {"log_nu", "velocity"}
    assert all(any(p is q for q in model.parameters()) for p in solver_params.values())
    u = field(model.config.grid_shape, 1)
    model.rollout(u, 3)[:, -1].square().mean().backward()
    for name, p in solver_params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    line = tiny("stenosis2d", "geometric", learnable_pde=True)
    assert {"log_nu", "velocity"} <= set(dict(line.solver.named_parameters()))


def test_encode_gives_the_latent_grid_at_twice_the_resolution(field) -> None:
    """The encoder's blocks emit fixed grids: a 2N input still gives the M latent, close
    to the latent of the N input for a field resolved on both."""
    model = Diano(DianoConfig(grid_shape=(32, 32), latent_shape=(8, 8), n_modes=(6, 6), width=16))
    u = field((32, 32), 1, batch=2)
    fine = nn.functional.interpolate(u, size=(64, 64), mode="bicubic", align_corners=False)
    with torch.no_grad():
        z, z_fine = model.encode(u), model.encode(fine)
    assert z_fine.shape == z.shape == (2, 1, 8, 8)
    assert (z_fine - z).norm() / z.norm() < 0.3


def test_geometric_height_average_ignores_solid_cells(field) -> None:
    model = tiny("stenosis2d", "geometric")
    shape = model.config.grid_shape
    u = field(shape, 1)
    mask = torch.ones(1, 1, *shape)
    mask[..., :2, :] = 0.0  # solid wall rows
    changed = u.clone()
    changed[..., :2, :] += 100.0
    with torch.no_grad():
        torch.testing.assert_close(model.encode(u, mask), model.encode(changed, mask))
        assert not torch.allclose(model.encode(u), model.encode(changed))
        assert model.rollout(u, 2, mask=mask).shape == (2, 3, 1, *shape)


def test_line_to_plane_lift_is_trained(field) -> None:
    model = tiny("stenosis2d", "geometric")
    model(field(model.config.grid_shape, 1)).square().mean().backward()
    lift = model.line_to_plane
    for p in (lift.profile, lift.offset, lift.line.weight):
        assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0


def test_many_to_one_masks_latents_and_output(field, mask_of) -> None:
    model = tiny("coronary3d", "many_to_one")
    shape = model.config.grid_shape
    u = field(shape, 3)
    mask = mask_of(shape)
    with torch.no_grad():
        z = model.encode(u, mask)
        assert z.shape == (2, 3, *model.config.latent_shape)
        solid = model.latent_mask(mask).expand_as(z) == 0
        assert solid.any() and (z[solid] == 0).all()
        p = model.map(u, mask)
        assert p.shape == (2, 1, *shape)
        assert (p[mask.expand_as(p) == 0] == 0).all()
        assert p[mask.expand_as(p) == 1].abs().sum() > 0
        torch.testing.assert_close(model(u, mask), p)
        fine = tuple(2 * n for n in shape)
        assert model.decode(z[:, :1], fine).shape == (2, 1, *fine)
        # the map is the decoded latent pressure of map_latents, whose velocities are encode's
        z2, latent_mask, p_latent = model.map_latents(u, mask)
        torch.testing.assert_close(z2, z)
        torch.testing.assert_close(latent_mask, model.latent_mask(mask))
        assert p_latent.shape == (2, 1, *model.config.latent_shape)
        assert (p_latent[latent_mask.expand_as(p_latent) == 0] == 0).all()
        torch.testing.assert_close(model.decode(p_latent, shape, mask), p)
    with pytest.raises(ConfigError, match="does not march"):
        model.rollout(u, 1)
    with pytest.raises(ConfigError, match="many_to_one"):
        tiny("cylinder2d", "static").map_latents(field((16, 16), 1))


def test_paper_preset_is_expressible(field) -> None:
    config = paper_config("cylinder2d", "temporal", re=150)
    assert config.pde.velocity == (1.0, 1.0)
    assert config.pde.nu == pytest.approx(2 / 150)
    assert config.pde.dt == 0.01 and config.pde.box is None  # unit box: h = 1/M
    assert config.pde.boundary == ("periodic", "periodic")
    assert config.pooling == "decimate"
    model = Diano(dataclasses.replace(config, grid_shape=(32, 32), latent_shape=(8, 8), width=4))
    assert model(field((32, 32), 1)).shape == (2, 1, 32, 32)
    assert paper_config("coronary3d").pde.method == "jacobi"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid_shape": (48, 48), "latent_shape": (20, 20)}, "power-of-two"),
        ({"scenario": "temporal", "latent_shape": (16,)}, "latent_shape"),
        ({"pde": AdvectionPDE()}, "static scenario has no latent PDE"),
        ({"scenario": "many_to_one"}, "axes"),
        ({"scenario": "rotating"}, "unknown scenario"),
        ({"scenario": "temporal", "out_channels": ("p",)}, "in == out"),
        ({"skip_kernel": 2}, "skip_kernel is odd"),
    ],
)
def test_invalid_configs_raise_config_error(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DianoConfig(**changes)


def test_local_skip_kernel_model_round_trips_and_decodes_any_resolution(field) -> None:
    """``skip_kernel=3`` builds 3×3 skip convolutions in every block of both halves; the
    config rebuilds from its dict (as a checkpoint stores it), and an old dict without the
    key gives the paper's pointwise skip."""
    model = tiny("cylinder2d", "temporal", skip_kernel=3)
    blocks = [*model.encoder.blocks, *model.decoder.blocks]
    assert all(tuple(b.skip.weight.shape[2:]) == (3, 3) for b in blocks)
    config = DianoConfig(**dataclasses.asdict(model.config))
    assert config.skip_kernel == 3
    old = dataclasses.asdict(model.config)
    del old["skip_kernel"]
    assert DianoConfig(**old).skip_kernel == 1
    assert model.config.network.endswith("3×3 convolution skip")
    assert "pointwise skip" in default_config("diano", "cylinder2d", "temporal").network
    u = field(model.config.grid_shape, 1, batch=2)
    z = model.encode(u)
    fine = tuple(2 * n for n in model.config.grid_shape)
    assert model.decode(z, output_shape=fine).shape == (2, 1, *fine)


def test_wrong_input_shape_is_named() -> None:
    model = tiny("cylinder2d", "static")
    with pytest.raises(ConfigError, match=r"\(B, 1, 2 spatial axes\)"):
        model.encode(torch.randn(2, 3, 16, 16))


def test_default_parameter_counts_are_moderate() -> None:
    for benchmark, scenario in [
        ("cylinder2d", "temporal"),
        ("cylinder2d", "static"),
        ("stenosis2d", "geometric"),
        ("coronary3d", "many_to_one"),
    ]:
        config = default_config("diano", benchmark, scenario)
        n = Diano(config).n_parameters
        assert 1e5 < n < 1e7, (benchmark, scenario, n)


def test_standing_line_keeps_its_profile_and_marches_the_rest(field) -> None:
    from diano.models.presets import standing_config

    config = standing_config(default_config("diano", "stenosis2d", "geometric", size="tiny"))
    assert config.latent_channels == 2 and config.pde.standing == 1
    model = build_model("diano", config).double()
    u = field(config.grid_shape, 1).double()
    z = model.encode(u)
    assert z.shape[1] == 2
    marched = model.step(z, 5)
    # the standing channel is untouched; the other is exactly the plain 1D solver's march
    torch.testing.assert_close(marched[:, :1], z[:, :1], rtol=0, atol=0)
    torch.testing.assert_close(marched[:, 1:], model.solver(z[:, 1:], n_steps=5))
    assert not torch.allclose(marched[:, 1:], z[:, 1:])
    # both channels reach the decoder
    model(u).square().mean().backward()
    assert model.line_to_plane.line.weight.grad[:, 0].abs().sum() > 0
    # float64 gradcheck of the split march
    zc = z.detach()[:1].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: model.step(x, 2), (zc,))
    with pytest.raises(ConfigError, match="standing"):
        dataclasses.replace(config, latent_channels=1)
    with pytest.raises(ConfigError, match="standing"):
        DianoConfig(
            scenario="temporal",
            latent_channels=2,
            pde=AdvectionPDE(standing=1),
        )
    with pytest.raises(ConfigError, match="geometric"):
        standing_config(default_config("diano", "cylinder2d", "temporal", size="tiny"))
