"""HDF5 case files: writer checks, atomic writes, manifest, and the validating reader."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import diano
from diano.data import FlowCollection, FlowData, io, load, load_set, read_info
from diano.data.io import sha256_file, verify_manifest, write_case, write_manifest
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
    attrs = {
        "benchmark": "cylinder2d",
        "Re": 150.0,
        "seed": seed,
        "split": "train",
        "config": {"tau": 0.56, "size": [NY, NX]},
    }
    return {"fields": fields, "channels": CHANNELS, "mask": mask, "coords": coords, "attrs": attrs}


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
        (lambda c: c.update(fields=c["fields"][:0]), "hold no values"),
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
    verify_manifest(tmp_path)
    write_case(a, **make_case(seed=5), overwrite=True)
    (tmp_path / "b.h5").unlink()
    with pytest.raises(DataError, match=r"a\.h5: size or sha256 differs.*b\.h5: missing"):
        verify_manifest(tmp_path)


def test_written_files_are_readable_by_others(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_case(tmp_path / "c.h5", **make_case())
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


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


# -- reader ---------------------------------------------------------------------------
def test_round_trip(tmp_path: Path) -> None:
    case = make_case()
    data = load(write_case(tmp_path / "c.h5", **case))
    assert isinstance(data, FlowData)
    np.testing.assert_array_equal(data.fields, case["fields"])
    assert data.fields.dtype == np.float32
    assert data.channels == tuple(CHANNELS)
    assert data.mask.dtype == bool and data.mask.sum() == case["mask"].sum()
    assert data.units == {"t": "D/U_inf", "y": "D", "x": "D"}
    assert data.attrs["Re"] == 150.0 and data.attrs["config"]["size"] == [NY, NX]
    assert data.attrs["format"] == io.FORMAT_VERSION
    assert data.spacing == (0.25, 0.25)
    assert data.extent == (NY * 0.25, NX * 0.25)
    assert data.time_step == pytest.approx(0.5)
    assert data.axes == ("y", "x") and data.re == 150.0
    np.testing.assert_array_equal(data.channel("v"), case["fields"][:, 2])
    tensor = data.torch(["v", "u"])
    assert tensor.shape == (T, 2, NY, NX) and tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor[:, 0].numpy(), case["fields"][:, 2])
    assert data.torch_mask().dtype == torch.bool
    assert data.normalizer_stats(["u"])["mean"] == [data.stats["u"]["mean"]]
    assert data.split == "train" and data.benchmark == "cylinder2d"
    in_memory = FlowData(data.fields[:2], data.channels, data.mask, data.coords, data.units)
    fluid = data.fields[:2, 1][:, data.mask].astype(np.float64)
    assert in_memory.normalizer_stats(["u"])["std"][0] == pytest.approx(fluid.std(), rel=1e-6)
    with pytest.raises(ConfigError, match=r"unknown channel\(s\) \['w'\]"):
        data.channel("w")


def test_float16_file_reads_as_float32(tmp_path: Path) -> None:
    data = load(write_case(tmp_path / "h.h5", **make_case(), dtype=np.float16))
    assert data.fields.dtype == np.float32


def test_read_time_and_channel_selection(tmp_path: Path) -> None:
    case = make_case()
    path = write_case(tmp_path / "c.h5", **case)
    part = load(path, time=slice(2, 5), channels=["u"])
    assert part.fields.shape == (3, 1, NY, NX)
    np.testing.assert_array_equal(part.fields[:, 0], case["fields"][2:5, 1])
    np.testing.assert_allclose(part.coords["t"], [1.0, 1.5, 2.0])
    np.testing.assert_array_equal(part.time_index, [2, 3, 4])
    picked = load(path, time=[4, 0, -1])
    np.testing.assert_array_equal(picked.fields, case["fields"][[4, 0, T - 1]])
    one = load(path, time=3)
    assert one.fields.shape == (1, C, NY, NX)
    sub = load(path).select(channels=["v"], time=slice(1, 3))
    np.testing.assert_array_equal(sub.fields[:, 0], case["fields"][1:3, 2])
    np.testing.assert_array_equal(sub.time_index, [1, 2])
    with pytest.raises(ConfigError, match="out of range for 6 snapshots"):
        load(path, time=6)


def test_reader_reports_nan_with_file_index(tmp_path: Path) -> None:
    path = write_case(tmp_path / "c.h5", **make_case())
    with h5py.File(path, "r+") as f:
        f["fields"][3, 1, 2, 2] = np.inf
    with pytest.raises(DataError, match=r"c\.h5: channel 'u' holds inf at index \(t=3, y=2, x=2\)"):
        load(path)
    with pytest.raises(DataError, match=r"t=3"):
        load(path, time=slice(3, 5))
    assert load(path, time=slice(0, 3)).n_times == 3  # the intact part stays readable


def _rewrite(path: Path, edit) -> None:
    with h5py.File(path, "r+") as f:
        edit(f)


def _replace(f: h5py.File, name: str, data: np.ndarray) -> None:
    attrs = dict(f[name].attrs)
    del f[name]
    f.create_dataset(name, data=data)
    f[name].attrs.update(attrs)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.__delitem__("mask"), "missing dataset '/mask'"),
        (lambda f: f.__delitem__("fields"), "missing dataset '/fields'"),
        (lambda f: f.__delitem__("x"), "missing coordinate dataset '/x'"),
        (lambda f: _replace(f, "mask", np.ones((NY, NX - 2), np.uint8)), "mask shape"),
        (lambda f: _replace(f, "t", np.arange(T + 1.0)), "coordinate 't' has length"),
        (lambda f: f["fields"].attrs.__setitem__("channels", '["a"]'), "1 channel names"),
        (lambda f: f["fields"].attrs.__delitem__("channels"), "'channels' attribute"),
        (lambda f: _replace(f, "fields", np.ones((T, C, NY, NX), np.int32)), "dtype int32"),
        (lambda f: _replace(f, "mask", np.ones((NY, NX), np.float32)), "/mask has dtype"),
        (lambda f: f.attrs.__setitem__("format", 99), "format version 99 is not supported"),
        (lambda f: f.attrs.__delitem__("format"), "not a DIANO data file"),
        (lambda f: f.attrs.__delitem__("stats"), "'stats' attribute"),
    ],
)
def test_reader_validation(tmp_path: Path, edit, message: str) -> None:
    path = write_case(tmp_path / "c.h5", **make_case())
    _rewrite(path, edit)
    with pytest.raises(DataError, match=message) as info:
        load(path)
    assert "c.h5" in str(info.value)


def test_reader_rejects_non_hdf5_and_truncated_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(DataError, match="notes.h5 is not an HDF5 file"):
        load(text)
    good = write_case(tmp_path / "c.h5", **make_case())
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="cut.h5"):
        load(cut)
    with pytest.raises(DataError, match="no such data file or folder"):
        load(tmp_path / "missing.h5")


def _write_set(folder: Path) -> None:
    for i, (re, split) in enumerate([(200.0, "train"), (100.0, "train"), (150.0, "test")]):
        case = make_case(seed=i)
        case["attrs"].update(Re=re, split=split)
        write_case(folder / f"cylinder2d_re{int(re)}.h5", **case)


def test_folder_collection_is_ordered_and_filterable(tmp_path: Path) -> None:
    _write_set(tmp_path)
    (tmp_path / ".partial.h5.tmp").write_text("")  # a writer's temporary file is ignored
    cases = load(tmp_path)
    assert isinstance(cases, FlowCollection) and len(cases) == 3
    assert cases.reynolds == (100.0, 150.0, 200.0)
    assert cases.keys()[0] == "cylinder2d_re100"
    assert cases.by_re(150).attrs["split"] == "test"
    assert cases["cylinder2d_re200"].re == 200.0
    assert [c.re for c in cases] == [100.0, 150.0, 200.0]
    assert len(load(tmp_path, split="train")) == 2
    with pytest.raises(DataError, match=r"Re available: \[100.0, 150.0, 200.0\]"):
        cases.by_re(175)
    with pytest.raises(DataError, match=r"splits: \['test', 'train'\]"):
        load(tmp_path, split="val")
    lazy = load(tmp_path, channels=["u"], time=slice(0, 2))
    assert lazy[0].fields.shape == (2, 1, NY, NX)
    copied = pickle.loads(pickle.dumps(lazy))  # st.cache_data and worker processes pickle
    np.testing.assert_array_equal(copied[1].fields, lazy[1].fields)
    with pytest.raises(ConfigError, match="unknown channel"):
        load(tmp_path, channels=["w"])


def test_benchmark_names_resolve_to_samples_or_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIANO_SAMPLES_DIR", str(tmp_path / "samples"))
    monkeypatch.setenv("DIANO_DATA_DIR", str(tmp_path / "cache"))
    (tmp_path / "samples").mkdir()
    with pytest.raises(DataError, match="diano generate cylinder2d"):
        load("cylinder2d")
    with pytest.raises(DataError, match="diano generate stenosis2d"):
        load_set("stenosis2d")
    write_case(tmp_path / "samples" / "cylinder2d_sample.h5", **make_case())
    write_case(tmp_path / "samples" / "stenosis2d_sample.h5", **make_case())
    assert load("cylinder2d").keys() == ("cylinder2d_sample",)
    _write_set(tmp_path / "cache" / "cylinder2d")
    assert len(load("cylinder2d", source="cache")) == 3
    assert load_set("cylinder2d", split="test").reynolds == (150.0,)
    assert load("cylinder2d", re=150, source="cache")[0].re == 150.0
    with pytest.raises(ConfigError, match=r"unknown benchmark 'cylinder'.*coronary3d"):
        load("cylinder")
    with pytest.raises(ConfigError, match="unknown benchmark"):
        load_set("cylinder")
    with pytest.raises(ConfigError, match="source must be"):
        load("cylinder2d", source="web")


def test_single_file_filters(tmp_path: Path) -> None:
    path = write_case(tmp_path / "c.h5", **make_case())
    assert load(path, split="train", re=150).re == 150.0
    with pytest.raises(DataError, match="has split 'train', not 'test'"):
        load(path, split="test")


def test_read_info_does_not_need_fields(tmp_path: Path) -> None:
    path = write_case(tmp_path / "c.h5", **make_case())
    info = read_info(path)
    assert info.shape == (T, C, NY, NX) and info.channels == tuple(CHANNELS)
    assert info.case_id == "c" and info.split == "train" and info.mask.dtype == bool


def test_attribute_types_round_trip(tmp_path: Path) -> None:
    case = make_case()
    case["attrs"].update(
        flag=True,
        note=None,
        levels=np.array([1.5, 2.5]),
        count=np.int64(7),
        nested={"inlet": {"kind": "womersley", "alpha": 4}},
    )
    attrs = load(write_case(tmp_path / "c.h5", **case)).attrs
    assert attrs["flag"] is True and attrs["note"] is None and attrs["count"] == 7
    assert attrs["levels"] == [1.5, 2.5]
    assert attrs["nested"] == {"inlet": {"kind": "womersley", "alpha": 4}}
    assert "stats" not in attrs and "json_attrs" not in attrs
    case["attrs"]["path"] = tmp_path
    with pytest.raises(DataError, match="attribute 'path' has type"):
        write_case(tmp_path / "d.h5", **case)


def test_code_version_names_the_commit() -> None:
    version = io.code_version()
    assert version.startswith(diano.__version__)


def test_whole_cycle_record_wraps_and_others_do_not() -> None:
    g = np.random.default_rng(0)
    fields = g.standard_normal((10, 1, 4, 6)).astype(np.float32)
    mask = np.ones((4, 6), bool)
    space = {"x": np.arange(6.0), "y": np.arange(4.0)}
    cycle = FlowData(
        fields, ("vorticity",), mask, {"t": np.arange(10) / 10, **space}, {"t": "cardiac period"}
    )
    assert cycle.periodic
    assert [cycle.frame(k) for k in (3, 10, 27, -1)] == [3, 0, 7, None]
    longer = cycle.cycled(25)
    assert longer.n_times == 25 and np.array_equal(longer.fields[17], fields[7])
    assert longer.coords["t"][-1] == pytest.approx(2.4) and longer.time_index[12] == 2
    assert cycle.cycled(5) is cycle
    # part of a cycle, or time not counted in periods: no wrapping
    part = cycle.select(time=slice(0, 8))
    other = FlowData(fields, ("vorticity",), mask, {"t": np.arange(10) / 10, **space}, {"t": "s"})
    for flow in (part, other):
        n = flow.n_times
        assert not flow.periodic and flow.frame(n) is None and flow.frame(n - 1) == n - 1
        with pytest.raises(ConfigError, match="whole-cycle"):
            flow.cycled(20)
