"""Device selection and the thread count of the interactive server."""

from __future__ import annotations

import pytest
import torch

from diano.device import interactive_threads, resolve_device
from diano.errors import ConfigError


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("abacus")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")


def test_interactive_threads_leave_a_core_unless_told() -> None:
    assert interactive_threads(2, env={}) == 1
    assert interactive_threads(16, env={}) == 15
    assert interactive_threads(1, env={}) == 1
    assert interactive_threads(2, env={"OMP_NUM_THREADS": "4"}) == 4
    assert interactive_threads(8, env={"OMP_NUM_THREADS": "0"}) == 1
    assert interactive_threads(8, env={"OMP_NUM_THREADS": "many"}) == 7
