"""Data: HDF5 case files (writer, validating reader), torch datasets, normalisation statistics.

Contents::

    load(path_or_benchmark, *, split, re, channels, time, source)  # FlowData | FlowCollection
    load_set(benchmark, *, split, re, channels, time)  # the full generated set (data cache)
    read_info(path) -> CaseInfo           # metadata, mask and coordinates without the fields
    FlowData, FlowCollection, CaseInfo    # containers (diano.data.flow)
    write_case, write_manifest, verify_manifest, sha256_file, data_dir, samples_dir
    SnapshotDataset, WindowDataset, PairDataset, compute_stats       # diano.data.dataset
"""

from __future__ import annotations

from diano.data.dataset import PairDataset, SnapshotDataset, WindowDataset, compute_stats
from diano.data.flow import CaseInfo, FlowCollection, FlowData
from diano.data.io import (
    FORMAT_VERSION,
    code_version,
    data_dir,
    load,
    load_set,
    read_case,
    read_info,
    samples_dir,
    sha256_file,
    verify_manifest,
    write_case,
    write_manifest,
)

__all__ = [
    "FORMAT_VERSION",
    "CaseInfo",
    "FlowCollection",
    "FlowData",
    "PairDataset",
    "SnapshotDataset",
    "WindowDataset",
    "code_version",
    "compute_stats",
    "data_dir",
    "load",
    "load_set",
    "read_case",
    "read_info",
    "samples_dir",
    "sha256_file",
    "verify_manifest",
    "write_case",
    "write_manifest",
]
