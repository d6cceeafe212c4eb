"""Evaluation: scores of trained models on flow cases, per scenario.

Contents::

    evaluate_cases(model, cases, ...)   # diano.evaluation.protocols
    reconstruction, rollout_curve, map_scores   # diano.evaluation.scores
"""

from __future__ import annotations

from diano.evaluation.protocols import PERIOD_FRACTIONS, evaluate_cases, period_steps
from diano.evaluation.scores import map_scores, reconstruction, rollout_curve

__all__ = [
    "PERIOD_FRACTIONS",
    "evaluate_cases",
    "map_scores",
    "period_steps",
    "reconstruction",
    "rollout_curve",
]
