"""Training: settings and recipes, data, losses, the loop and the ``diano train`` command.

Contents::

    TrainConfig, RECIPES, recipe        # diano.training.config
    training_data, tie_region           # diano.training.data
    Objective                           # diano.training.objectives (losses per scenario)
    train, validate, History            # diano.training.loop (resume, early stop, DDP)
"""

from __future__ import annotations

from diano.training.config import RECIPES, TrainConfig, recipe
from diano.training.loop import History, train, validate

__all__ = ["RECIPES", "History", "TrainConfig", "recipe", "train", "validate"]
