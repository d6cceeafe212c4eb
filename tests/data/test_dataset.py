"""Torch datasets over synthetic HDF5 cases: items, splits, batching and pooled statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from diano.data import (
    FlowData,
    PairDataset,
    SnapshotDataset,
    WindowDataset,
    compute_stats,
    load,
    write_case,
)
from diano.data.dataset import split_snapshots
from diano.errors import ConfigError, DataError

NY, NX = 6, 8


def _write(folder: Path, name: str, n_t: int, channels: list[str], seed: int, ndim: int = 2):
    rng = np.random.default_rng(seed)
    spatial = (NY, NX) if ndim == 2 else (4, NY, NX)
    # offset per channel and case, so that pooled statistics differ from averaged ones
    fields = rng.normal(size=(n_t, len(channels), *spatial)) * (1 + seed) + 3.0 * seed
    mask = np.ones(spatial, np.uint8)
    mask[..., :2, :3] = 0
    axes = ("y", "x") if ndim == 2 else ("z", "y", "x")
    coords = {"t": (np.arange(n_t) * 0.1, "D/U_inf")}
    coords |= {a: (np.arange(n), "D") for a, n in zip(axes, spatial, strict=True)}
    attrs = {"benchmark": "cylinder2d", "Re": 100.0 + seed}
    return write_case(folder / f"{name}.h5", fields, channels, mask, coords, attrs)


@pytest.fixture
def cases(tmp_path: Path) -> list[FlowData]:
    _write(tmp_path, "a", 10, ["u", "v", "p"], seed=0)
    _write(tmp_path, "b", 6, ["u", "v", "p"], seed=1)
    return load(tmp_path).load_all()


def test_snapshot_items_and_batches(cases: list[FlowData]) -> None:
    ds = SnapshotDataset(cases, channels=["v"])
    assert len(ds) == 16
    item = ds[12]
    assert item["u"].shape == (1, NY, NX) and item["u"].dtype == torch.float32
    assert item["mask"].shape == (1, NY, NX) and item["mask"].dtype == torch.bool
    assert (item["case"], item["t"]) == (1, 2)
    np.testing.assert_array_equal(item["u"][0].numpy(), cases[1].channel("v")[2])
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["u"].shape == (4, 1, NY, NX) and batch["mask"].shape == (4, 1, NY, NX)
    assert (batch["u"] * batch["mask"]).shape == (4, 1, NY, NX)


@pytest.mark.parametrize("holdout", ["random", "time"])
def test_snapshot_splits_are_disjoint_and_complete(cases: list[FlowData], holdout: str) -> None:
    train = SnapshotDataset(cases, split="train", holdout=holdout, seed=3)
    test = SnapshotDataset(cases, split="test", holdout=holdout, seed=3)
    assert set(train.index).isdisjoint(test.index)
    assert sorted(train.index + test.index) == SnapshotDataset(cases).index
    assert len(train) == round(0.8 * 16) if holdout == "random" else len(train) == 8 + 5
    if holdout == "time":
        assert max(t for c, t in test.index if c == 0) == 9
        assert min(t for c, t in test.index if c == 0) == 8


def test_random_split_depends_on_seed_only() -> None:
    a = split_snapshots([10, 6], "train", "random", 0.8, seed=1)
    assert a == split_snapshots([10, 6], "train", "random", 0.8, seed=1)
    assert a != split_snapshots([10, 6], "train", "random", 0.8, seed=2)


def test_window_items_and_time_split(cases: list[FlowData]) -> None:
    ds = WindowDataset(cases, n_steps=3)
    assert len(ds) == (10 - 3) + (6 - 3)
    item = ds[1]
    assert item["u"].shape == (4, 3, NY, NX) and item["mask"].shape == (1, 1, NY, NX)
    np.testing.assert_array_equal(item["u"].numpy(), cases[0].fields[1:5])
    train = WindowDataset(cases, n_steps=2, split="train", train_fraction=0.5)
    test = WindowDataset(cases, n_steps=2, split="test", train_fraction=0.5)
    for c in (0, 1):
        train_t = {t0 + k for cc, t0 in train.index if cc == c for k in range(3)}
        test_t = {t0 + k for cc, t0 in test.index if cc == c for k in range(3)}
        assert train_t and train_t.isdisjoint(test_t)
    assert train.index == [(0, 0), (0, 1), (0, 2), (1, 0)]  # cuts at t = 5 and t = 3
    assert test.index == [(0, 5), (0, 6), (0, 7), (1, 3)]
    batch = next(iter(DataLoader(train, batch_size=2)))
    assert batch["u"].shape == (2, 3, 3, NY, NX)  # (B, K + 1, C, H, W)
    assert (batch["u"] * batch["mask"]).shape == batch["u"].shape
    assert len(WindowDataset(cases, n_steps=2, stride=2)) == 4 + 2


def test_window_split_too_short_is_an_error(cases: list[FlowData]) -> None:
    with pytest.raises(DataError, match="'test' split with n_steps=5 holds no sample"):
        WindowDataset(cases, n_steps=5, split="test")
    with pytest.raises(ConfigError, match="n_steps and stride"):
        WindowDataset(cases, n_steps=0)


def test_pair_dataset_3d(tmp_path: Path) -> None:
    _write(tmp_path, "v0", 3, ["u", "v", "w", "p"], seed=0, ndim=3)
    _write(tmp_path, "v1", 3, ["u", "v", "w", "p"], seed=1, ndim=3)
    vessels = load(tmp_path)
    ds = PairDataset(vessels, inputs=("u", "v", "w"), targets=("p",))
    item = ds[4]
    assert item["inputs"].shape == (3, 4, NY, NX) and item["target"].shape == (1, 4, NY, NX)
    assert item["mask"].shape == (1, 4, NY, NX)
    np.testing.assert_array_equal(item["target"][0].numpy(), vessels[1].channel("p")[1])
    with pytest.raises(ConfigError, match="both input and target"):
        PairDataset(vessels, inputs=("u", "p"), targets=("p",))
    with pytest.raises(ConfigError, match="unknown channel"):
        PairDataset(vessels, inputs=("u",), targets=("q",))


def test_compute_stats_pools_cases_over_fluid_cells(cases: list[FlowData]) -> None:
    stats = compute_stats(cases, ["u", "p"])
    for j, name in enumerate(["u", "p"]):
        values = np.concatenate([c.channel(name)[:, c.mask].ravel() for c in cases]).astype(float)
        assert stats["mean"][j] == pytest.approx(values.mean(), rel=1e-9, abs=1e-9)
        assert stats["std"][j] == pytest.approx(values.std(), rel=1e-9)
        assert stats["count"][j] == values.size
    # one case: the same numbers the writer stored in the file
    single = compute_stats(cases[0])
    assert single["channels"] == ["u", "v", "p"]
    assert single["mean"][0] == pytest.approx(cases[0].stats["u"]["mean"], rel=1e-6)
    assert single["std"][2] == pytest.approx(cases[0].stats["p"]["std"], rel=1e-6)


def test_compute_stats_of_a_dataset_uses_its_split_only(cases: list[FlowData]) -> None:
    train = SnapshotDataset(cases, channels=["u"], split="train", holdout="time")
    stats = compute_stats(train)
    parts = [c.channel("u")[:n][:, c.mask].ravel() for c, n in zip(cases, (8, 5), strict=True)]
    values = np.concatenate(parts).astype(np.float64)
    assert stats["channels"] == ["u"]
    assert stats["mean"][0] == pytest.approx(values.mean(), rel=1e-9)
    assert stats["std"][0] == pytest.approx(values.std(), rel=1e-9)
    windows = WindowDataset(cases, n_steps=2, split="train")
    assert compute_stats(windows)["count"][0] == (8 + 5) * cases[0].mask.sum()


def test_split_arguments_are_checked(cases: list[FlowData]) -> None:
    with pytest.raises(ConfigError, match="split must be"):
        SnapshotDataset(cases, split="val")
    with pytest.raises(ConfigError, match="train_fraction"):
        SnapshotDataset(cases, split="train", train_fraction=1.0)
    with pytest.raises(DataError, match="no cases"):
        SnapshotDataset([])


def test_windows_of_a_whole_cycle_record_wrap_and_split_by_start_phase() -> None:
    g = np.random.default_rng(0)
    fields = g.standard_normal((10, 1, NY, NX)).astype(np.float32)
    coords = {"t": np.arange(10) / 10, "x": np.arange(float(NX)), "y": np.arange(float(NY))}
    cycle = FlowData(fields, ("u",), np.ones((NY, NX), bool), coords, {"t": "cardiac period"})
    train = WindowDataset([cycle], n_steps=25, split="train", train_fraction=0.8)
    test = WindowDataset([cycle], n_steps=25, split="test", train_fraction=0.8)
    assert [t for _, t in train.index] == list(range(8)) and [t for _, t in test.index] == [8, 9]
    item = test[1]
    assert item["u"].shape == (26, 1, NY, NX) and item["t"] == 9
    # step k of the window from frame 9 is frame (9 + k) mod 10
    for k in (0, 1, 11, 25):
        np.testing.assert_array_equal(item["u"][k].numpy(), fields[(9 + k) % 10])
    assert set(train.snapshots()[0]) == set(range(10))
