"""The learned local rate of a carrier latent, ``∂z/∂t = L z + f_θ(z, x)``.

References: with a constant rate r and an empty inflow, the open field is the exact solution
``z = r · min(t, (x − x_in)/c)`` of ``∂z/∂t + c ∂z/∂x = r``; a step is the pure solver's step
plus ``dt · f_θ`` (Lie splitting); an untrained correction is the pure solver, bit for bit.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.autograd import gradcheck

from diano.errors import ConfigError
from diano.models import build_model
from diano.models.presets import carrier_config, default_config
from diano.solvers import CarrierAdvection2d
from diano.solvers.correction import LocalCorrection2d

F64 = torch.float64
SHAPE = (16, 32)
SOURCE = (8, 12)
C, DT = 0.5, 0.01


def _solver(correction: int = 0, **changes: object) -> CarrierAdvection2d:
    settings = {"source": SOURCE, "velocity": (C, 0.0), "nu": 1e-4, "dt": DT, "dtype": F64}
    settings.update(changes)
    return CarrierAdvection2d(SHAPE, (0.5, 1.0), correction=correction, **settings)


def _trained(solver: CarrierAdvection2d, seed: int = 0) -> CarrierAdvection2d:
    """Random weights in the zero-initialised output layer (a correction after training)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        solver.correction.out.weight.normal_(0.0, 0.3)
        solver.correction.out.bias.normal_(0.0, 0.3)
    return solver


def test_untrained_correction_is_the_pure_solver() -> None:
    z = torch.randn(2, 2, *SHAPE, dtype=F64)
    plain, corrected = _solver(), _solver(correction=8)
    assert sum(p.numel() for p in corrected.parameters()) == 37 * 8 + 1
    assert torch.equal(corrected(z, 5), plain(z, 5))
    assert torch.equal(corrected.rhs(z), plain.rhs(z))


def test_a_step_is_the_pure_step_plus_dt_times_the_rate_downstream_only() -> None:
    z = torch.randn(2, 2, *SHAPE, dtype=F64)
    plain, corrected = _solver(), _trained(_solver(correction=8))
    rate = corrected.correction(z[:, :1])
    x1 = SOURCE[1]
    step = corrected(z, 1)
    torch.testing.assert_close(
        step[:, 0, :, x1:], plain(z, 1)[:, 0, :, x1:] + DT * rate[:, 0, :, x1:]
    )
    # the carrier, the source columns and the empty inflow region are the exact transport
    assert torch.equal(step[:, 1], plain(z, 1)[:, 1])
    assert torch.equal(step[:, 0, :, :x1], plain(z, 1)[:, 0, :, :x1])
    extra = corrected.rhs(z) - plain.rhs(z)
    torch.testing.assert_close(extra[:, 0, :, x1:], rate[:, 0, :, x1:])
    assert torch.all(extra[:, 0, :, :x1] == 0) and torch.all(extra[:, 1] == 0)
    # a dt override is used by the correction as by the solver
    half = corrected(z, 1, dt=DT / 2)
    torch.testing.assert_close(
        half[:, 0, :, x1:], plain(z, 1, dt=DT / 2)[:, 0, :, x1:] + DT / 2 * rate[:, 0, :, x1:]
    )


def test_constant_rate_fills_the_open_field_as_the_exact_solution() -> None:
    """∂z/∂t + c ∂z/∂x = r, z = 0 at the inflow and at t = 0: z = r · min(t, (x − x_in)/c)."""
    r = 2.0
    solver = _solver(correction=4)
    with torch.no_grad():  # a rate that ignores the field and the position: f = r
        solver.correction.out.bias.fill_(r)
    n = 40
    out = solver(torch.zeros(1, 2, *SHAPE, dtype=F64), n)
    x = (torch.arange(SHAPE[1], dtype=F64) + 0.5) / SHAPE[1]
    x_in = x[SOURCE[1] - 1]  # the inflow column: the last source column
    t = n * DT
    exact = r * torch.clamp((x - x_in) / C, max=t)
    field = out[0, 0]
    assert torch.allclose(
        field[:, SOURCE[1] :],
        exact[SOURCE[1] :].expand(SHAPE[0], -1),
        atol=0.06 * r * t,  # central2 smears the kink over two cells
    )
    assert torch.allclose(field[:, -6:], torch.full((SHAPE[0], 6), r * t, dtype=F64), atol=1e-8)
    assert torch.all(field[:, : SOURCE[1]] == 0)


def test_the_rate_is_local_and_depends_on_position() -> None:
    corr = _trained(_solver(correction=8)).correction
    field = torch.zeros(1, 1, *SHAPE, dtype=F64)
    with torch.no_grad():
        base = corr(field)
    assert float(base.std()) > 0  # the coordinate channels make it vary over the box
    bumped = field.clone()
    bumped[0, 0, 0, 20] = 1.0  # on the y edge: the periodic padding wraps the neighbourhood
    with torch.no_grad():
        change = (corr(bumped) - base)[0, 0].abs() > 0
    rows, cols = torch.nonzero(change, as_tuple=True)
    assert set(cols.tolist()) <= set(range(18, 23))
    assert set(rows.tolist()) <= {14, 15, 0, 1, 2} and 15 in rows.tolist()


def test_gradcheck_corrected_march_wrt_latent_and_weights() -> None:
    solver = CarrierAdvection2d(
        (6, 8), source=(2, 4), velocity=(0.6, 0.1), nu=0.02, dt=0.01, correction=3, dtype=F64
    )
    _trained(solver)
    z = torch.randn(2, 2, 6, 8, dtype=F64, requires_grad=True)
    weights = [p.detach().clone().requires_grad_(True) for p in solver.correction.parameters()]
    names = [n for n, _ in solver.correction.named_parameters()]

    def march(z: torch.Tensor, *ws: torch.Tensor) -> torch.Tensor:
        params = dict(zip(names, ws, strict=True))
        return torch.func.functional_call(
            solver, {f"correction.{k}": v for k, v in params.items()}, (z, 2)
        )

    assert gradcheck(march, (z, *weights))


def test_bad_corrections_are_refused() -> None:
    with pytest.raises(ConfigError, match="width >= 1"):
        LocalCorrection2d(SHAPE, 0)
    with pytest.raises(ConfigError, match=r"\(B, 1, 16, 32\)"):
        LocalCorrection2d(SHAPE, 4)(torch.zeros(1, 2, *SHAPE))
    tiny = dataclasses.replace(
        default_config("diano", "cylinder2d", "temporal", size="tiny"), latent_shape=(8, 8)
    )
    with pytest.raises(ConfigError, match="needs a carrier latent"):
        dataclasses.replace(tiny, pde=dataclasses.replace(tiny.pde, correction=4))


def test_corrected_diano_checkpoint_round_trip(tmp_path) -> None:
    from diano.checkpoints import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    tiny = default_config("diano", "cylinder2d", "temporal", size="tiny")
    config = carrier_config(dataclasses.replace(tiny, latent_shape=(8, 8)))
    config = dataclasses.replace(config, pde=dataclasses.replace(config.pde, correction=4))
    model = build_model("diano", config)
    _trained(model.solver)
    model.set_normalizer({"mean": [0.1], "std": [2.0]}, {"mean": [0.1], "std": [2.0]})
    path = tmp_path / "diano-temporal.safetensors"
    save_checkpoint(
        model.eval(), path, benchmark="cylinder2d", metrics={}, data_sha256="", command=""
    )
    loaded, _ = load_checkpoint(path)
    assert loaded.config.pde.correction == 4 and loaded.solver.correction is not None
    u = torch.randn(1, 1, *tiny.grid_shape)
    with torch.no_grad():
        torch.testing.assert_close(loaded.rollout(u, 5), model.rollout(u, 5), rtol=0, atol=0)
