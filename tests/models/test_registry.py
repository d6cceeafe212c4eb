"""Contract tests over the registry: every model × every scenario it has presets for.

A model is covered the moment it is added to ``MODELS`` (its presets are required).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from diano.errors import ConfigError
from diano.models import (
    MODELS,
    PRESETS,
    DianoConfig,
    build_model,
    config_from_dict,
    config_to_dict,
    default_config,
    preset_cases,
)
from diano.models.base import MARCHING_SCENARIOS

CASES = preset_cases(sorted(set(MODELS) & set(PRESETS)))
IDS = [f"{m}-{b}-{s}" for m, b, s in CASES]


def tiny(name: str, benchmark: str, scenario: str):
    torch.manual_seed(0)
    config = default_config(name, benchmark, scenario, size="tiny")
    model = build_model(name, config)
    stats = {"mean": [0.3] * len(config.in_channels), "std": [2.0] * len(config.in_channels)}
    out = {"mean": [-0.1] * len(config.out_channels), "std": [0.5] * len(config.out_channels)}
    model.set_normalizer(stats, out)
    return config, model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_has_presets(name: str) -> None:
    assert name in PRESETS, f"model {name!r} is in MODELS but has no entry in PRESETS"
    assert preset_cases([name]), f"model {name!r} supports no benchmark × scenario"


@pytest.mark.parametrize(("name", "benchmark", "scenario"), CASES, ids=IDS)
def test_shapes_full_to_latent_to_full(name, benchmark, scenario, make_input) -> None:
    config, model = tiny(name, benchmark, scenario)
    u = make_input(config, batch=2)
    out_shape = (2, len(config.out_channels), *config.grid_shape)
    if scenario == "many_to_one":
        z = model.encode(u)
        assert z.shape == (2, *model.latent_shape)
        assert model.map(u).shape == out_shape
        return
    z = model.encode(u)
    assert z.shape == (2, *model.latent_shape)
    assert model.decode(z).shape == out_shape
    assert model(u).shape == out_shape
    if scenario in MARCHING_SCENARIOS:
        assert model.step(z).shape == z.shape


@pytest.mark.parametrize(("name", "benchmark", "scenario"), CASES, ids=IDS)
def test_backward_reaches_every_parameter(name, benchmark, scenario, make_input) -> None:
    config, model = tiny(name, benchmark, scenario)
    u = make_input(config)
    model(u).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize(("name", "benchmark", "scenario"), CASES, ids=IDS)
def test_save_load_round_trip_gives_identical_outputs(name, benchmark, scenario, make_input):
    config, model = tiny(name, benchmark, scenario)
    model.eval()
    u = make_input(config)
    blob = save_tensors({k: v.contiguous() for k, v in model.state_dict().items()})
    config_json = json.dumps(config_to_dict(config))
    restored_config = config_from_dict(name, json.loads(config_json))
    assert restored_config == config
    torch.manual_seed(123)  # a different initialisation, overwritten by the loaded weights
    restored = build_model(name, json.loads(config_json)).eval()
    restored.load_state_dict(load_tensors(blob), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(restored(u), model(u), rtol=0, atol=0)


@pytest.mark.parametrize(("name", "benchmark", "scenario"), CASES, ids=IDS)
def test_rollout_contract(name, benchmark, scenario, make_input) -> None:
    if scenario == "many_to_one":
        pytest.skip("many_to_one maps fields; it does not march")
    config, model = tiny(name, benchmark, scenario)
    u = make_input(config)
    with torch.no_grad():
        zero = model.rollout(u, 0)
        assert zero.shape == (2, 1, len(config.out_channels), *config.grid_shape)
        torch.testing.assert_close(zero[:, 0], model.decode(model.encode(u)))
        if scenario not in MARCHING_SCENARIOS:
            return
        traj = model.rollout(u, 3)
        assert traj.shape == (2, 4, len(config.out_channels), *config.grid_shape)
        torch.testing.assert_close(traj[:, 0], zero[:, 0])
        latent_only = model.rollout(u, 2)
        reencoded = model.rollout(u, 2, reencode=True)
        torch.testing.assert_close(latent_only[:, :2], reencoded[:, :2])
        assert not torch.allclose(latent_only[:, 2], reencoded[:, 2], atol=1e-6)


@pytest.mark.parametrize(("name", "benchmark", "scenario"), CASES, ids=IDS)
def test_decode_at_twice_the_resolution(name, benchmark, scenario, make_input) -> None:
    if scenario == "many_to_one":
        pytest.skip("the many-to-one decoder takes the mapped latent; see test_diano")
    config, model = tiny(name, benchmark, scenario)
    fine = tuple(2 * n for n in config.grid_shape)
    with torch.no_grad():
        out = model.decode(model.encode(make_input(config)), output_shape=fine)
    assert out.shape == (2, len(config.out_channels), *fine)
    assert torch.isfinite(out).all()


def test_build_model_accepts_dicts_and_rejects_unknown_names() -> None:
    config = default_config("diano", "cylinder2d", "temporal", size="tiny")
    model = build_model("diano", config_to_dict(config))
    assert model.config == config
    with pytest.raises(ConfigError, match="known models: .*diano"):
        build_model("unet", config)
    with pytest.raises(ConfigError, match="no fields"):
        build_model("diano", {**config_to_dict(config), "colour": "red"})


def test_config_round_trip_keeps_tuples_and_nested_configs() -> None:
    config = default_config("diano", "cylinder2d", "temporal")
    restored = config_from_dict(DianoConfig, json.loads(json.dumps(config_to_dict(config))))
    assert restored == config
    assert isinstance(restored.grid_shape, tuple) and isinstance(restored.pde.velocity, tuple)
    assert type(restored.pde) is type(config.pde)


def test_default_config_errors_name_the_options() -> None:
    with pytest.raises(ConfigError, match="supported scenarios"):
        default_config("diano", "coronary3d", "temporal")
    with pytest.raises(ConfigError, match="known"):
        default_config("diano", "airfoil2d")
    with pytest.raises(ConfigError, match="size"):
        default_config("diano", "cylinder2d", size="huge")


def test_building_models_does_not_import_streamlit() -> None:
    code = (
        "import sys, diano\n"
        "from diano.models import MODELS, build_model, default_config, preset_cases\n"
        "for name, benchmark, scenario in preset_cases(sorted(MODELS)):\n"
        "    build_model(name, default_config(name, benchmark, scenario, size='tiny'))\n"
        "bad = [m for m in ('streamlit', 'plotly', 'pyvista') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
