"""Device selection: every entry point takes ``device`` as ``"cpu"``, ``"cuda"`` or ``"auto"``."""

from __future__ import annotations

import torch

from diano.errors import ConfigError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return a torch device; ``"auto"`` picks CUDA when present, else the CPU."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was asked for, but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'auto'") from exc
