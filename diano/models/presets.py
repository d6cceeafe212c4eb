"""Configs per model × benchmark × scenario, in a default and a tiny size.

``default_config(model, benchmark, scenario=None, size="default")`` is what training, the
app and the tests start from. ``size="tiny"`` gives small, fast configs for tests and the
app's fixture models. Each model registers one :class:`ModelPresets` entry in
:data:`PRESETS`: the scenarios it supports per benchmark and a function building the config.

The benchmark facts (grids, boxes, channels, snapshot spacing) follow
``reference/data.md`` §4: ``cylinder2d`` 128×128 vorticity on an 8D × 8D window,
``stenosis2d`` 64×256 (H×W) vorticity on a 1H × 4H window, ``coronary3d`` 64³ (u, v, w) → p.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from diano.errors import ConfigError
from diano.models import cnn_ae, cno, mlp_ae
from diano.models.diano import (
    VORTEX_CONVECTION_SPEED,
    AdvectionPDE,
    DianoConfig,
    PoissonPDE,
    latent_velocity,
)

Size = Literal["default", "tiny"]
SIZES: tuple[str, ...] = ("default", "tiny")

#: scenario used when none is named
DEFAULT_SCENARIO: dict[str, str] = {
    "cylinder2d": "temporal",
    "stenosis2d": "geometric",
    "coronary3d": "many_to_one",
}

#: snapshot spacing of the cylinder data, D/U∞ (≈ 100 snapshots per shedding period)
CYLINDER_SNAPSHOT_DT = 0.05
#: snapshots per cardiac cycle in the stenosis data, whose time unit is the cycle
STENOSIS_SNAPSHOTS_PER_CYCLE = 100
#: window lengths the stenosis latent line travels per cardiac cycle (see :func:`stenosis_pde`)
STENOSIS_WINDOWS_PER_CYCLE = 1.0

_BENCHMARK = {
    # grid, box (tensor axis order, data length unit), input and output channels
    "cylinder2d": ((128, 128), (8.0, 8.0), ("vorticity",), ("vorticity",)),
    "stenosis2d": ((64, 256), (1.0, 4.0), ("vorticity",), ("vorticity",)),
    "coronary3d": ((64, 64, 64), (1.0, 1.0, 1.0), ("u", "v", "w"), ("p",)),
}
# tiny grids: the latent solvers need >= 3 (central2), >= 5 (OUCS2, Poisson) points per axis
_TINY_GRID = {"cylinder2d": (16, 16), "stenosis2d": (8, 32), "coronary3d": (16, 16, 16)}


@dataclass(frozen=True)
class ModelPresets:
    """One model's presets.

    Attributes:
        scenarios: benchmark → scenarios the model supports there.
        build: ``(benchmark, scenario, size) -> config``; called only for supported pairs.
    """

    scenarios: Mapping[str, tuple[str, ...]]
    build: Callable[[str, str, str], Any]


def benchmark_facts(benchmark: str, size: str = "default") -> dict[str, Any]:
    """Grid, extent and channel names of a benchmark (grid shrunk for ``size="tiny"``)."""
    if benchmark not in _BENCHMARK:
        raise ConfigError(f"unknown benchmark {benchmark!r}; known: {sorted(_BENCHMARK)}")
    grid, extent, inputs, outputs = _BENCHMARK[benchmark]
    grid = _TINY_GRID[benchmark] if size == "tiny" else grid
    return {"grid_shape": grid, "extent": extent, "in_channels": inputs, "out_channels": outputs}


def cylinder_pde(
    snapshot_dt: float = CYLINDER_SNAPSHOT_DT,
    re: float = 100.0,
    speed: float = VORTEX_CONVECTION_SPEED,
) -> AdvectionPDE:
    """The measured best latent for the cylinder wake (``method.md`` §13, "Fs").

    Advection along x at the vortex convection speed (``speed`` = 0.85 U∞) converted to the
    unit latent box, small diffusion ν = 0.01 · 2/Re, periodic in x and y, one RK4 step of 0.01.
    """
    velocity, dt = latent_velocity((speed, 0.0), snapshot_dt, _BENCHMARK["cylinder2d"][1])
    return AdvectionPDE(nu=0.01 * 2.0 / re, velocity=velocity, dt=dt, scheme="central2")


#: the stored cylinder window (x0, x1, y0, y1) in D, origin at the cylinder centre
#: (:class:`diano.data.generators.cylinder.CylinderConfig`)
CYLINDER_WINDOW = (-2.0, 6.0, -4.0, 4.0)
#: the carrier latent's source band on the cylinder, x0 and x1 in D: the cylinder and one
#: diameter of near wake
CYLINDER_SOURCE = (-0.5, 1.5)


def source_columns(
    n_x: int,
    window: tuple[float, float] = CYLINDER_WINDOW[:2],
    band: tuple[float, float] = CYLINDER_SOURCE,
) -> tuple[int, int]:
    """The latent columns ``(x_start, x_stop)`` whose centres lie inside the physical x
    ``band`` of ``n_x`` columns spanning ``window`` (x0, x1)."""
    h = (window[1] - window[0]) / n_x
    inside = [j for j in range(n_x) if band[0] <= window[0] + (j + 0.5) * h <= band[1]]
    if not inside:
        raise ConfigError(f"the band x ∈ {band} holds no centre of the {n_x} latent columns")
    return (inside[0], inside[-1] + 1)


def carrier_config(config: DianoConfig) -> DianoConfig:
    """A temporal cylinder DIANO config turned into a carrier latent: two latent channels,
    the field open in x, the carrier periodic and shedding into the field in the columns of
    :data:`CYLINDER_SOURCE` (:class:`~diano.solvers.carrier.CarrierAdvection2d`);
    coefficients unchanged."""
    if config.scenario != "temporal" or not isinstance(config.pde, AdvectionPDE):
        raise ConfigError(f"a carrier latent needs the temporal scenario, not {config.scenario!r}")
    pde = dataclasses.replace(
        config.pde,
        boundary=("upwind", config.pde.boundary[1]),
        source=source_columns(config.latent_shape[-1]),
    )
    return dataclasses.replace(config, latent_channels=2, pde=pde)


def standing_config(config: DianoConfig) -> DianoConfig:
    """A geometric DIANO config turned into a two-channel line: channel 0 a standing profile
    the march leaves alone (``pde.standing = 1``), channel 1 the travelling part the 1D
    solver advances; trained with their sum tied to the centreline velocity, the line reads
    as that velocity (``docs/results.md``). Coefficients unchanged."""
    if config.scenario != "geometric" or not isinstance(config.pde, AdvectionPDE):
        raise ConfigError(f"a standing line needs the geometric scenario, not {config.scenario!r}")
    pde = dataclasses.replace(config.pde, standing=1)
    return dataclasses.replace(config, latent_channels=2, pde=pde)


def stenosis_pde(
    windows_per_cycle: float = STENOSIS_WINDOWS_PER_CYCLE,
    snapshots_per_cycle: int = STENOSIS_SNAPSHOTS_PER_CYCLE,
) -> AdvectionPDE:
    """A periodic line along the channel, advected a fixed distance per cardiac cycle, small ν.

    The data's time unit is the cycle, whose length in H/U_mean grows with Re at a fixed
    Womersley number (T = πRe/(2α²) H/U_mean: 17.5 at Re 100, 26.2 at Re 150), so the latent
    speed is set in window lengths (4 H) per cycle, the same for every case. At one window
    per cycle the periodic line returns to itself after exactly one cycle, so a latent-only
    march is as periodic as the flow, and the line holds the cycle's phase along its length.
    The mean inflow speed would be 4.4–6.5 windows per cycle; 3.15 (a first guess, the mean
    flow speed at T = 12.6 H/U_mean) left the march's period unrelated to the cycle's and
    scored 0.94 / 0.26 / 0.65 at 0.5 / 1 / 2 cycles, against 0.12 / 0.11 / 0.11 at 1.0
    (``docs/results.md``).

    Each step is four RK4 sub-steps (CFL ≈ 0.16 on the 64-point line at one window per
    cycle; ≈ 0.5 at 3.15).
    """
    velocity, dt = latent_velocity((windows_per_cycle,), 1.0 / snapshots_per_cycle, (1.0,))
    return AdvectionPDE(nu=1.0e-3, velocity=velocity, dt=dt, n_substeps=4, boundary=("periodic",))


def _diano_preset(benchmark: str, scenario: str, size: str) -> DianoConfig:
    facts = benchmark_facts(benchmark, size)
    tiny = size == "tiny"
    grid = facts["grid_shape"]
    if benchmark == "coronary3d":
        shape = {
            "latent_shape": (8, 8, 8) if tiny else (16, 16, 16),
            "width": 4 if tiny else 16,
            "n_modes": (2, 2, 2) if tiny else (6, 6, 6),
            "n_layers": 1 if tiny else 2,
        }
        pde = PoissonPDE(box=facts["extent"])
    elif scenario == "geometric":
        shape = {
            "latent_shape": (grid[1] // 4,),
            "width": 8 if tiny else 32,
            "n_modes": (4, 4) if tiny else (8, 16),
            "n_layers": 2,
        }
        pde = stenosis_pde()
    else:
        # 128² → 16² (temporal) or 32² (static); the stenosis' static latent keeps its 1:4;
        # tiny grids coarsen less, so the latent solver still has a few points per axis
        ratio = (4 if scenario == "static" else 8) // (2 if tiny else 1)
        shape = {
            "latent_shape": tuple(n // ratio for n in grid),
            "width": 8 if tiny else 32,
            "n_modes": (4, 4) if tiny else (8, 8),
            "n_layers": 2 if tiny else 3,
        }
        pde = cylinder_pde() if scenario == "temporal" else None
    return DianoConfig(scenario=scenario, pde=pde, **facts, **shape)


PRESETS: dict[str, ModelPresets] = {
    "diano": ModelPresets(
        scenarios={
            "cylinder2d": ("temporal", "static"),
            "stenosis2d": ("geometric", "static"),
            "coronary3d": ("many_to_one",),
        },
        build=_diano_preset,
    ),
    "cno": ModelPresets(scenarios=cno.PRESET_SCENARIOS, build=cno.preset_config),
    "cnn_ae": ModelPresets(scenarios=cnn_ae.PRESET_SCENARIOS, build=cnn_ae.preset_config),
    "mlp_ae": ModelPresets(scenarios=mlp_ae.PRESET_SCENARIOS, build=mlp_ae.preset_config),
}


def supported_scenarios(model: str, benchmark: str) -> tuple[str, ...]:
    """Scenarios ``model`` has presets for on ``benchmark`` (empty if none)."""
    if model not in PRESETS:
        raise ConfigError(f"no presets for model {model!r}; models with presets: {sorted(PRESETS)}")
    if benchmark not in _BENCHMARK:
        raise ConfigError(f"unknown benchmark {benchmark!r}; known: {sorted(_BENCHMARK)}")
    return tuple(PRESETS[model].scenarios.get(benchmark, ()))


def default_config(
    model: str, benchmark: str, scenario: str | None = None, size: Size = "default"
) -> Any:
    """The config of ``model`` for ``benchmark`` and ``scenario`` (default: the benchmark's).

    Raises:
        ConfigError: unknown model, benchmark or size, or a scenario the model does not
            support on that benchmark (the message lists the supported ones).
    """
    if size not in SIZES:
        raise ConfigError(f"unknown preset size {size!r}; known: {list(SIZES)}")
    supported = supported_scenarios(model, benchmark)
    scenario = DEFAULT_SCENARIO[benchmark] if scenario is None else scenario
    if scenario not in supported:
        raise ConfigError(
            f"model {model!r} has no {scenario!r} preset for {benchmark!r}; "
            f"supported scenarios: {list(supported)}"
        )
    return PRESETS[model].build(benchmark, scenario, size)


def preset_cases(models: list[str] | None = None) -> list[tuple[str, str, str]]:
    """Every ``(model, benchmark, scenario)`` with a preset, for loops over the registry."""
    names = sorted(PRESETS) if models is None else models
    return [
        (name, benchmark, scenario)
        for name in names
        for benchmark in _BENCHMARK
        for scenario in supported_scenarios(name, benchmark)
    ]


def paper_config(
    benchmark: str = "cylinder2d", scenario: str | None = None, re: float = 100.0
) -> DianoConfig:
    """DIANO with the authors' settings (``method.md`` §1.3, §2.3–2.5) on our grids.

    Temporal: c = (1, 1) along the diagonal, ν = 2/Re, periodic, h = 1/M (unit box),
    dt = 0.01, OUCS2, one RK4 step per snapshot, 16 modes; geometric: c = 1, ν = 0.01;
    many-to-one: ρ = 1.06 and 100 Jacobi sweeps. Down-sampling decimates, as their code does.
    """
    config = default_config("diano", benchmark, scenario)
    paper_pde = {
        "static": None,
        "temporal": AdvectionPDE(nu=2.0 / re, velocity=(1.0, 1.0), dt=0.01, scheme="oucs2"),
        "geometric": AdvectionPDE(
            nu=0.01, velocity=(1.0,), dt=0.01, scheme="oucs2", boundary=("periodic",)
        ),
        "many_to_one": PoissonPDE(rho=1.06, method="jacobi", max_iter=100),
    }[config.scenario]
    modes = {"temporal": (16, 16), "static": (8, 8)}.get(config.scenario, config.n_modes)
    return dataclasses.replace(config, pde=paper_pde, n_modes=modes, pooling="decimate")
