"""In-memory containers of flow data: one case (:class:`FlowData`), its metadata
(:class:`CaseInfo`) and a lazily read set of cases (:class:`FlowCollection`).

Files are read and written by :mod:`diano.data.io`; this module holds no file format logic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diano.data.checks import SPATIAL_AXES, fluid_stats
from diano.errors import ConfigError, DataError

TimeSelection = int | slice | Sequence[int] | np.ndarray | None


def time_indices(time: TimeSelection, n_times: int, where: str) -> np.ndarray:
    """Normalise a time selection (None, int, slice, list of ints) to an index array.

    Raises:
        ConfigError: for indices out of ``[-n_times, n_times)`` or a selection of the wrong kind.
    """
    if time is None:
        return np.arange(n_times)
    if isinstance(time, slice):
        return np.arange(n_times)[time]
    index = np.atleast_1d(np.asarray(time))
    if index.dtype.kind not in "iu" or index.ndim != 1:
        raise ConfigError(f"{where}: time must be an int, a slice or a list of ints, got {time!r}")
    if index.size and (index.min() < -n_times or index.max() >= n_times):
        raise ConfigError(f"{where}: time index {time!r} is out of range for {n_times} snapshots")
    return np.where(index < 0, index + n_times, index)


@dataclass(frozen=True, eq=False)
class CaseInfo:
    """Everything in a case file except the field values (cheap to read).

    Attributes:
        path: the file.
        shape: ``(T, C, *S)`` of ``/fields`` in the file.
        dtype: storage dtype of ``/fields``.
        channels: the C channel names.
        mask: ``S``-shaped bool array, True = fluid.
        coords: coordinate name (``t``, ``x``, ``y``[, ``z``]) -> 1-D array.
        units: coordinate name -> units string.
        attrs: file attributes, JSON-encoded ones decoded.
        stats: channel -> {"mean", "std", "min", "max", "count"} over fluid cells.
    """

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    channels: tuple[str, ...]
    mask: np.ndarray
    coords: dict[str, np.ndarray]
    units: dict[str, str]
    attrs: dict[str, Any]
    stats: dict[str, dict[str, float]]

    @property
    def case_id(self) -> str:
        return self.path.stem

    @property
    def n_times(self) -> int:
        return self.shape[0]

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return self.shape[2:]

    @property
    def re(self) -> float | None:
        value = self.attrs.get("Re")
        return None if value is None else float(value)

    @property
    def split(self) -> str | None:
        value = self.attrs.get("split")
        return None if value is None else str(value)


@dataclass(frozen=True, eq=False)
class FlowData:
    """One case in memory: fields in physical units with mask, coordinates and attributes.

    Attributes:
        fields: ``(T, C, Ny, Nx)`` or ``(T, C, Nz, Ny, Nx)`` float32 array.
        channels: the C channel names, in the order of ``fields``.
        mask: ``(Ny, Nx)`` or ``(Nz, Ny, Nx)`` bool array, True = fluid.
        coords: ``t``, ``x``, ``y``[, ``z``] -> 1-D arrays (``t`` restricted to the snapshots read).
        units: coordinate name -> units string.
        attrs: file attributes (benchmark, Re, config, seed, split, code_version, ...).
        stats: channel -> {"mean", "std", "min", "max", "count"} over fluid cells of every
            snapshot in the file (not only the ones read), as stored by the writer.
        path: the file read, or None for data built in memory.
        time_index: index in the file of each snapshot in ``fields``.
    """

    fields: np.ndarray
    channels: tuple[str, ...]
    mask: np.ndarray
    coords: dict[str, np.ndarray]
    units: dict[str, str]
    attrs: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    path: Path | None = None
    time_index: np.ndarray | None = None

    @property
    def case_id(self) -> str:
        return self.path.stem if self.path is not None else str(self.attrs.get("case", "case"))

    @property
    def n_times(self) -> int:
        return self.fields.shape[0]

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.fields.shape[2:])

    @property
    def axes(self) -> tuple[str, ...]:
        """Spatial axis names in array order: ``("y", "x")`` or ``("z", "y", "x")``."""
        return SPATIAL_AXES[self.fields.ndim - 2]

    @property
    def re(self) -> float | None:
        value = self.attrs.get("Re")
        return None if value is None else float(value)

    @property
    def split(self) -> str | None:
        value = self.attrs.get("split")
        return None if value is None else str(value)

    @property
    def benchmark(self) -> str | None:
        value = self.attrs.get("benchmark")
        return None if value is None else str(value)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Grid spacing per spatial axis in array order, e.g. ``(dy, dx)``; NaN for one point."""
        return tuple(_step(self.coords[a]) for a in self.axes)

    @property
    def extent(self) -> tuple[float, ...]:
        """Domain length per spatial axis in array order: ``n_cells * spacing``.

        Cell-centred convention: a latent grid pooled by a factor f has spacing ``f * h``
        and the same extent, which is what the latent solvers take as ``extent``.
        """
        return tuple(n * h for n, h in zip(self.spatial_shape, self.spacing, strict=True))

    @property
    def time_step(self) -> float:
        """Time between consecutive snapshots (mean step of ``t``); NaN for one snapshot."""
        return _step(self.coords["t"])

    @property
    def periodic(self) -> bool:
        """True when the record is whole cycles of a periodic flow: ``t`` is counted in
        periods (the stenosis' cardiac cycle) and the snapshots cover a whole number of them,
        so snapshot ``n_times`` is snapshot 0 again."""
        if "period" not in str(self.units.get("t", "")) or self.n_times < 2:
            return False
        span = self.n_times * self.time_step
        return round(span) >= 1 and abs(span - round(span)) < 1e-3 * self.time_step * self.n_times

    def frame(self, k: int) -> int | None:
        """Index of the snapshot at step ``k`` from the first one: ``k`` itself inside the
        record, wrapped around for a periodic record, None past the end of any other."""
        if 0 <= k < self.n_times:
            return k
        return k % self.n_times if self.periodic and k >= 0 else None

    def cycled(self, n_times: int) -> FlowData:
        """The record continued to ``n_times`` snapshots by repeating its cycle (a periodic
        record only; one at least that long is returned as it is)."""
        if n_times <= self.n_times:
            return self
        if not self.periodic:
            raise ConfigError(f"{self.case_id}: not a whole-cycle record; it cannot be cycled")
        index = np.arange(n_times) % self.n_times
        t = self.coords["t"][0] + self.time_step * np.arange(n_times)
        base = np.arange(self.n_times) if self.time_index is None else self.time_index
        return replace(
            self,
            fields=self.fields[index],
            coords=dict(self.coords, t=t),
            time_index=base[index],
        )

    def channel(self, name: str) -> np.ndarray:
        """Return one channel as a ``(T, *S)`` array (a view)."""
        return self.fields[:, self._channel_indices([name])[0]]

    def torch(
        self,
        channels: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Return the fields (or the named channels) as a ``(T, C, *S)`` tensor."""
        from diano.device import resolve_device

        values = self.fields
        if channels is not None:
            values = values[:, self._channel_indices(channels)]
        return torch.as_tensor(np.ascontiguousarray(values)).to(resolve_device(device), dtype)

    def torch_mask(self, device: str | torch.device = "cpu") -> torch.Tensor:
        """Return the fluid mask as a bool ``S``-shaped tensor."""
        from diano.device import resolve_device

        return torch.as_tensor(self.mask).to(resolve_device(device))

    def select(self, channels: Sequence[str] | None = None, time: TimeSelection = None) -> FlowData:
        """Return a FlowData holding only some channels and/or snapshots."""
        index = time_indices(time, self.n_times, self.case_id)
        c_index = list(range(len(self.channels)))
        if channels is not None:
            c_index = self._channel_indices(channels)
        fields_ = self.fields[index][:, c_index]
        coords = dict(self.coords, t=self.coords["t"][index])
        base = np.arange(self.n_times) if self.time_index is None else self.time_index
        names = tuple(self.channels[c] for c in c_index)
        return replace(self, fields=fields_, channels=names, coords=coords, time_index=base[index])

    def normalizer_stats(self, channels: Sequence[str] | None = None) -> dict[str, list[float]]:
        """Statistics as ``{"mean": [...], "std": [...]}`` for a model's normaliser.

        The file's statistics (all snapshots) where present, else those of the fields held.
        """
        names = self.channels if channels is None else tuple(channels)
        self._channel_indices(names)
        stats = self.stats
        if any(n not in stats for n in names):
            stats = fluid_stats(self.fields, self.mask, self.channels)
        return {"mean": [stats[n]["mean"] for n in names], "std": [stats[n]["std"] for n in names]}

    def _channel_indices(self, names: Sequence[str]) -> list[int]:
        if isinstance(names, str):
            names = [names]
        unknown = [n for n in names if n not in self.channels]
        if unknown:
            raise ConfigError(
                f"{self.case_id}: unknown channel(s) {unknown}; available: {list(self.channels)}"
            )
        return [self.channels.index(n) for n in names]


def _step(values: np.ndarray) -> float:
    return float((values[-1] - values[0]) / (len(values) - 1)) if len(values) > 1 else math.nan


class FlowCollection(Sequence[FlowData]):
    """Several cases (a folder or a benchmark), read lazily.

    The metadata of every case (:class:`CaseInfo`: mask, coordinates, attributes,
    statistics) is read up front; the fields of a case are read from its file each time the
    case is accessed, so a large generated set can be browsed without loading it. Index by
    position or by case id (the file name without ``.h5``); pick a cylinder case with
    :meth:`by_re`; iterate to visit every case.

    Args:
        infos: metadata of the cases, in the order the collection presents them.
        reader: reads the fields of one case (channel and time selection already bound).
        source: where the cases came from, for messages.
    """

    def __init__(
        self,
        infos: Sequence[CaseInfo],
        reader: Callable[[CaseInfo], FlowData],
        source: str = "",
    ) -> None:
        self._infos = tuple(infos)
        self._reader = reader
        self.source = source

    @property
    def infos(self) -> tuple[CaseInfo, ...]:
        return self._infos

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(info.path for info in self._infos)

    @property
    def reynolds(self) -> tuple[float | None, ...]:
        """Reynolds number of each case (None where a file has no ``Re`` attribute)."""
        return tuple(info.re for info in self._infos)

    def keys(self) -> tuple[str, ...]:
        """Case ids (file names without ``.h5``), in order."""
        return tuple(info.case_id for info in self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, slice):
            return FlowCollection(self._infos[key], self._reader, self.source)
        if isinstance(key, str):
            if key not in self.keys():
                raise ConfigError(f"{self.source}: no case {key!r}; cases: {list(self.keys())}")
            key = self.keys().index(key)
        return self._reader(self._infos[key])

    def __iter__(self) -> Iterator[FlowData]:
        for info in self._infos:
            yield self._reader(info)

    def filter(self, split: str | None = None, re: float | None = None) -> FlowCollection:
        """Return the cases with the given ``split`` attribute and/or Reynolds number.

        Raises:
            DataError: when no case matches; the message lists what the collection holds.
        """
        infos = self._infos
        if split is not None:
            infos = tuple(i for i in infos if i.split == split)
            if not infos:
                splits = sorted({str(i.split) for i in self._infos})
                raise DataError(f"{self.source}: no case with split {split!r}; splits: {splits}")
        if re is not None:
            matching = tuple(i for i in infos if i.re is not None and _same(i.re, re))
            if not matching:
                available = sorted({i.re for i in infos if i.re is not None})
                raise DataError(f"{self.source}: no case with Re={re:g}; Re available: {available}")
            infos = matching
        return FlowCollection(infos, self._reader, self.source)

    def by_re(self, re: float) -> FlowData:
        """Return the one case with Reynolds number ``re`` (the first if several match)."""
        return self.filter(re=re)[0]

    def load_all(self) -> list[FlowData]:
        """Read every case into memory."""
        return list(self)

    def __repr__(self) -> str:
        return f"FlowCollection({len(self)} cases from {self.source!r}: {list(self.keys())})"


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
