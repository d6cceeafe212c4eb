"""Device selection: every entry point takes ``device`` as ``"cpu"``, ``"cuda"`` or ``"auto"``;
and the CPU thread count of an interactive server."""

from __future__ import annotations

import os

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


def interactive_threads(cores: int | None = None, env: dict | None = None) -> int:
    """Torch CPU threads for a process that serves a user interface: one core fewer than
    the machine has (at least one), unless ``OMP_NUM_THREADS`` says otherwise.

    The core left over runs the web server's event loop (and, on a laptop, the browser).
    Measured on 2 cores with the browser on the same machine (``bench/bench_app.py``): with
    two torch threads a latent edit took p50 139 / p95 188 ms, with one 93 / 127 ms, because
    the threads of a parallel region wait on each other while the other processes hold a
    core.
    """
    env = os.environ if env is None else env
    if env.get("OMP_NUM_THREADS", "").strip().isdigit():
        return max(1, int(env["OMP_NUM_THREADS"]))
    if cores is None:
        cores = os.cpu_count() or 1
    return max(1, cores - 1)
