"""The cylinder generator's ``stride`` option and the committed fine-grid reference.

The fine reference (``data/samples/fine_cylinder2d_re180.h5``) is the held-out Re 180 run
stored at every lattice node (256 × 256) for the sample's first snapshots; every second node
of it is the committed 128 × 128 sample.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import diano
from diano.data import load
from diano.data.generators.cylinder import CylinderConfig, run_case
from diano.data.generators.samples import FINE_SPECS, fine_reference_path, write_fine_reference
from diano.data.io import read_case, verify_manifest
from diano.errors import DataError

SAMPLES = Path(diano.__file__).resolve().parents[1] / "data" / "samples"
FINE = fine_reference_path(FINE_SPECS["cylinder2d"].case, SAMPLES)


def _tiny(stride: int) -> CylinderConfig:
    """A D = 8 lattice, 100 steps of spin-up and 3 snapshots 10 steps apart."""
    return CylinderConfig(
        re=100.0,
        diameter=8,
        spinup=1.0,
        dt_snapshot=0.1,
        n_snapshots=3,
        perturbation_time=0.5,
        stride=stride,
    )


def test_stride_one_stores_every_node_of_the_same_run() -> None:
    fine = run_case(_tiny(1), compile=False, progress=False, check_shedding=False)
    coarse = run_case(_tiny(2), compile=False, progress=False, check_shedding=False)
    assert fine.fields.shape == (3, 4, 64, 64) and coarse.fields.shape == (3, 4, 32, 32)
    assert np.array_equal(fine.fields[:, :, ::2, ::2], coarse.fields)
    assert np.array_equal(fine.mask[::2, ::2], coarse.mask)
    for axis in ("x", "y"):
        x_fine, x_coarse = fine.coords[axis][0], coarse.coords[axis][0]
        assert np.allclose(x_fine[::2], x_coarse)
        assert np.allclose(np.diff(x_fine), 1 / 8)  # one lattice node, in D
    assert fine.attrs["config"]["stride"] == 1
    assert "not checked" in fine.attrs["checks"]["shedding"]
    assert "St" not in fine.attrs


def test_short_records_fail_the_shedding_check_unless_it_is_skipped() -> None:
    from diano.errors import ValidationError

    with pytest.raises(ValidationError):
        run_case(_tiny(2), compile=False, progress=False)


def _fine_file() -> Path:
    if not FINE.is_file():
        pytest.skip(f"no committed fine reference at {FINE}")
    return FINE


def test_committed_fine_reference_matches_the_sample() -> None:
    path = _fine_file()
    with h5py.File(path) as f:
        assert f["fields"].dtype == np.float16
        assert f["fields"].shape[1:] == (1, 256, 256)
        assert 20 <= f["fields"].shape[0] <= 40
    assert path.stat().st_size < 3_000_000
    fine = read_case(path)
    assert fine.attrs["sample_kind"] == "fine_reference"
    assert fine.attrs["reference_of"]["file"] == "cylinder2d_re180.h5"
    assert fine.attrs["config"]["stride"] == 1
    assert fine.attrs["checks"]["max_lattice_speed"] < 0.15
    sample = load("cylinder2d")["cylinder2d_re180"]
    n = fine.fields.shape[0]
    assert np.array_equal(fine.coords["t"], sample.coords["t"][:n])
    assert np.allclose(fine.coords["x"][::2], sample.coords["x"])
    assert np.allclose(fine.coords["y"][::2], sample.coords["y"])
    assert np.array_equal(fine.mask[::2, ::2], sample.mask)
    # the same lattice run: every second node is the sample, to float16 precision
    assert np.allclose(fine.fields[:, :, ::2, ::2], sample.fields[:n], atol=0, rtol=2**-10)
    # and the nodes in between carry the finer detail the sample lacks
    between = fine.fields[:, 0, 1::2, 1::2]
    assert np.abs(between).max() > 1


def test_fine_reference_is_no_case_of_its_own() -> None:
    _fine_file()
    assert [c.case_id for c in load("cylinder2d").infos] == [
        "cylinder2d_re180",
        "cylinder2d_re225",
    ]
    verify_manifest(SAMPLES)


def test_fine_reference_needs_its_sample(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        write_fine_reference("cylinder2d", out=tmp_path)
    with pytest.raises(DataError, match="no fine reference"):
        write_fine_reference("coronary3d", out=tmp_path)
