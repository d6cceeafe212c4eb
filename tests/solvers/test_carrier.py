"""The carrier latent: an open field fed inside a source window by a periodic carrier.

References: the carrier is an exact periodic advection (compared with the travelling wave
``sin(2π(x − ct))``), the field away from the source is the open solver's own result, and a
wave the carrier holds is shed into the field and fills the box downstream of the source
after one pass while the inflow side stays empty.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch.autograd import gradcheck

from diano.errors import ConfigError
from diano.models import build_model
from diano.models.presets import carrier_config, default_config, source_columns
from diano.solvers import AdvectionDiffusion2d, CarrierAdvection2d

F64 = torch.float64
SHAPE = (16, 32)  # (My, Mx)
SOURCE = (8, 12)  # source columns


def _solver(**changes: object) -> CarrierAdvection2d:
    settings = {
        "source": SOURCE,
        "velocity": (0.5, 0.0),
        "nu": 0.0,
        "dt": 0.01,
        "n_substeps": 1,
        "scheme": "central2",
        "dtype": F64,
    }
    settings.update(changes)
    return CarrierAdvection2d(SHAPE, (0.5, 1.0), **settings)


def _x(shape: tuple[int, int] = SHAPE, length: float = 1.0) -> torch.Tensor:
    return (torch.arange(shape[1], dtype=F64) + 0.5) * length / shape[1]


def test_carrier_channel_is_the_periodic_travelling_wave() -> None:
    solver = _solver()
    x = _x()
    z = torch.zeros(1, 2, *SHAPE, dtype=F64)
    z[:, 1] = torch.sin(2 * math.pi * x)
    n = 40  # t = 0.4, c·t = 0.2 box lengths
    out = solver(z, n)
    exact = torch.sin(2 * math.pi * (x - 0.5 * n * 0.01)).expand(SHAPE)
    assert torch.allclose(out[0, 1], exact, atol=2e-2)  # central2 phase error on 32 cells


def test_field_is_inflow_carrier_and_open_solver_column_by_column() -> None:
    solver = _solver(nu=1e-3)
    x0, x1 = SOURCE
    open_solver = AdvectionDiffusion2d(
        (SHAPE[0], SHAPE[1] - x1 + 1), (0.5, 1.0 * (SHAPE[1] - x1 + 1) / SHAPE[1]),
        velocity=(0.5, 0.0), nu=1e-3, dt=0.01, scheme="central2",
        boundary=("upwind", "periodic"), inflow_value=None, dtype=F64,
    )  # fmt: skip
    z = torch.randn(2, 2, *SHAPE, dtype=F64)
    one = solver(z, 1)
    assert torch.equal(one[:, 0, :, :x0], torch.zeros_like(one[:, 0, :, :x0]))
    assert torch.equal(one[:, 0, :, x0:x1], one[:, 1, :, x0:x1])
    fed = torch.cat([z[:, 1:, :, x1 - 1 : x1], z[:, :1, :, x1:]], dim=-1)
    assert torch.allclose(one[:, 0, :, x1:], open_solver(fed, 1)[:, 0, :, 1:], atol=1e-13)


def test_carrier_sheds_into_an_empty_field_and_nothing_leaks_upstream() -> None:
    solver = _solver(nu=1e-4)
    x = _x()
    z = torch.zeros(1, 2, *SHAPE, dtype=F64)
    z[:, 1] = torch.sin(4 * math.pi * x)  # a wave train the carrier holds everywhere
    z[:, 0] = torch.exp(-(((x - 0.1) / 0.05) ** 2))  # what the field held upstream leaves
    x0, x1 = SOURCE
    for n, fill in ((50, 0.97), (150, 0.99)):  # a quarter, then all of one box length
        z = solver(z, n)
        field, carrier = z[0, 0], z[0, 1]
        assert float(field[:, :x0].abs().max()) == 0.0
        # the wave has filled the box downstream of the source up to the front at c·t
        front = min(SHAPE[1], x1 + round(0.5 * 0.01 * n * SHAPE[1]) - 2) if n == 50 else SHAPE[1]
        pair = field[:, x1:front].reshape(-1), carrier[:, x1:front].reshape(-1)
        assert torch.corrcoef(torch.stack(pair))[0, 1] > fill
    assert float(field[:, x1:].abs().max()) > 0.9  # shed at full amplitude


def test_gradcheck_carrier_march() -> None:
    solver = CarrierAdvection2d(
        (6, 8), source=(2, 4), velocity=(0.6, 0.1), nu=0.02, dt=0.01, dtype=F64
    )
    z = torch.randn(2, 2, 6, 8, dtype=F64, requires_grad=True)
    assert gradcheck(lambda z: solver(z, 3), (z,))


def test_bad_carrier_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="source columns"):
        _solver(source=(30, 31))  # leaves too few columns downstream
    with pytest.raises(ConfigError, match="source columns"):
        _solver(source=(4, 4))
    with pytest.raises(ConfigError, match="positive x velocity"):
        _solver(velocity=(-0.5, 0.0))
    with pytest.raises(ConfigError, match=r"\(B, 2, 16, 32\)"):
        _solver()(torch.zeros(1, 1, *SHAPE, dtype=F64))
    base = default_config("diano", "cylinder2d", "temporal", size="tiny")
    config = carrier_config(dataclasses.replace(base, latent_shape=(8, 8)))
    with pytest.raises(ConfigError, match="latent_channels=2"):
        type(config)(**{**config.__dict__, "latent_channels": 1})
    with pytest.raises(ConfigError, match="temporal"):
        carrier_config(default_config("diano", "cylinder2d", "static", size="tiny"))


def test_cylinder_source_columns_cover_the_cylinder_and_near_wake() -> None:
    # 16 columns over x ∈ [-2, 6]: centres -1.75, -1.25, ...; x ∈ [-0.5, 1.5] holds the
    # centres -0.25 … 1.25 (the cylinder is x ∈ [-0.5, 0.5])
    assert source_columns(16) == (3, 7)
    from diano.data.generators.cylinder import CylinderConfig
    from diano.models.presets import CYLINDER_WINDOW

    assert CylinderConfig(re=100.0).window == CYLINDER_WINDOW


def test_carrier_diano_decodes_its_field_and_marches_both_channels() -> None:
    torch.manual_seed(0)
    tiny = default_config("diano", "cylinder2d", "temporal", size="tiny")
    with pytest.raises(ConfigError, match="columns downstream"):
        build_model("diano", carrier_config(tiny))  # a 4-column latent is too short
    config = carrier_config(dataclasses.replace(tiny, latent_shape=(8, 8)))
    model = build_model("diano", config).eval()
    u = torch.randn(2, 1, *config.grid_shape)
    z = model.encode(u)
    assert z.shape == (2, 2, *config.latent_shape)
    hidden = z.clone()
    hidden[:, 1] += 5.0  # the carrier is not decoded ...
    assert torch.equal(model.decode(hidden), model.decode(z))
    # ... but it is shed into the field by the march
    assert not torch.allclose(model.decode(model.step(hidden)), model.decode(model.step(z)))


def test_carrier_diano_checkpoint_round_trip(tmp_path) -> None:
    from diano.checkpoints import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    tiny = default_config("diano", "cylinder2d", "temporal", size="tiny")
    model = build_model("diano", carrier_config(dataclasses.replace(tiny, latent_shape=(8, 8))))
    model.set_normalizer({"mean": [0.1], "std": [2.0]}, {"mean": [0.1], "std": [2.0]})
    path = tmp_path / "diano-temporal.safetensors"
    save_checkpoint(
        model.eval(), path, benchmark="cylinder2d", metrics={}, data_sha256="", command=""
    )
    loaded, _ = load_checkpoint(path)
    assert loaded.config == model.config and loaded.config.pde.source == (1, 4)
    u = torch.randn(1, 1, *tiny.grid_shape)
    with torch.no_grad():
        torch.testing.assert_close(loaded.rollout(u, 5), model.rollout(u, 5), rtol=0, atol=0)


def test_rhs_is_the_rate_the_march_follows() -> None:
    """The carrier's ``rhs`` is what a small step adds: a march of the solver has a PDE
    residual of O(dt²), a frozen latent one of 1 (the playground's residual view)."""
    from diano.metrics import advection_diffusion_residual

    solver = _solver(nu=1e-3)
    x = _x()
    z = torch.zeros(1, 2, *SHAPE, dtype=F64)
    z[:, 1] = torch.sin(2 * math.pi * x) + 0.3 * torch.cos(6 * math.pi * x)
    z[:, 0, :, SOURCE[1] :] = 0.5 * torch.sin(4 * math.pi * x[SOURCE[1] :])
    z = solver(z, 5)  # the field consistent with the source
    rate = solver.rhs(z)
    assert rate.shape == z.shape
    assert torch.all(rate[:, 0, :, : SOURCE[0]] == 0)  # nothing enters upstream
    assert torch.equal(rate[:, 0, :, SOURCE[0] : SOURCE[1]], rate[:, 1, :, SOURCE[0] : SOURCE[1]])
    small = solver(z, 1, dt=1e-4)
    assert torch.allclose((small - z) / 1e-4, rate, atol=1e-2 * float(rate.abs().max()))
    states = [z]
    for _ in range(4):
        states.append(solver(states[-1], 1))
    marched = advection_diffusion_residual(torch.stack(states, 1), 0.01, solver)
    frozen = advection_diffusion_residual(torch.stack([z, z, z], 1), 0.01, solver)
    # the periodic solver alone gives 5e-4 here; the jump the field still has where it meets
    # the source (set by hand above) adds the rest, and it settles step by step
    assert float(marched.max()) < 5e-3 and marched[0, -1] < marched[0, 0]
    assert torch.allclose(frozen, torch.ones_like(frozen))
    with pytest.raises(ConfigError, match="carrier latent"):
        solver.rhs(z[:, :1])
