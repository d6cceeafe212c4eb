"""Models: DIANO and the baselines behind one contract (see ``diano.models.base``).

- ``registry``: :data:`MODELS` (name → (config class, model class)), :func:`build_model`,
  :func:`config_to_dict`, :func:`config_from_dict`;
- ``presets``: :func:`default_config` per model × benchmark × scenario (default / tiny);
- ``diano``: :class:`Diano`, :class:`DianoConfig`, :class:`AdvectionPDE`,
  :class:`PoissonPDE`, :func:`latent_velocity`, :func:`physical_coefficients`;
- baselines: :class:`CNO` / :class:`CNOConfig`, :class:`CNNAutoencoder` /
  :class:`CNNAEConfig`, :class:`MLPAutoencoder` / :class:`MLPAEConfig`.
"""

from diano.models.base import LatentModel, Normalizer
from diano.models.cnn_ae import CNNAEConfig, CNNAutoencoder
from diano.models.cno import CNO, CNOConfig
from diano.models.diano import (
    AdvectionPDE,
    Diano,
    DianoConfig,
    PoissonPDE,
    latent_velocity,
    physical_coefficients,
)
from diano.models.mlp_ae import MLPAEConfig, MLPAutoencoder
from diano.models.presets import PRESETS, default_config, paper_config, preset_cases
from diano.models.registry import MODELS, build_model, config_from_dict, config_to_dict

__all__ = [
    "MODELS",
    "PRESETS",
    "CNNAEConfig",
    "CNNAutoencoder",
    "CNO",
    "CNOConfig",
    "MLPAEConfig",
    "MLPAutoencoder",
    "AdvectionPDE",
    "Diano",
    "DianoConfig",
    "LatentModel",
    "Normalizer",
    "PoissonPDE",
    "build_model",
    "config_from_dict",
    "config_to_dict",
    "default_config",
    "latent_velocity",
    "physical_coefficients",
    "paper_config",
    "preset_cases",
]
