"""Baselines (CNO, CNN-AE, MLP-AE): shapes per scenario, anti-aliasing of the CNO
activation, the learned stepper, latent sizes and parameter budgets."""

from __future__ import annotations

import math

import pytest
import torch

from diano.errors import ConfigError
from diano.models import build_model, default_config, preset_cases
from diano.models.cnn_ae import CNNAEConfig, CNNAutoencoder
from diano.models.cno import (
    CNO,
    AntiAliasedActivation,
    CNOConfig,
    fourier_resample,
)
from diano.models.mlp_ae import MLPAEConfig, MLPAutoencoder
from diano.models.stepper import LatentStepper

VEL = {"in_channels": ("u", "v", "w"), "out_channels": ("p",)}


def tiny(name: str, scenario: str, dims: int = 2):
    """A tiny model of each baseline: 32² (latent 8²) in 2D, 16³ (latent 4³) in 3D."""
    channels = VEL if scenario == "many_to_one" else {}
    grid = (32, 32) if dims == 2 else (16, 16, 16)
    if name == "cno":
        return CNO(CNOConfig(scenario, grid_shape=grid, hidden_channels=4, n_levels=2, **channels))
    if name == "cnn_ae":
        latent = tuple(n // 4 for n in grid)
        cfg = CNNAEConfig(
            scenario,
            grid_shape=grid,
            latent_shape=latent,
            hidden_channels=4,
            max_channels=8,
            stepper_hidden=4,
            **channels,
        )
        return CNNAutoencoder(cfg)
    cfg = MLPAEConfig(
        scenario,
        grid_shape=grid,
        latent_size=64,
        pooled_shape=(8, 8),
        hidden_features=(32,),
        stepper_hidden=16,
    )
    return MLPAutoencoder(cfg)


CASES = [
    ("cno", "static", 2),
    ("cno", "temporal", 2),
    ("cno", "geometric", 2),
    ("cno", "temporal", 3),
    ("cno", "many_to_one", 3),
    ("cnn_ae", "static", 2),
    ("cnn_ae", "temporal", 2),
    ("cnn_ae", "geometric", 2),
    ("cnn_ae", "static", 3),
    ("cnn_ae", "many_to_one", 3),
    ("mlp_ae", "static", 2),
    ("mlp_ae", "temporal", 2),
    ("mlp_ae", "geometric", 2),
]


@pytest.mark.parametrize(("name", "scenario", "dims"), CASES)
def test_shapes(name: str, scenario: str, dims: int) -> None:
    model = tiny(name, scenario, dims)
    grid = model.config.grid_shape
    u = torch.randn(2, len(model.config.in_channels), *grid)
    z = model.encode(u)
    assert tuple(z.shape) == (2, *model.latent_shape)
    n_out = len(model.config.out_channels)
    expected = {
        "cno": (len(model.config.in_channels), *grid),  # the normalised field itself
        "cnn_ae": (1, *(n // 4 for n in grid)),
        "mlp_ae": (64,),
    }[name]
    assert model.latent_shape == expected
    assert tuple(model.decode(z).shape) == (2, n_out, *grid)
    fine = tuple(2 * n for n in grid)
    assert tuple(model.decode(z, output_shape=fine).shape) == (2, n_out, *fine)
    assert tuple(model(u).shape) == (2, n_out, *grid)
    if scenario == "many_to_one":
        assert tuple(model.map(u).shape) == (2, 1, *grid)
        with pytest.raises(ConfigError, match="does not step"):
            model.step(z)
    elif scenario == "static":
        with pytest.raises(ConfigError, match="does not step"):
            model.step(z)
    else:
        assert model.step(z, 3).shape == z.shape
        assert tuple(model.rollout(u, 4).shape) == (2, 5, n_out, *grid)
        assert tuple(model.rollout(u, 2, reencode=True).shape) == (2, 3, n_out, *grid)
        with pytest.raises(ConfigError, match="diano"):
            model.step(z, nu=0.1)


@pytest.mark.parametrize("name", ["cno", "cnn_ae", "mlp_ae"])
def test_other_input_resolution_is_resampled(name: str) -> None:
    model = tiny(name, "temporal")
    u = torch.randn(1, 1, 48, 40)
    z = model.encode(u)
    assert tuple(z.shape[1:]) == model.latent_shape
    assert tuple(model.rollout(u, 1).shape) == (1, 2, 1, 48, 40)


def test_cno_latent_is_the_normalised_field_and_rollout0_returns_input() -> None:
    model = tiny("cno", "temporal")
    model.set_normalizer({"mean": [2.0], "std": [3.0]})
    u = torch.randn(2, 1, 32, 32) * 3 + 2
    torch.testing.assert_close(model.encode(u), (u - 2) / 3)
    torch.testing.assert_close(model.rollout(u, 0)[:, 0], u)
    stepped = model.step(model.encode(u))
    assert not torch.allclose(stepped, model.encode(u))


def test_cno_static_reconstruction_runs_the_operator() -> None:
    model = tiny("cno", "static")
    u = torch.randn(2, 1, 32, 32)
    rec = model.decode(model.encode(u))
    assert (rec - u).abs().mean() > 0.1  # not an identity
    torch.testing.assert_close(model.rollout(u, 0)[:, 0], rec)
    with torch.no_grad():
        model.operator.project.bias.add_(1.0)
    torch.testing.assert_close(model.decode(model.encode(u)), rec + 1.0)


def _band_limited(n: int, dims: int) -> torch.Tensor:
    """A random periodic field with modes |k| <= n/8 on a cell-centred grid, float64."""
    torch.manual_seed(1)
    kmax = n // 8
    spec_shape = (1, 2, *([n] * (dims - 1)), n // 2 + 1)
    spec = torch.zeros(spec_shape, dtype=torch.complex128)
    idx = [slice(None), slice(None)]
    for _ in range(dims - 1):
        idx.append(list(range(kmax + 1)) + list(range(n - kmax, n)))
    low = torch.randn(1, 2, *([2 * kmax + 1] * (dims - 1)), kmax + 1, dtype=torch.complex128)
    # scatter the low block into the spectrum corner by corner
    ix = torch.meshgrid(*[torch.tensor(i) for i in idx[2:]], torch.arange(kmax + 1), indexing="ij")
    spec[(slice(None), slice(None), *ix)] = low
    x = torch.fft.irfftn(spec, s=(n,) * dims, dim=tuple(range(-dims, 0)), norm="forward")
    return x / x.std() * 1.5


def _ideal(x: torch.Tensor, act: torch.nn.Module) -> torch.Tensor:
    """The activation of the band-limited function evaluated on a 16× finer grid, then ideally
    low-passed back to the grid: what an alias-free activation returns."""
    n = tuple(x.shape[2:])
    fine = fourier_resample(x, tuple(16 * s for s in n))
    return fourier_resample(act(fine), n)


@pytest.mark.parametrize(
    ("resampling", "dims", "activation", "limit"),
    [
        ("fourier", 2, "lrelu", 0.2),
        ("fourier", 2, "gelu", 0.01),
        ("fourier", 3, "lrelu", 0.2),
        ("bicubic", 2, "lrelu", 0.9),
    ],
)
def test_cno_activation_is_anti_aliased(
    resampling: str, dims: int, activation: str, limit: float
) -> None:
    """A pointwise activation folds the harmonics above the grid's Nyquist band back into the
    band; the CNO activation must leave far less of that aliased energy than the naive one."""
    n = 32 if dims == 2 else 16
    x = _band_limited(n, dims)
    block = AntiAliasedActivation(activation, resampling, "same").double()
    ideal = _ideal(x, block.act)
    naive_alias = (block.act(x) - ideal).norm()
    cno_alias = (block(x) - ideal).norm()
    ratio = float(cno_alias / naive_alias)
    # measured: fourier 0.11 (lrelu, 2D), 0.07 (lrelu, 3D), 0.001 (gelu); bicubic 0.79: its
    # up/down pair also blurs the band (1.4 % error with an identity activation)
    assert ratio < limit, f"aliased energy ratio {ratio:.3f} (limit {limit})"


def test_fourier_resample_is_exact_for_band_limited_fields() -> None:
    def field(shape: tuple[int, int]) -> torch.Tensor:
        y, x = [(torch.arange(n, dtype=torch.float64) + 0.5) / n for n in shape]
        yy, xx = torch.meshgrid(y, x, indexing="ij")
        return (
            torch.sin(2 * math.pi * (3 * xx + 2 * yy) + 0.3)
            + torch.cos(2 * math.pi * (5 * yy - xx))
        )[None, None]

    torch.testing.assert_close(fourier_resample(field((16, 12)), (40, 36)), field((40, 36)))
    torch.testing.assert_close(fourier_resample(field((40, 36)), (15, 13)), field((15, 13)))
    x = torch.randn(1, 2, 8, 6, 10, dtype=torch.float64)
    up_down = fourier_resample(fourier_resample(x, (16, 12, 20)), (8, 6, 10))
    down_up = fourier_resample(fourier_resample(x, (7, 5, 9)), (8, 6, 10))
    torch.testing.assert_close(up_down, down_up)  # both drop exactly the Nyquist modes


def test_fourier_resample_gradcheck() -> None:
    x = torch.randn(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fourier_resample(t, (9, 8)), (x,))
    assert torch.autograd.gradcheck(lambda t: fourier_resample(t, (4, 4)), (x,))


@pytest.mark.parametrize(
    ("layout", "shape"), [("vector", (3, 16)), ("grid", (3, 1, 6, 6)), ("grid", (2, 2, 4, 4, 4))]
)
def test_latent_stepper_changes_latent_and_gets_gradients(
    layout: str, shape: tuple[int, ...]
) -> None:
    stepper = LatentStepper(layout, shape[1], hidden=8, spatial_dims=len(shape) - 2)
    z = torch.randn(shape)
    out = stepper(z, n=2)
    assert out.shape == z.shape
    assert (out - z).abs().mean() > 1e-3
    assert torch.equal(stepper(z, n=0), z)
    out.square().mean().backward()
    for name, p in stepper.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ConfigError, match="latent"):
        stepper(torch.randn(3, 5))


@pytest.mark.parametrize(
    ("name", "scenario"), [("cnn_ae", "temporal"), ("mlp_ae", "geometric"), ("cno", "temporal")]
)
def test_marching_baselines_train_their_step(name: str, scenario: str) -> None:
    model = tiny(name, scenario)
    u = torch.randn(2, 1, 32, 32)
    model.rollout(u, 2).square().mean().backward()
    stepper_grads = [p.grad for p in model.stepper.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in stepper_grads)


BASELINE_PRESETS = preset_cases(["cno", "cnn_ae", "mlp_ae"])


@pytest.mark.parametrize(("name", "benchmark", "scenario"), preset_cases(["cnn_ae", "mlp_ae"]))
def test_autoencoder_latents_have_dianos_size(name: str, benchmark: str, scenario: str) -> None:
    """At the default presets the autoencoders compress as much as DIANO: the MLP-AE latent
    vector has DIANO's M×M values, the CNN-AE latent grid the same number of points (the
    CNO has no bottleneck: its latent is the field)."""
    diano = build_model("diano", default_config("diano", benchmark, scenario))
    model = build_model(name, default_config(name, benchmark, scenario))
    diano_values = math.prod(diano.latent_shape[1:]) * diano.config.latent_channels
    if scenario == "many_to_one":  # DIANO encodes u, v, w; its mapped pressure latent is 1×M³
        diano_values = math.prod(diano.config.latent_shape)
    assert math.prod(model.latent_shape) == diano_values
    if name == "mlp_ae" and benchmark == "cylinder2d" and scenario == "temporal":
        assert model.latent_shape == (16 * 16,)


@pytest.mark.parametrize(("name", "benchmark", "scenario"), BASELINE_PRESETS)
def test_parameter_counts_fit_the_checkpoint_budget(name, benchmark, scenario, capsys) -> None:
    model = build_model(name, default_config(name, benchmark, scenario))
    n = model.n_parameters
    with capsys.disabled():
        print(f"\n{name}/{benchmark}/{scenario}: {n:,} parameters, {4 * n / 2**20:.1f} MiB float32")
    assert n > 1e4 and 4 * n < 60 * 2**20


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (CNOConfig, {"scenario": "sideways"}, "scenario"),
        (CNOConfig, {"grid_shape": (30, 32)}, "divisible"),
        (CNOConfig, {"grid_shape": (16, 16, 16), "resampling": "bicubic"}, "fourier"),
        (CNOConfig, {"activation": "relu6"}, "activation"),
        (CNOConfig, {"scenario": "temporal", **VEL}, "in_channels"),
        (CNNAEConfig, {"latent_shape": (16, 32)}, "power of two"),
        (CNNAEConfig, {"latent_shape": (48, 48)}, "power of two"),
        (CNNAEConfig, {"latent_shape": (16, 16, 16)}, "axes"),
        (MLPAEConfig, {"grid_shape": (16, 16, 16)}, "2 sizes"),
        (MLPAEConfig, {"scenario": "many_to_one"}, "scenario"),
        (MLPAEConfig, {"pooled_shape": (24, 24)}, "divide"),
    ],
)
def test_bad_configs_raise_config_error(factory, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        factory(**kwargs)


@pytest.mark.parametrize("name", ["cno", "cnn_ae", "mlp_ae"])
def test_wrong_input_shape_names_the_expected_shape(name: str) -> None:
    model = tiny(name, "static")
    with pytest.raises(ConfigError, match=r"\(B, 1"):
        model.encode(torch.randn(2, 3, 32, 32))
