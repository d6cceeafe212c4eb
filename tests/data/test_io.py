"""HDF5 case files: writer checks, atomic writes, manifest, and the validating reader."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from diano.data import io
from diano.data.io import sha256_file, write_case, write_manifest
from diano.errors import ConfigError, DataError

T, C, NY, NX = 6, 3, 8, 12
CHANNELS = ["vorticity", "u", "v"]


def make_case(n_t: int = T, ndim: int = 2, seed: int = 0) -> dict:
    """Arrays for one synthetic case, as keyword arguments of ``write_case``."""
    rng = np.random.default_rng(seed)
    spatial = (NY, NX) if ndim == 2 else (4, NY, NX)
    fields = rng.normal(size=(n_t, C, *spatial)).astype(np.float32)
    mask = np.ones(spatial, dtype=np.uint8)
    mask[..., 2:4, 3:6] = 0
    fields[:, :, mask == 0] = 0.0
    axes = ("y", "x") if ndim == 2 else ("z", "y", "x")
    coords = {"t": (0.5 * np.arange(n_t), "D/U_inf")}
    for axis, n in zip(axes, spatial, strict=True):
        coords[axis] = (0.25 * np.arange(n), "D")
    attrs = {"benchmark": "cylinder2d", "Re": 150.0, "seed": seed, "split": "train",
             "config": {"tau": 0.56, "size": [NY, NX]}}
    return {"fields": fields, "channels": CHANNELS, "mask": mask, "coords": coords,
            "attrs": attrs}


# -- writer ---------------------------------------------------------------------------
def test_write_layout_and_attributes(tmp_path: Path) -> None:
    case = make_case()
    path = write_case(tmp_path / "sub" / "c.h5", **case)
    assert path.is_file()
    with h5py.File(path) as f:
        assert f["fields"].shape == (T, C, NY, NX)
        assert f["fields"].dtype == np.float32
        assert f["fields"].chunks == (1, C, NY, NX)
        assert f["fields"].compression == "gzip" and f["fields"].shuffle
        assert f["fields"].attrs["dims"] == "t, c, y, x"
        assert json.loads(f["fields"].attrs["channels"]) == CHANNELS
        assert f["mask"].dtype == np.uint8
        assert f["t"].attrs["units"] == "D/U_inf" and f["x"].attrs["units"] == "D"
        assert f.attrs["format"] == io.FORMAT_VERSION
        assert f.attrs["benchmark"] == "cylinder2d" and f.attrs["Re"] == 150.0
        assert json.loads(f.attrs["config"]) == {"size": [NY, NX], "tau": 0.56}
        assert f.attrs["code_version"].startswith("0.")
        stats = json.loads(f.attrs["stats"])
    fluid = case["mask"].astype(bool)
    for c, name in enumerate(CHANNELS):
        values = case["fields"][:, c][:, fluid].astype(np.float64)
        assert stats[name]["mean"] == pytest.approx(values.mean(), rel=1e-6, abs=1e-9)
        assert stats[name]["std"] == pytest.approx(values.std(), rel=1e-6)
        assert stats[name]["count"] == T * fluid.sum()


def test_stats_ignore_solid_cells(tmp_path: Path) -> None:
    case = make_case()
    case["fields"][:, :, case["mask"] == 0] = 1e4  # solid cells must not count
    path = write_case(tmp_path / "c.h5", **case)
    with h5py.File(path) as f:
        stats = json.loads(f.attrs["stats"])
    assert abs(stats["u"]["mean"]) < 1.0 and stats["u"]["max"] < 100


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    case = make_case()
    path = write_case(tmp_path / "c.h5", **case)
    before = sha256_file(path)
    with pytest.raises(DataError, match=r"c\.h5 already exists"):
        write_case(path, **make_case(seed=1))
    assert sha256_file(path) == before
    write_case(path, **make_case(seed=1), overwrite=True)
    assert sha256_file(path) != before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(mask=np.ones((NY, NX + 1), np.uint8)), "mask shape"),
        (lambda c: c.update(channels=["u", "v"]), "2 channel names"),
        (lambda c: c["coords"].update(x=(np.arange(NX - 1), "D")), "coordinate 'x' has length"),
        (lambda c: c["coords"].pop("y"), r"missing coordinate\(s\) \['y'\]"),
        (lambda c: c.update(fields=c["fields"][0]), "fields must be"),
        (lambda c: c.update(mask=np.full((NY, NX), 2, np.uint8)), "0 \\(solid\\) or 1"),
        (lambda c: c["attrs"].update(stats="x"), "reserved"),
        (lambda c: c.update(mask=np.zeros((NY, NX), np.uint8)), "no fluid cell"),
    ],
)
def test_write_validates(tmp_path: Path, change, message: str) -> None:
    case = make_case()
    change(case)
    with pytest.raises(DataError, match=message):
        write_case(tmp_path / "bad.h5", **case)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_write_names_channel_and_index_of_non_finite(tmp_path: Path, bad: float) -> None:
    case = make_case()
    case["fields"][4, 2, 5, 7] = bad
    with pytest.raises(DataError, match=r"channel 'v' .* \(t=4, y=5, x=7\)"):
        write_case(tmp_path / "bad.h5", **case)
    assert list(tmp_path.iterdir()) == []


def test_float16_storage_and_range(tmp_path: Path) -> None:
    case = make_case()
    path = write_case(tmp_path / "half.h5", **case, dtype=np.float16)
    with h5py.File(path) as f:
        assert f["fields"].dtype == np.float16
        np.testing.assert_allclose(f["fields"][:], case["fields"], rtol=1e-3, atol=1e-3)
    case["fields"][0, 0, 0, 0] = 7e4
    with pytest.raises(DataError, match="does not fit float16"):
        write_case(tmp_path / "big.h5", **case, dtype="float16")
    with pytest.raises(ConfigError, match="dtype int32"):
        write_case(tmp_path / "int.h5", **make_case(), dtype=np.int32)


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_case(tmp_path / "c.h5", **make_case())
    assert list(tmp_path.iterdir()) == []


def test_3d_case_and_dims(tmp_path: Path) -> None:
    path = write_case(tmp_path / "v.h5", **make_case(ndim=3))
    with h5py.File(path) as f:
        assert f["fields"].attrs["dims"] == "t, c, z, y, x"
        assert f["z"].shape == (4,)


def test_manifest_lists_hash_and_size(tmp_path: Path) -> None:
    a = write_case(tmp_path / "a.h5", **make_case())
    write_case(tmp_path / "b.h5", **make_case(seed=2))
    manifest = json.loads(write_manifest(tmp_path).read_text())
    assert sorted(manifest["files"]) == ["a.h5", "b.h5"]
    assert manifest["files"]["a.h5"]["sha256"] == sha256_file(a)
    assert manifest["files"]["a.h5"]["size"] == os.path.getsize(a)
    assert manifest["code_version"]


def test_data_dir_and_samples_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIANO_DATA_DIR", str(tmp_path / "d"))
    assert io.data_dir("cylinder2d") == tmp_path / "d" / "cylinder2d"
    monkeypatch.delenv("DIANO_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert io.data_dir() == tmp_path / "cache" / "diano" / "data"
    monkeypatch.setenv("DIANO_SAMPLES_DIR", str(tmp_path / "s"))
    assert io.samples_dir() == tmp_path / "s"
    monkeypatch.delenv("DIANO_SAMPLES_DIR")
    assert io.samples_dir().parts[-2:] == ("data", "samples")
