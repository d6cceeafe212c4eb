"""Torch datasets over flow cases for training, and normalisation statistics over fluid cells.

The datasets know nothing about models: they hand out fields in physical units (the
normaliser lives inside each model) together with the fluid mask, shaped to broadcast
against the fields. Three views of the same cases:

- :class:`SnapshotDataset`: single snapshots (static reconstruction);
- :class:`WindowDataset`: ``n_steps + 1`` consecutive snapshots (multi-step rollout training);
- :class:`PairDataset`: input channels -> target channels of one snapshot (many-to-one).

Splits: ``split="all" | "train" | "test"``. Snapshots are held out either at random
(``holdout="random"``, seeded) or as the last ``1 - train_fraction`` of each case's time
series (``holdout="time"``); windows are always held out by time, and no test window shares
a snapshot with a training window. Holding out whole cases (e.g. a Reynolds number) is done
by choosing which cases to pass, e.g. ``diano.data.load(..., split="test")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from diano.data.flow import FlowData
from diano.errors import ConfigError, DataError

Split = Literal["all", "train", "test"]
Holdout = Literal["random", "time"]
Cases = FlowData | Sequence[FlowData]


def _as_cases(data: Cases) -> list[FlowData]:
    cases = [data] if isinstance(data, FlowData) else list(data)
    if not cases:
        raise DataError("no cases given to the dataset")
    for case in cases:
        if not isinstance(case, FlowData):
            raise ConfigError(f"datasets take FlowData objects, got {type(case).__name__}")
    return cases


def _check_split(split: str, holdout: str, train_fraction: float) -> None:
    if split not in ("all", "train", "test"):
        raise ConfigError(f"split must be 'all', 'train' or 'test', got {split!r}")
    if holdout not in ("random", "time"):
        raise ConfigError(f"holdout must be 'random' or 'time', got {holdout!r}")
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction must lie in (0, 1), got {train_fraction}")


def split_snapshots(
    n_times: Sequence[int],
    split: Split = "all",
    holdout: Holdout = "random",
    train_fraction: float = 0.8,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """Return the ``(case, t)`` pairs of one split.

    Args:
        n_times: number of snapshots of each case.
        split: ``"all"``, ``"train"`` or ``"test"``; train and test are disjoint and cover all.
        holdout: ``"random"``: a seeded permutation of all pairs, the first
            ``round(train_fraction * total)`` train; ``"time"``: per case, the first
            ``round(train_fraction * T)`` snapshots train, the rest test.
        train_fraction: share of snapshots in the training split.
        seed: seed of the random permutation.
    """
    _check_split(split, holdout, train_fraction)
    pairs = [(c, t) for c, n in enumerate(n_times) for t in range(n)]
    if split == "all":
        return pairs
    if holdout == "random":
        order = np.random.default_rng(seed).permutation(len(pairs))
        n_train = round(train_fraction * len(pairs))
        chosen = order[:n_train] if split == "train" else order[n_train:]
        return [pairs[i] for i in sorted(chosen)]
    cut = [round(train_fraction * n) for n in n_times]
    return [(c, t) for c, t in pairs if (t < cut[c]) == (split == "train")]


class _CaseDataset(Dataset):
    """Fields of several cases as CPU tensors, plus the ``(case, t)`` index of one split."""

    def __init__(self, data: Cases, channels: Sequence[str] | None) -> None:
        self.cases = _as_cases(data)
        self.channels = tuple(channels) if channels is not None else self.cases[0].channels
        # (T, C, *S) float32 per case; torch.as_tensor shares memory with the float32 arrays.
        self._fields = [case.torch(self.channels) for case in self.cases]
        self._masks = [case.torch_mask() for case in self.cases]
        self.index: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self.index)

    def _require_items(self, what: str) -> None:
        if not self.index:
            raise DataError(
                f"{type(self).__name__}: the {what} holds no sample "
                f"(cases {[c.case_id for c in self.cases]} with {[c.n_times for c in self.cases]}"
                " snapshots)"
            )

    def _mask(self, case: int, n_lead: int) -> torch.Tensor:
        """Fluid mask ``(1, ..., 1, *S)`` with ``n_lead`` leading singleton dims."""
        mask = self._masks[case]
        return mask.view(*([1] * n_lead), *mask.shape)

    def snapshots(self) -> dict[int, np.ndarray]:
        """Time indices each case contributes to this dataset (for :func:`compute_stats`)."""
        used: dict[int, set[int]] = {}
        for case, t in self._snapshot_pairs():
            used.setdefault(case, set()).add(t)
        return {c: np.array(sorted(ts)) for c, ts in sorted(used.items())}

    def _snapshot_pairs(self) -> list[tuple[int, int]]:
        return self.index


class SnapshotDataset(_CaseDataset):
    """Single snapshots for static reconstruction.

    Args:
        data: a FlowData or a sequence of them (e.g. a :class:`~diano.data.FlowCollection`).
        channels: channel names to serve (all channels of the first case by default).
        split: ``"all"``, ``"train"`` or ``"test"``.
        holdout: ``"random"`` (seeded 80/20 over all snapshots) or ``"time"`` (the last
            ``1 - train_fraction`` of each case's snapshots are the test split).
        train_fraction: share of snapshots in the training split.
        seed: seed of the random split.

    Items: ``{"u": (C, *S) float32, "mask": (1, *S) bool, "case": int, "t": int}``.
    """

    def __init__(
        self,
        data: Cases,
        channels: Sequence[str] | None = None,
        split: Split = "all",
        holdout: Holdout = "random",
        train_fraction: float = 0.8,
        seed: int = 0,
    ) -> None:
        super().__init__(data, channels)
        n_times = [f.shape[0] for f in self._fields]
        self.index = split_snapshots(n_times, split, holdout, train_fraction, seed)
        self._require_items(f"{split!r} split")

    def __getitem__(self, i: int) -> dict[str, Any]:
        case, t = self.index[i]
        return {"u": self._fields[case][t], "mask": self._mask(case, 1), "case": case, "t": t}


class WindowDataset(_CaseDataset):
    """Windows of ``n_steps + 1`` consecutive snapshots for multi-step rollout training.

    Args:
        data: a FlowData or a sequence of them.
        n_steps: steps per window K; each item holds K + 1 snapshots.
        channels: channel names to serve (all by default).
        split: ``"all"``, ``"train"`` (windows inside the first ``train_fraction`` of each
            case's snapshots) or ``"test"`` (windows inside the rest; they share no snapshot
            with a training window). A whole-cycle record (:attr:`FlowData.periodic`, the
            stenosis) is split by the window's start phase instead: its windows wrap around
            the cycle, may be longer than the record, and share snapshots across the split.
        train_fraction: share of each case's snapshots given to training windows.
        stride: offset between the first snapshots of consecutive windows.

    Items: ``{"u": (K + 1, C, *S) float32, "mask": (1, 1, *S) bool, "case": int, "t": int}``
    with ``t`` the index of the window's first snapshot.
    """

    def __init__(
        self,
        data: Cases,
        n_steps: int,
        channels: Sequence[str] | None = None,
        split: Split = "all",
        train_fraction: float = 0.8,
        stride: int = 1,
    ) -> None:
        super().__init__(data, channels)
        _check_split(split, "time", train_fraction)
        if n_steps < 1 or stride < 1:
            raise ConfigError(f"n_steps and stride must be >= 1, got {n_steps} and {stride}")
        self.n_steps = n_steps
        self._periodic = [case.periodic for case in self.cases]
        for c, fields in enumerate(self._fields):
            n_t = fields.shape[0]
            cut = round(train_fraction * n_t)
            lo, hi = {"all": (0, n_t), "train": (0, cut), "test": (cut, n_t)}[split]
            last = hi if self._periodic[c] else hi - n_steps
            self.index += [(c, t0) for t0 in range(lo, last, stride)]
        self._require_items(f"{split!r} split with n_steps={n_steps}")

    def _frames(self, case: int, t0: int) -> torch.Tensor:
        """Snapshot indices of the window from ``t0`` (wrapped on a whole-cycle record)."""
        frames = torch.arange(t0, t0 + self.n_steps + 1)
        return frames % self._fields[case].shape[0] if self._periodic[case] else frames

    def __getitem__(self, i: int) -> dict[str, Any]:
        case, t0 = self.index[i]
        window = self._fields[case][self._frames(case, t0)]
        return {"u": window, "mask": self._mask(case, 2), "case": case, "t": t0}

    def _snapshot_pairs(self) -> list[tuple[int, int]]:
        return [(c, int(k)) for c, t0 in self.index for k in self._frames(c, t0)]


class PairDataset(_CaseDataset):
    """Many-to-one pairs of one snapshot: input channels -> target channels.

    Args:
        data: a FlowData or a sequence of them.
        inputs: input channel names, e.g. ``("u", "v", "w")``.
        targets: target channel names, e.g. ``("p",)``.
        split, holdout, train_fraction, seed: as in :class:`SnapshotDataset`.

    Items: ``{"inputs": (C_in, *S), "target": (C_out, *S), "mask": (1, *S) bool,
    "case": int, "t": int}``.
    """

    def __init__(
        self,
        data: Cases,
        inputs: Sequence[str],
        targets: Sequence[str],
        split: Split = "all",
        holdout: Holdout = "random",
        train_fraction: float = 0.8,
        seed: int = 0,
    ) -> None:
        self.inputs, self.targets = tuple(inputs), tuple(targets)
        if not self.inputs or not self.targets:
            raise ConfigError("PairDataset needs at least one input and one target channel")
        overlap = set(self.inputs) & set(self.targets)
        if overlap:
            raise ConfigError(f"channels {sorted(overlap)} are both input and target")
        super().__init__(data, self.inputs + self.targets)
        n_times = [f.shape[0] for f in self._fields]
        self.index = split_snapshots(n_times, split, holdout, train_fraction, seed)
        self._require_items(f"{split!r} split")

    def __getitem__(self, i: int) -> dict[str, Any]:
        case, t = self.index[i]
        snapshot = self._fields[case][t]
        n_in = len(self.inputs)
        return {
            "inputs": snapshot[:n_in],
            "target": snapshot[n_in:],
            "mask": self._mask(case, 1),
            "case": case,
            "t": t,
        }


def _groups(source: Any) -> list[tuple[FlowData, np.ndarray]]:
    """``(case, time indices)`` groups a statistics source contributes."""
    if isinstance(source, _CaseDataset):
        return [(source.cases[c], t) for c, t in source.snapshots().items()]
    if isinstance(source, FlowData):
        return [(source, np.arange(source.n_times))]
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        return [group for item in source for group in _groups(item)]
    raise ConfigError(
        f"compute_stats takes FlowData, datasets or sequences of them, got {type(source).__name__}"
    )


def compute_stats(sources: Any, channels: Sequence[str] | None = None) -> dict[str, list[Any]]:
    """Per-channel mean and (population) std over the fluid cells of several cases.

    Cases are combined exactly (pooled mean and variance, Chan et al.'s parallel update in
    float64), not by averaging per-case statistics. A dataset contributes only the snapshots
    of its split, so statistics of a training set do not see the test data.

    Args:
        sources: a FlowData, a dataset from this module, or a sequence of those.
        channels: channel names; by default those of a dataset, or of the first case.

    Returns:
        ``{"channels": [...], "mean": [...], "std": [...], "count": [...]}``; ``mean`` and
        ``std`` feed ``LatentModel.set_normalizer`` directly.

    Raises:
        DataError: when there is no fluid cell to average over.
    """
    groups = _groups(sources)
    if not groups:
        raise DataError("compute_stats got no data")
    if channels is None:
        channels = sources.channels if isinstance(sources, _CaseDataset) else groups[0][0].channels
    channels = tuple(channels)
    count = np.zeros(len(channels))
    mean = np.zeros(len(channels))
    m2 = np.zeros(len(channels))  # sum of squared deviations from the mean
    for case, t_index in groups:
        c_index = case._channel_indices(channels)
        fluid = case.mask
        for j, c in enumerate(c_index):
            values = case.fields[t_index, c][:, fluid].astype(np.float64)  # (n_t, n_fluid)
            n_b = values.size
            if n_b == 0:
                continue
            mean_b = values.mean()
            m2_b = np.square(values - mean_b).sum()
            n = count[j] + n_b
            delta = mean_b - mean[j]
            mean[j] += delta * n_b / n
            m2[j] += m2_b + delta**2 * count[j] * n_b / n
            count[j] = n
    if np.any(count == 0):
        raise DataError(f"no fluid cell to compute statistics of channels {list(channels)}")
    return {
        "channels": list(channels),
        "mean": mean.tolist(),
        "std": np.sqrt(m2 / count).tolist(),
        "count": count.astype(int).tolist(),
    }
