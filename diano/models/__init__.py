"""Models: DIANO and the baselines behind one contract (see ``diano.models.base``).

``MODELS`` (in ``registry``) maps each name to its config class and model class.
"""

from diano.models.base import LatentModel, Normalizer

__all__ = ["LatentModel", "Normalizer"]
