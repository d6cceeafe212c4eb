"""DIANO: Differentiable Autoencoding Neural Operator (Viknesh & Arzani, arXiv 2510.00233).

An FNO encoder maps a field on an N×N grid to an M×M latent grid on physical coordinates,
a differentiable PDE solver advances or maps that latent, and an FNO decoder rebuilds the
field. This package holds the models (DIANO and the baselines CNO, CNN and MLP
autoencoders), the latent solvers, validated data generators, training, evaluation and
checkpoints. It never imports streamlit; the app lives in ``diano.ui`` and ``pages/``.

Public API::

    diano.MODELS                      # name -> (config class, model class)
    diano.build_model(name, config)
    diano.load_pretrained(benchmark, model, scenario=None, device="cpu")
    diano.solvers.AdvectionDiffusion2d / AdvectionDiffusion1d / PressurePoisson3d
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

BENCHMARKS = ("cylinder2d", "stenosis2d", "coronary3d")
SCENARIOS = ("static", "temporal", "geometric", "many_to_one")
MODEL_NAMES = ("diano", "cno", "cnn_ae", "mlp_ae")

# Public names resolved on first use, so that `import diano` stays light and a
# sub-package's import error surfaces where that sub-package is used.
_LAZY = {
    "MODELS": ("diano.models.registry", "MODELS"),
    "build_model": ("diano.models.registry", "build_model"),
    "load_pretrained": ("diano.checkpoints", "load_pretrained"),
    "solvers": ("diano.solvers", None),
    "layers": ("diano.layers", None),
    "models": ("diano.models", None),
    "data": ("diano.data", None),
    "checkpoints": ("diano.checkpoints", None),
}

__all__ = ["BENCHMARKS", "SCENARIOS", "MODEL_NAMES", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'diano' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
