"""The model registry: one explicit dict from model name to (config class, model class).

The app, training, evaluation and the tests loop over :data:`MODELS`; adding a model is one
entry here plus its module (and its presets in :mod:`diano.models.presets`).
Configs travel through JSON (checkpoint metadata) with :func:`config_to_dict` and come back
with :func:`config_from_dict`, which restores tuples and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import torch

from diano.device import resolve_device
from diano.errors import ConfigError
from diano.models.base import LatentModel
from diano.models.cnn_ae import CNNAEConfig, CNNAutoencoder
from diano.models.cno import CNO, CNOConfig
from diano.models.diano import Diano, DianoConfig
from diano.models.mlp_ae import MLPAEConfig, MLPAutoencoder

MODELS: dict[str, tuple[type, type[LatentModel]]] = {
    "diano": (DianoConfig, Diano),
    "cno": (CNOConfig, CNO),
    "cnn_ae": (CNNAEConfig, CNNAutoencoder),
    "mlp_ae": (MLPAEConfig, MLPAutoencoder),
}


def _lookup(name: str) -> tuple[type, type[LatentModel]]:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {sorted(MODELS)}")
    return MODELS[name]


def _restore(value: Any, hint: Any) -> Any:
    """JSON value → config value: lists become tuples, dicts become the hinted dataclass."""
    if isinstance(value, dict) and dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return config_from_dict(hint, value)
    if isinstance(value, (list, tuple)):
        return tuple(_restore(v, None) for v in value)
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain dict (nested dataclasses included), ready for JSON."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise ConfigError(f"expected a config dataclass instance, got {type(config).__name__}")
    return dataclasses.asdict(config)


def config_from_dict(config_cls: type | str, data: dict[str, Any]) -> Any:
    """Rebuild a config from :func:`config_to_dict` output, also after a JSON round trip.

    Args:
        config_cls: the config class, or a registered model name.
        data: field values; lists are turned back into tuples and dicts into the nested
            config dataclass their field names (fields typed as a union of dataclasses are
            left as dicts for the config's own ``__post_init__``).

    Raises:
        ConfigError: unknown fields or values the config rejects.
    """
    if isinstance(config_cls, str):
        config_cls = _lookup(config_cls)[0]
    if not isinstance(data, dict):
        raise ConfigError(f"{config_cls.__name__} needs a dict of fields, got {data!r}")
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{config_cls.__name__} has no fields {unknown}; known fields: {sorted(known)}"
        )
    hints = typing.get_type_hints(config_cls)
    values = {key: _restore(value, hints.get(key)) for key, value in data.items()}
    try:
        return config_cls(**values)
    except TypeError as exc:
        raise ConfigError(f"invalid {config_cls.__name__} fields: {exc}") from exc


def build_model(
    name: str, config: Any = None, device: str | torch.device | None = None
) -> LatentModel:
    """Build a registered model.

    Args:
        name: a key of :data:`MODELS` (``"diano"``, ``"cno"``, ``"cnn_ae"``, ``"mlp_ae"``).
        config: the model's config instance, a dict of its fields (e.g. from checkpoint
            JSON) or ``None`` for the config class's defaults.
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or ``None`` (leave on the CPU).

    Raises:
        ConfigError: unknown name, a config of another model, or invalid fields.
    """
    config_cls, model_cls = _lookup(name)
    if config is None:
        config = config_cls()
    elif isinstance(config, dict):
        config = config_from_dict(config_cls, config)
    elif not isinstance(config, config_cls):
        raise ConfigError(
            f"model {name!r} needs a {config_cls.__name__}, got a {type(config).__name__}"
        )
    model = model_cls(config)
    return model if device is None else model.to(resolve_device(device))
