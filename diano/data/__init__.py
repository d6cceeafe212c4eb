"""Data: HDF5 case files (writer, validating reader), torch datasets, normalisation statistics.

Contents::

    diano.data.load(path_or_benchmark, ...)   # -> FlowData (one file) or FlowCollection
    diano.data.load_set(benchmark, ...)       # the full generated set in the data cache
    diano.data.io                             # write_case, write_manifest, data_dir, samples_dir
    diano.data.dataset                        # SnapshotDataset, WindowDataset, PairDataset,
                                              # compute_stats
"""

from __future__ import annotations

from diano.data.io import (
    FORMAT_VERSION,
    data_dir,
    samples_dir,
    sha256_file,
    write_case,
    write_manifest,
)

__all__ = [
    "FORMAT_VERSION",
    "data_dir",
    "samples_dir",
    "sha256_file",
    "write_case",
    "write_manifest",
]
