"""Synthetic cylinder-like data for the training and evaluation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from diano.data import write_case
from diano.explore.vortex import vortex_street


def write_street(folder: Path, re: float, split: str, n_times: int = 40) -> Path:
    """A 32×32 vortex street case (vorticity only); St = 1 makes a 20-snapshot period."""
    case = vortex_street(n=32, n_times=n_times, re=re)
    attrs = dict(case["attrs"], split=split, Re=re, St=1.0)
    return write_case(
        folder / f"cylinder2d_re{re:g}.h5",
        case["fields"][:, :1],
        ["vorticity"],
        case["mask"],
        case["coords"],
        attrs,
    )


@pytest.fixture(scope="session")
def street_writer() -> Callable[..., Path]:
    return write_street


@pytest.fixture(scope="session", autouse=True)
def small_samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the committed-samples folder at one small street, so that the sample scoring
    at the end of training is exercised without marching the real 128² samples."""
    import os

    folder = tmp_path_factory.mktemp("samples")
    write_street(folder, 180.0, "heldout")
    old = os.environ.get("DIANO_SAMPLES_DIR")
    os.environ["DIANO_SAMPLES_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("DIANO_SAMPLES_DIR", None)
    else:
        os.environ["DIANO_SAMPLES_DIR"] = old
