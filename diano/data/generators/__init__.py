"""Benchmark data generators built on :mod:`diano.data.simulators`.

Contents::

    GENERATORS                  # benchmark name -> generator module
    cylinder.run_case / cases   # cylinder2d: Kármán wake, Re 100–225, St-checked
    stenosis.run_case / cases   # stenosis2d: pulsatile flow in a cosine-stenosed channel
    coronary.run_case / cases   # coronary3d: steady flow in curved, stenosed vessels
    generate_case(module, config, path, ...)   # run, check, write one file atomically

Each generator module provides ``BENCHMARK``, ``cases(quick, seed)`` (frozen configs with a
``name``) and ``run_case(config, device, compile=, progress=)`` returning a
:class:`~diano.data.generators.common.CaseResult` that has passed the benchmark's checks.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

_MODULES = {
    "cylinder2d": "diano.data.generators.cylinder",
    "stenosis2d": "diano.data.generators.stenosis",
    "coronary3d": "diano.data.generators.coronary",
}


def generator(benchmark: str) -> ModuleType:
    """Return the generator module of ``benchmark``."""
    from diano.errors import ConfigError

    if benchmark not in _MODULES:
        raise ConfigError(f"unknown benchmark {benchmark!r}; valid names: {list(_MODULES)}")
    return importlib.import_module(_MODULES[benchmark])


GENERATORS = tuple(_MODULES)


def generate_case(
    module: ModuleType,
    config: Any,
    path: str | Path,
    *,
    device: str | torch.device = "cpu",
    overwrite: bool = False,
    dtype: Any = None,
    compile: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Run one case, check it (inside ``run_case``) and write it atomically.

    A failed check raises before anything is written; the writer itself writes to a
    temporary file and renames it, so no partial file is ever left behind. An existing
    ``path`` is refused before the simulation starts unless ``overwrite``.

    Returns:
        The file attributes written.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False.
        ConfigError: invalid settings in ``config``.
        ValidationError: a stability or physics check of the benchmark failed.
    """
    from diano.data.io import write_case
    from diano.errors import DataError

    if Path(path).exists() and not overwrite:
        raise DataError(f"{path} already exists; pass overwrite=True (--force) to replace it")
    result = module.run_case(config, device, compile=compile, progress=progress)
    write_case(path, **result.write_kwargs(), overwrite=overwrite, dtype=dtype)
    return result.attrs


__all__ = ["GENERATORS", "generate_case", "generator"]
