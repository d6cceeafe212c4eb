"""Training settings (:class:`TrainConfig`) and the named recipes that fill them in.

A recipe is a named set of overrides on :class:`TrainConfig` (and, for DIANO, on the latent
PDE); ``diano train ... --preset NAME`` picks one. The recipes encode what was measured to
work on 2 CPU cores (``reference/method.md`` §11–13):

- ``default``: the measured best for each scenario. Temporal and geometric models train on
  multi-step latent-only rollouts (a curriculum of the horizon K up to ``k_max``, decoding
  only a few of the marched steps), plus reconstruction, plus for DIANO a scale-invariant
  readability tie ``w · (1 − corr(z, pooled truth))`` on the encoded and marched latents.
  The cylinder's temporal DIANO has a carrier latent, tied over the whole box.
  Static DIANO reconstructs with its latent tied to the pooled input over the whole box;
  many-to-one DIANO ties its latent velocities to the pooled velocities.
- ``paper``: the authors' one-step teacher forcing (K = 1, no tie) with their latent PDE
  (diagonal advection, ν = 2/Re), kept so that their claims can be checked.
- ``quick``: a tiny model and a few hundred samples, a CI smoke test (< 2 minutes on CPU).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from diano.errors import ConfigError

TieRegion = Literal["wake", "box"]


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained.

    Attributes:
        epochs: number of epochs (each ``iters_per_epoch`` optimiser steps).
        iters_per_epoch: optimiser steps per epoch; the validation runs after each epoch.
        minutes: wall-clock budget; training stops (keeping the best state) when it is spent.
            The learning-rate schedule and the horizon curriculum follow the larger of the
            epoch fraction and the time fraction, so a budget-limited run still anneals.
        batch_size: samples per optimiser step (per process under DDP).
        lr: peak learning rate of Adam.
        weight_decay: Adam's (decoupled) weight decay.
        warmup: fraction of the run with a linear learning-rate warm-up.
        grad_clip: gradient-norm clip (0 disables).
        seed: seed of the weights, the sampling and the split.
        holdout: static split: ``"random"`` 80/20 snapshots (the paper) or ``"time"`` (the
            last 20 % of each case).
        train_fraction: share of each case's snapshots (or of all samples) used to train.
        k_start, k_max: horizon of the rollout loss at the start and at the end of the
            curriculum (temporal and geometric scenarios); K = 1 is one-step teacher forcing.
        k_ramp: fraction of the run over which K grows geometrically from ``k_start`` to
            ``k_max``.
        n_decoded: marched steps decoded per sample (step 1, step K and random ones between).
        recon_weight: weight of the reconstruction loss ``D(E(u)) ≈ u``.
        field_loss: how a decoded field is compared with the truth
            (:mod:`diano.training.objectives`): ``"mse"``, the mean squared error of the
            normalised fields over fluid cells, or ``"relative"``, their squared relative L2
            per sample (the evaluation's measure), which weighs a low-energy snapshot, such as
            a pulsatile flow's slow phase, as much as a strong one.
        tie_weight: weight of the readability tie (0 disables; DIANO only).
        tie_region: where the tie is measured on the cylinder: ``"wake"`` (latent columns from
            1 D behind the cylinder centre to the window's end) or ``"box"`` (all fluid).
        edit_weight: weight of the edit-response term (0 disables; DIANO on a 2D latent grid):
            a random Gaussian bump added to the encoded latent must decode to the same bump
            in the first output channel, ``w · (1 − corr(D(z + b) − D(z), b on the grid))``.
        edit_start: share of the run after which the edit-response term joins the loss
            (0: from the start).
        edit_steps: marching models: the edited and the original latents are marched a
            random 0…``edit_steps`` steps before the decoded change is compared with the
            bump carried that far at the latent's x-speed (0: compared at once).
        edit_amplitude: mean peak of those bumps in latent standard deviations; each bump's
            peak is drawn from ``[0.5, 1.5] × edit_amplitude``.
        patience: epochs without a better validation score before stopping early (0: never).
        val_samples: validation samples (windows) scored each epoch.
        num_workers: data-loader worker processes.
        max_train_samples: cap on the training samples (0: all); the quick preset uses it.
        symmetry: many-to-one on coronary3d: draw each training pair under a random one of
            the eight exact symmetries of the vessel's square cross-section
            (:mod:`diano.training.augment`).
    """

    epochs: int = 40
    iters_per_epoch: int = 50
    minutes: float = 45.0
    batch_size: int = 8
    lr: float = 3.0e-3
    weight_decay: float = 1.0e-5
    warmup: float = 0.03
    grad_clip: float = 1.0
    seed: int = 0
    holdout: Literal["random", "time"] = "random"
    train_fraction: float = 0.8
    k_start: int = 4
    k_max: int = 100
    k_ramp: float = 0.6
    n_decoded: int = 4
    recon_weight: float = 1.0
    field_loss: Literal["mse", "relative"] = "mse"
    tie_weight: float = 0.5
    tie_region: TieRegion = "wake"
    edit_weight: float = 0.0
    edit_amplitude: float = 2.0
    edit_start: float = 0.0
    edit_steps: int = 0
    patience: int = 0
    val_samples: int = 16
    num_workers: int = 0
    max_train_samples: int = 0
    symmetry: bool = False

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.iters_per_epoch >= 1, "iters_per_epoch must be >= 1"),
            (self.minutes > 0, "minutes must be > 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (0 <= self.warmup < 1, "warmup must lie in [0, 1)"),
            (1 <= self.k_start <= self.k_max, "need 1 <= k_start <= k_max"),
            (0 < self.k_ramp <= 1, "k_ramp must lie in (0, 1]"),
            (self.n_decoded >= 1, "n_decoded must be >= 1"),
            (
                min(self.tie_weight, self.recon_weight, self.edit_weight) >= 0,
                "loss weights must be >= 0",
            ),
            (self.edit_amplitude > 0, "edit_amplitude must be > 0"),
            (0 <= self.edit_start < 1, "edit_start must lie in [0, 1)"),
            (self.edit_steps >= 0, "edit_steps must be >= 0"),
            (self.tie_region in ("wake", "box"), "tie_region must be 'wake' or 'box'"),
            (0 < self.train_fraction < 1, "train_fraction must lie in (0, 1)"),
            (self.holdout in ("random", "time"), "holdout must be 'random' or 'time'"),
            (self.field_loss in ("mse", "relative"), "field_loss must be 'mse' or 'relative'"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"training config: {message}")

    def horizon(self, progress: float) -> int:
        """Rollout horizon K at ``progress`` ∈ [0, 1] of the run (geometric ramp)."""
        if self.k_max == self.k_start:
            return self.k_max
        f = min(1.0, max(0.0, progress) / self.k_ramp)
        return int(round(self.k_start * (self.k_max / self.k_start) ** f))

    def lr_factor(self, progress: float) -> float:
        """Linear warm-up then cosine decay to 2 % of the peak."""
        import math

        p = min(1.0, max(0.0, progress))
        if self.warmup > 0 and p < self.warmup:
            return max(p / self.warmup, 0.01)
        q = (p - self.warmup) / max(1e-12, 1.0 - self.warmup)
        return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * q))

    def replace(self, **changes: Any) -> TrainConfig:
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}")
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Recipe:
    """A named training recipe.

    Attributes:
        train: overrides of :class:`TrainConfig` per scenario (``"*"`` applies to all,
            ``"<scenario>:<model>"`` to one model in that scenario, ``"carrier"`` to a DIANO
            with a carrier latent).
        model_size: preset size of the model (``"default"`` or ``"tiny"``).
        latent: DIANO latent-PDE recipe: ``"measured"`` (x-advection at the vortex speed,
            small ν) or ``"paper"`` (diagonal advection, ν = 2/Re).
        carrier: DIANO's cylinder2d temporal latent is a carrier latent (an open field fed at
            the cylinder by a periodic carrier, :func:`~diano.models.presets.carrier_config`)
            unless the command says otherwise.
        correction: hidden width of the carrier latent's learned local rate
            (:class:`~diano.solvers.correction.LocalCorrection2d`; 0: none) unless the
            command's ``--correction`` says otherwise.
        standing: DIANO's stenosis2d line is a standing profile plus a travelling part
            (:func:`~diano.models.presets.standing_config`) unless the command says
            otherwise.
        skip_kernel: ``(benchmark, scenario)`` → width of DIANO's skip convolutions
            (:attr:`~diano.models.diano.DianoConfig.skip_kernel`) unless the command's
            ``--skip-kernel`` says otherwise; 1 (the paper's pointwise skip) elsewhere.
        description: one line for ``--help`` and the checkpoint metadata.
        scenario_descriptions: scenario (or ``"carrier"``) → the line for checkpoints of that
            scenario (or of a carrier latent), where the recipe trains it differently from
            what ``description`` says.
    """

    train: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_size: str = "default"
    latent: Literal["measured", "paper"] = "measured"
    carrier: bool = False
    correction: int = 0
    standing: bool = False
    skip_kernel: dict[tuple[str, str], int] = field(default_factory=dict)
    description: str = ""
    scenario_descriptions: dict[str, str] = field(default_factory=dict)

    def describe(self, scenario: str, carrier: bool = False, standing: bool = False) -> str:
        """The line a checkpoint of ``scenario`` (a carrier latent's, with ``carrier``; a
        standing line's, with ``standing``) records as its recipe."""
        if carrier and "carrier" in self.scenario_descriptions:
            return self.scenario_descriptions["carrier"]
        if standing and "standing" in self.scenario_descriptions:
            return self.scenario_descriptions["standing"]
        return self.scenario_descriptions.get(scenario, self.description)

    def train_config(
        self,
        scenario: str,
        model: str | None = None,
        carrier: bool = False,
        standing: bool = False,
        **overrides: Any,
    ) -> TrainConfig:
        """Settings for ``scenario`` (and ``model``): ``"*"``, then the scenario's, then
        ``"<scenario>:<model>"``'s, then ``"carrier"``'s for a carrier latent (``"standing"``'s
        for a standing line), then the given overrides (``None`` ones are skipped)."""
        values: dict[str, Any] = {}
        values.update(self.train.get("*", {}))
        values.update(self.train.get(scenario, {}))
        if model is not None:
            values.update(self.train.get(f"{scenario}:{model}", {}))
        if carrier:
            values.update(self.train.get("carrier", {}))
        if standing:
            values.update(self.train.get("standing", {}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return TrainConfig().replace(**values)


_STATIC = {"k_start": 1, "k_max": 1, "tie_weight": 0.0, "batch_size": 8, "iters_per_epoch": 50}
#: what the default and paper recipes do on the many-to-one map and static reconstruction
_MAP_TEXT = (
    "many-to-one map: MSE of the normalised output over fluid cells, each draw under one of "
    "the eight symmetries of the square cross-section"
)
_STATIC_TEXT = "static reconstruction: MSE of the normalised field over fluid cells"
_MAP = {
    "k_start": 1,
    "k_max": 1,
    "tie_weight": 0.0,
    "batch_size": 4,
    "iters_per_epoch": 50,
    "symmetry": True,
}

RECIPES: dict[str, Recipe] = {
    "default": Recipe(
        train={
            "static": {**_STATIC, "tie_weight": 0.5, "tie_region": "box"},
            "many_to_one": {**_MAP, "tie_weight": 0.5},
            # the 3D CNO's anti-aliased activations on a 128³ grid: two vessels a batch
            "many_to_one:cno": {"batch_size": 2},
            "temporal": {"k_max": 200, "batch_size": 4},
            "geometric": {"tie_weight": 0.0, "k_max": 100, "batch_size": 4},
            # the carrier's field is the coarse vorticity everywhere, zero upstream included;
            # a latent bump must decode to the same bump (what the latent editor stands on)
            "carrier": {"tie_region": "box", "edit_weight": 0.5},
            # the stenosis line read as the centreline velocity, encoded and marched; the
            # pulsatile flow's slow phase weighed as much as its peak (docs/results.md)
            "standing": {"tie_weight": 0.5, "field_loss": "relative"},
        },
        carrier=True,
        correction=16,
        standing=True,
        # the static reconstruction gains most from it (docs/results.md, "local skip")
        skip_kernel={("cylinder2d", "static"): 3},
        description="measured best: latent-only rollout loss with a horizon curriculum, "
        "reconstruction and a readability tie (DIANO)",
        scenario_descriptions={
            "carrier": "measured best: latent-only rollout loss with a horizon curriculum and "
            "reconstruction; DIANO's latent an open field fed at the cylinder by a periodic "
            "carrier, the field tied to the pooled vorticity over the whole box, a random "
            "latent bump asked to decode to the same bump in the vorticity, and a learned local "
            "rate in the latent PDE downstream of the cylinder",
            "many_to_one": f"{_MAP_TEXT}; DIANO's latent velocities tied to the box-averaged "
            "velocities",
            "static": f"{_STATIC_TEXT}; the latent tied to the pooled input over the box",
            "standing": "measured best: latent-only rollout loss with a horizon curriculum and "
            "reconstruction, each snapshot by its relative error; DIANO's line a standing "
            "profile the march leaves alone plus a travelling part, their sum tied to the "
            "centreline velocity read from the vorticity, and the march's change tied to the "
            "flow's",
        },
    ),
    "paper": Recipe(
        train={
            "*": {"k_start": 1, "k_max": 1, "tie_weight": 0.0, "recon_weight": 0.0},
            "static": _STATIC,
            "many_to_one": _MAP,
        },
        latent="paper",
        description="the authors' recipe: one-step teacher forcing, diagonal advection, nu = 2/Re",
        scenario_descriptions={"many_to_one": f"the authors' latent Poisson solve; {_MAP_TEXT}"},
    ),
    "quick": Recipe(
        train={
            "*": {
                "epochs": 3,
                "iters_per_epoch": 6,
                "minutes": 2.0,
                "batch_size": 4,
                "k_start": 2,
                "k_max": 4,
                "val_samples": 4,
                "max_train_samples": 200,
            },
            "static": {"k_start": 1, "k_max": 1, "tie_weight": 0.0},
            "many_to_one": {"k_start": 1, "k_max": 1, "tie_weight": 0.0, "batch_size": 2},
        },
        model_size="tiny",
        description="a tiny model for a smoke test (under 2 minutes on CPU)",
    ),
}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"unknown preset {name!r}; known: {sorted(RECIPES)}")
    return RECIPES[name]
