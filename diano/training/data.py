"""Training and validation data of a benchmark × scenario, and what the checkpoint records
about it (statistics, snapshot spacing, the data's sha256).

The generated set lives in ``diano.data.data_dir(benchmark)`` (``diano generate``). Cases
whose ``split`` attribute is ``"train"`` are used for training; within them a share of the
snapshots (random or the last ones in time, or the last windows for rollouts) is kept for
validation. Cases marked ``"heldout"`` (cylinder Re 180 and 225, a stenosis severity, the
last coronary geometries) are never seen in training; :mod:`diano.evaluation` scores them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from diano.data import (
    FlowCollection,
    PairDataset,
    SnapshotDataset,
    WindowDataset,
    compute_stats,
    data_dir,
    load,
    load_set,
)
from diano.errors import DataError
from diano.training.augment import CrossSectionSymmetry
from diano.training.config import TrainConfig

#: the cylinder wake region of the readability tie starts this far behind the centre, in D
WAKE_START = 1.0


@dataclass
class TrainingData:
    """Datasets and facts for one training run.

    Attributes:
        train, val: torch datasets (items as in :mod:`diano.data.dataset`).
        in_stats, out_stats: normaliser statistics over the training split's fluid cells.
        snapshot_dt: time between snapshots in the data's unit (``None`` when not uniform).
        coords: the first case's spatial coordinates (``x``, ``y``[, ``z``]).
        sha256: hash of the data used (the set's manifest, or the files' hashes).
        cases: case ids used for training.
        source: folder the data came from.
    """

    train: Dataset
    val: Dataset
    in_stats: dict[str, Any]
    out_stats: dict[str, Any]
    snapshot_dt: float | None
    coords: dict[str, np.ndarray]
    sha256: str
    cases: list[str]
    source: str
    extra: dict[str, Any] = field(default_factory=dict)


def _sha256(collection: FlowCollection, folder: Path) -> str:
    manifest = folder / "manifest.json"
    if manifest.is_file():
        return hashlib.sha256(manifest.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for path in collection.paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def _snapshot_dt(collection: FlowCollection) -> float | None:
    """The common snapshot spacing of the cases, from their ``t`` coordinate."""
    spacings = set()
    for info in collection.infos:
        t = np.asarray(info.coords.get("t", []), dtype=np.float64)
        if t.size > 1:
            spacings.add(round(float(np.median(np.diff(t))), 9))
    return spacings.pop() if len(spacings) == 1 else None


def _cap(dataset: Dataset, limit: int, seed: int) -> Dataset:
    if limit <= 0 or len(dataset) <= limit:
        return dataset
    rng = np.random.default_rng(seed)
    return Subset(dataset, sorted(rng.choice(len(dataset), size=limit, replace=False).tolist()))


def open_cases(
    benchmark: str, folder: str | Path | None = None, split: str = "train"
) -> FlowCollection:
    """The cases of ``split`` from ``folder`` (default: the generated set of ``benchmark``)."""
    if folder is None:
        return load_set(benchmark, split=split)
    return load(Path(folder), split=split)


def training_data(
    benchmark: str,
    model_config: Any,
    config: TrainConfig,
    folder: str | Path | None = None,
) -> TrainingData:
    """Build the training and validation datasets for ``model_config``'s scenario.

    Raises:
        DataError: no generated data (with the command that makes it), or too few
            snapshots for the rollout horizon.
    """
    scenario = model_config.scenario
    collection = open_cases(benchmark, folder, "train")
    source = Path(folder) if folder is not None else data_dir(benchmark)
    inputs, outputs = tuple(model_config.in_channels), tuple(model_config.out_channels)
    cases = list(collection)
    n_times = min(c.n_times for c in cases)
    if scenario == "many_to_one":
        train = PairDataset(
            cases, inputs, outputs, "train", "random", config.train_fraction, config.seed
        )
        val = PairDataset(
            cases, inputs, outputs, "test", "random", config.train_fraction, config.seed
        )
        in_stats, out_stats = compute_stats(train, inputs), compute_stats(train, outputs)
    elif scenario == "static":
        train = SnapshotDataset(
            cases, inputs, "train", config.holdout, config.train_fraction, config.seed
        )
        val = SnapshotDataset(
            cases, inputs, "test", config.holdout, config.train_fraction, config.seed
        )
        in_stats = out_stats = compute_stats(train, inputs)
    else:
        horizon = config.k_max
        usable = int(round(config.train_fraction * n_times)) - 1
        periodic = all(c.periodic for c in cases)
        if horizon > usable and not periodic:
            raise DataError(
                f"{benchmark}: a rollout horizon of {horizon} steps needs more than {usable + 1} "
                f"training snapshots per case ({n_times} per case, {config.train_fraction:.0%} "
                "for training); lower --k-max or generate longer records"
            )
        train = WindowDataset(cases, horizon, inputs, "train", config.train_fraction)
        # whole-cycle records (stenosis) wrap: validation windows start at the held-back
        # phases of the cycle and are as long as the training ones
        held = n_times - int(round(config.train_fraction * n_times))
        val_horizon = horizon if periodic else min(horizon, held - 1)
        stride = max(1, (held if periodic else val_horizon) // 4)
        val = WindowDataset(cases, val_horizon, inputs, "test", config.train_fraction, stride)
        in_stats = out_stats = compute_stats(train, inputs)
    train = _cap(train, config.max_train_samples, config.seed)
    if config.symmetry and scenario == "many_to_one":
        train = CrossSectionSymmetry(_check_square_section(train, cases), config.seed)
    val = _cap(val, config.val_samples, config.seed + 1)
    first = cases[0]
    coords = {k: np.asarray(v) for k, v in first.coords.items() if k != "t"}
    return TrainingData(
        train=train,
        val=val,
        in_stats=in_stats,
        out_stats=out_stats,
        snapshot_dt=_snapshot_dt(collection),
        coords=coords,
        sha256=_sha256(collection, source),
        cases=[c.case_id for c in cases],
        source=str(source),
    )


def _check_square_section(dataset: Dataset, cases: list[Any]) -> Dataset:
    """``dataset`` if every case's (y, z) grid is square and centred on the axis (so that the
    cross-section's symmetries are exact); a :class:`DataError` otherwise."""
    for case in cases:
        y, z = (np.asarray(case.coords.get(k, []), dtype=np.float64) for k in ("y", "z"))
        if (
            tuple(case.axes[-3:]) != ("z", "y", "x")
            or y.shape != z.shape
            or not np.allclose(y, -y[::-1], atol=1e-6)
            or not np.allclose(y, z, atol=1e-6)
        ):
            raise DataError(
                f"{case.case_id}: the symmetry augmentation needs a square (z, y) cross-section "
                "centred on the vessel's inlet axis; train without symmetry=True"
            )
    return dataset


def tie_region(
    benchmark: str, latent_shape: tuple[int, ...], coords: dict[str, np.ndarray], where: str
) -> torch.Tensor | None:
    """Latent-grid cells where the readability tie is measured.

    ``"wake"`` on the cylinder keeps the latent columns whose centre lies at least
    :data:`WAKE_START` diameters behind the cylinder centre; ``"box"`` (or any other
    benchmark) keeps every cell (``None``).
    """
    if where != "wake" or benchmark != "cylinder2d" or len(latent_shape) != 2:
        return None
    x = np.asarray(coords["x"], dtype=np.float64)
    edges = np.linspace(
        x[0] - 0.5 * (x[1] - x[0]), x[-1] + 0.5 * (x[1] - x[0]), latent_shape[1] + 1
    )
    centres = 0.5 * (edges[:-1] + edges[1:])
    columns = torch.from_numpy(centres >= WAKE_START)
    return columns.expand(latent_shape).clone()
