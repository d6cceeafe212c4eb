"""HDF5 data files, one per case: writer, validating reader, manifest (``reference/data.md`` §7).

Layout of a case file (format version :data:`FORMAT_VERSION`)::

    /fields   float16|float32 (T, C, Ny, Nx) or (T, C, Nz, Ny, Nx); one snapshot per chunk,
              gzip 4 + shuffle; attributes ``dims`` ("t, c, y, x") and ``channels`` (JSON list)
    /mask     uint8 (Ny, Nx) or (Nz, Ny, Nx), 1 = fluid
    /t /x /y [/z]   float64 coordinates, each with a ``units`` attribute
    file attributes: the caller's ``attrs`` (nested dicts and lists as JSON strings, their
              keys listed in ``json_attrs``), ``format``, ``code_version``, ``created`` and
              ``stats`` (JSON: per channel mean, std, min, max and count over fluid cells of
              every snapshot)

Files are written to a temporary file in the target folder and renamed into place only
after the write succeeded, so a failed write never leaves a partial file and an existing
file is never replaced unless asked.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from diano.data.attrs import decode_attrs, encode_attr, plain
from diano.data.checks import SPATIAL_AXES, check_finite, check_layout, fluid_stats
from diano.data.flow import (
    CaseInfo,
    FlowCollection,
    FlowData,
    TimeSelection,
    time_indices,
)
from diano.errors import ConfigError, DataError

FORMAT_VERSION = 1
SUPPORTED_FORMATS = (1,)
FLOAT16_MAX = 65504.0
#: file attributes the writer sets itself; callers may not pass them in ``attrs``
RESERVED_ATTRS = ("format", "stats", "json_attrs")
_ALLOWED_DTYPES = (np.float16, np.float32, np.float64)


# -- locations -------------------------------------------------------------------------
def data_dir(benchmark: str | None = None) -> Path:
    """Return the folder of generated data sets (``$DIANO_DATA_DIR``, else the user cache).

    Args:
        benchmark: if given, the per-benchmark sub-folder.
    """
    env = os.environ.get("DIANO_DATA_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(cache).expanduser() / "diano" / "data"
    return root / benchmark if benchmark else root


def samples_dir() -> Path:
    """Return the folder of the small committed samples (``$DIANO_SAMPLES_DIR`` overrides)."""
    env = os.environ.get("DIANO_SAMPLES_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "samples"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Return the package version plus the git commit of the source tree when it has one.

    ``"0.1.0+g<commit>"``, with ``.dirty`` appended when tracked files differ from that
    commit; just the version outside a git checkout.
    """
    from diano import __version__

    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return __version__
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{__version__}+g{commit}" + (".dirty" if dirty else "")


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- writer ----------------------------------------------------------------------------
def _resolve_dtype(dtype: Any) -> np.dtype:
    resolved = np.dtype(np.float32 if dtype is None else dtype)
    if resolved.type not in _ALLOWED_DTYPES:
        raise ConfigError(f"dtype {resolved} is not supported; use float32 (default) or float16")
    return resolved


def write_case(
    path: str | os.PathLike,
    fields: np.ndarray,
    channels: list[str] | tuple[str, ...],
    mask: np.ndarray,
    coords: Mapping[str, tuple[np.ndarray, str]],
    attrs: Mapping[str, Any],
    overwrite: bool = False,
    dtype: Any = None,
    compression_level: int = 4,
) -> Path:
    """Validate one case and write it as an HDF5 file.

    Args:
        path: target ``.h5`` file; its folder is created when missing.
        fields: ``(T, C, Ny, Nx)`` or ``(T, C, Nz, Ny, Nx)`` array in physical units.
        channels: the C channel names, e.g. ``["vorticity", "u", "v", "p"]``.
        mask: ``(Ny, Nx)`` or ``(Nz, Ny, Nx)``, 1 (or True) = fluid, 0 = solid.
        coords: ``{"t": (t, units), "x": (x, units), "y": (y, units)[, "z": ...]}``.
        attrs: file attributes (benchmark, Re, St, config, seed, split, ...); nested dicts
            and lists are stored as JSON strings and decoded again by the reader.
        overwrite: replace an existing file; otherwise an existing file is an error.
        dtype: storage dtype, float32 by default; float16 for small committed samples.
        compression_level: gzip level (0–9).

    Returns:
        The path written.

    Raises:
        DataError: the file exists, or the arrays are inconsistent, non-finite or out of
            the float16 range.
    """
    path = Path(path)
    where = str(path)
    if path.exists() and not overwrite:
        raise DataError(f"{where} already exists; pass overwrite=True to replace it")
    store_dtype = _resolve_dtype(dtype)
    fields = np.asarray(fields)
    if fields.dtype.kind not in "fiu":
        raise DataError(f"{where}: fields must be numeric, got dtype {fields.dtype}")
    mask = np.asarray(mask)
    if mask.dtype.kind not in "biu":
        raise DataError(f"{where}: mask must be integer or bool, got dtype {mask.dtype}")
    if mask.size and not np.isin(mask, (0, 1)).all():
        raise DataError(f"{where}: mask values must be 0 (solid) or 1 (fluid)")
    channels = tuple(str(c) for c in channels)
    coord_arrays: dict[str, np.ndarray] = {}
    coord_units: dict[str, str] = {}
    for name, entry in coords.items():
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise DataError(f"{where}: coordinate {name!r} must be given as (array, units)")
        values, units = entry
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise DataError(f"{where}: coordinate {name!r} must be 1-D, got {values.shape}")
        if not np.isfinite(values).all():
            raise DataError(f"{where}: coordinate {name!r} holds NaN or Inf")
        coord_arrays[name], coord_units[name] = values, str(units)
    axes = check_layout(
        fields.shape, channels, mask.shape, {k: len(v) for k, v in coord_arrays.items()}, where
    )
    check_finite(fields, channels, where)
    if store_dtype == np.float16:
        peak = float(np.abs(fields).max()) if fields.size else 0.0
        if peak >= FLOAT16_MAX:
            raise DataError(
                f"{where}: max |value| {peak:g} does not fit float16 (limit {FLOAT16_MAX:g}); "
                "store as float32"
            )
    stored = fields.astype(store_dtype, copy=False)
    for key in attrs:
        if key in RESERVED_ATTRS:
            raise DataError(f"{where}: attribute name {key!r} is reserved by the file format")
    file_attrs: dict[str, Any] = {"code_version": code_version(), "created": _now()}
    json_keys = []
    for key, value in attrs.items():
        file_attrs[key], as_json = encode_attr(key, value)
        if as_json:
            json_keys.append(key)
    file_attrs["format"] = FORMAT_VERSION
    file_attrs["stats"] = json.dumps(fluid_stats(stored, mask, channels))
    file_attrs["json_attrs"] = json.dumps(sorted(json_keys))

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with h5py.File(tmp, "w") as f:
            dset = f.create_dataset(
                "fields",
                data=stored,
                chunks=(1, *stored.shape[1:]),  # one snapshot per chunk: cheap time slices
                compression="gzip",
                compression_opts=compression_level,
                shuffle=True,
            )
            dset.attrs["dims"] = ", ".join(("t", "c", *axes))
            dset.attrs["channels"] = json.dumps(list(channels))
            f.create_dataset(
                "mask", data=mask.astype(np.uint8), compression="gzip", compression_opts=4
            )
            for name, values in coord_arrays.items():
                f.create_dataset(name, data=values).attrs["units"] = coord_units[name]
            for key, value in file_attrs.items():
                f.attrs[key] = value
        if path.exists() and not overwrite:
            raise DataError(f"{where} appeared while writing; pass overwrite=True to replace it")
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def write_manifest(directory: str | os.PathLike, pattern: str = "*.h5") -> Path:
    """Write ``manifest.json`` listing sha256 and size of every data file in ``directory``.

    Returns:
        The manifest's path.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory} is not a folder; cannot write a data manifest there")
    files = {}
    for file in sorted(directory.glob(pattern)):
        files[file.name] = {"sha256": sha256_file(file), "size": file.stat().st_size}
    manifest = {
        "format": FORMAT_VERSION,
        "code_version": code_version(),
        "created": _now(),
        "files": files,
    }
    target = directory / "manifest.json"
    fd, tmp_name = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
            fh.write("\n")
        _publish(Path(tmp_name), target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target


def verify_manifest(directory: str | os.PathLike) -> None:
    """Check every file listed in ``directory/manifest.json`` against its sha256 and size.

    Raises:
        DataError: listing each missing or changed file.
    """
    directory = Path(directory)
    target = directory / "manifest.json"
    try:
        listed = json.loads(target.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{target} is missing or not a valid data manifest: {exc}") from exc
    problems = []
    for name, entry in sorted(listed.items()):
        file = directory / name
        if not file.is_file():
            problems.append(f"{name}: missing")
        elif file.stat().st_size != entry.get("size") or sha256_file(file) != entry.get("sha256"):
            problems.append(f"{name}: size or sha256 differs from the manifest")
    if problems:
        raise DataError(f"{target}: " + "; ".join(problems))


def _publish(tmp: Path, target: Path) -> None:
    """Give the finished temporary file the usual permissions and rename it into place."""
    # mkstemp creates files readable by the owner only; data files are meant to be shared.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, target)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# -- reader ----------------------------------------------------------------------------
@contextlib.contextmanager
def _open_h5(path: Path) -> Iterator[h5py.File]:
    """Open an HDF5 file for reading, turning every failure into a DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc}") from exc
    if not is_hdf5:
        raise DataError(f"{path} is not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path} cannot be opened (truncated or corrupted?): {exc}") from exc
    try:
        with f:
            yield f
    except (OSError, KeyError, RuntimeError) as exc:
        raise DataError(f"{path} cannot be read (truncated or corrupted?): {exc}") from exc


def _read_info(f: h5py.File, path: Path) -> CaseInfo:
    where = str(path)
    version = plain(f.attrs.get("format"))
    if version is None:
        raise DataError(f"{where} has no 'format' attribute; it is not a DIANO data file")
    if version not in SUPPORTED_FORMATS:
        raise DataError(
            f"{where}: data format version {version!r} is not supported "
            f"(this code reads {list(SUPPORTED_FORMATS)})"
        )
    for name in ("fields", "mask", "t"):
        if not isinstance(f.get(name), h5py.Dataset):
            raise DataError(f"{where}: missing dataset '/{name}'")
    dset, mask_dset = f["fields"], f["mask"]
    if dset.dtype.kind != "f":
        raise DataError(f"{where}: /fields has dtype {dset.dtype}; expected float16/32/64")
    if mask_dset.dtype.kind not in "biu":
        raise DataError(f"{where}: /mask has dtype {mask_dset.dtype}; expected integer or bool")
    try:
        channels = tuple(json.loads(plain(dset.attrs["channels"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: /fields lacks a valid 'channels' attribute") from exc
    axes = SPATIAL_AXES.get(dset.ndim - 2, ())
    coords, units = {}, {}
    for name in ("t", *axes):
        if not isinstance(f.get(name), h5py.Dataset):
            raise DataError(f"{where}: missing coordinate dataset '/{name}'")
        if f[name].ndim != 1 or f[name].dtype.kind not in "fiu":
            raise DataError(f"{where}: coordinate '/{name}' must be a 1-D numeric array")
        coords[name] = f[name][()].astype(np.float64)
        units[name] = str(plain(f[name].attrs.get("units", "")))
    lengths = {k: len(v) for k, v in coords.items()}
    check_layout(dset.shape, channels, mask_dset.shape, lengths, where)
    mask = mask_dset[()]
    if not np.isin(mask, (0, 1)).all():
        raise DataError(f"{where}: /mask values must be 0 (solid) or 1 (fluid)")
    try:
        stats = json.loads(plain(f.attrs["stats"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: missing or invalid 'stats' attribute") from exc
    return CaseInfo(
        path=path,
        shape=tuple(dset.shape),
        dtype=dset.dtype,
        channels=channels,
        mask=mask.astype(bool),
        coords=coords,
        units=units,
        attrs=decode_attrs(f.attrs, where),
        stats=stats,
    )


def read_info(path: str | os.PathLike) -> CaseInfo:
    """Validate a case file's structure and read everything but the field values."""
    path = Path(path)
    with _open_h5(path) as f:
        return _read_info(f, path)


def read_case(
    path: str | os.PathLike,
    channels: Sequence[str] | None = None,
    time: TimeSelection = None,
) -> FlowData:
    """Read and validate one case file; only the selected snapshots are decompressed.

    Args:
        path: the ``.h5`` file.
        channels: channel names to keep (all by default).
        time: snapshots to read: an index, a slice or a list of indices (all by default);
            a single index keeps the time dim, ``(1, C, *S)``.

    Raises:
        DataError: the file is missing, not HDF5, or fails validation (datasets, shapes,
            dtypes, format version, NaN/Inf in the snapshots read).
        ConfigError: unknown channel names or time indices out of range.
    """
    path = Path(path)
    with _open_h5(path) as f:
        info = _read_info(f, path)
        index = time_indices(time, info.n_times, str(path))
        dset = f["fields"]
        if index.size and np.all(np.diff(index) == 1):
            values = dset[int(index[0]) : int(index[-1]) + 1]
        else:
            # h5py needs increasing unique indices; read those, then restore the order asked.
            unique, inverse = np.unique(index, return_inverse=True)
            values = dset[unique.tolist()][inverse] if unique.size else dset[0:0]
    values = values.astype(np.float32, copy=False)
    check_finite(values, info.channels, str(path), time_index=index)
    data = FlowData(
        fields=values,
        channels=info.channels,
        mask=info.mask,
        coords=dict(info.coords, t=info.coords["t"][index]),
        units=info.units,
        attrs=info.attrs,
        stats=info.stats,
        path=path,
        time_index=index,
    )
    return data if channels is None else data.select(channels=channels)


def _benchmark_files(benchmark: str, source: str) -> tuple[list[Path], str]:
    if source == "samples":
        folder, pattern = samples_dir(), f"{benchmark}_*.h5"
        hint = (
            f"no committed samples for {benchmark!r} ({folder / pattern}); make them with "
            f"`diano generate {benchmark}`, or read the full set with source='cache'"
        )
    elif source == "cache":
        folder, pattern = data_dir(benchmark), "*.h5"
        hint = (
            f"no generated data for {benchmark!r} in {folder}; generate it with "
            f"`diano generate {benchmark}` (or point DIANO_DATA_DIR at the data)"
        )
    else:
        raise ConfigError(f"source must be 'samples' or 'cache', got {source!r}")
    files = _h5_files(folder, pattern)
    if not files:
        raise DataError(hint)
    return files, f"{benchmark} ({source}: {folder})"


def _h5_files(folder: Path, pattern: str = "*.h5") -> list[Path]:
    # Names starting with "." are the writer's temporary files.
    return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("."))


def _check_filters(info: CaseInfo, split: str | None, re: float | None) -> None:
    if split is not None and info.split != split:
        raise DataError(f"{info.path} has split {info.split!r}, not {split!r}")
    if re is not None and (info.re is None or not np.isclose(info.re, re, rtol=1e-6)):
        raise DataError(f"{info.path} has Re={info.re}, not {re:g}")


def load(
    path_or_benchmark: str | os.PathLike,
    *,
    split: str | None = None,
    re: float | None = None,
    channels: Sequence[str] | None = None,
    time: TimeSelection = None,
    source: Literal["samples", "cache"] = "samples",
) -> FlowData | FlowCollection:
    """Open flow data: one file, every case in a folder, or a benchmark's cases.

    Args:
        path_or_benchmark: a ``.h5`` file, a folder of them, or a benchmark name
            (``"cylinder2d"``, ``"stenosis2d"``, ``"coronary3d"``). A string equal to a
            benchmark name always means the benchmark; pass ``Path("cylinder2d")`` or
            ``"./cylinder2d"`` for a local folder of that name.
        split: keep only cases whose ``split`` attribute equals this (e.g. ``"train"``).
        re: keep only cases with this Reynolds number (``Re`` attribute).
        channels: channel names to read (all by default).
        time: snapshots to read (index, slice or list of indices; all by default).
        source: for a benchmark name, ``"samples"`` reads the small committed samples
            (``samples_dir()``, files ``<benchmark>_*.h5``), ``"cache"`` the full generated
            set in ``data_dir(benchmark)``.

    Returns:
        A :class:`FlowData` for a file; a lazily read :class:`FlowCollection`, ordered by
        Reynolds number then case id, for a folder or a benchmark.

    Raises:
        ConfigError: an unknown benchmark name (valid names listed) or channel.
        DataError: missing files (with the command that generates them), no case matching
            the filters, or a file failing validation.
    """
    from diano import BENCHMARKS

    name = os.fspath(path_or_benchmark)
    path = Path(name).expanduser()
    if isinstance(path_or_benchmark, str) and name in BENCHMARKS:
        files, description = _benchmark_files(name, source)
    elif path.is_file():
        info = read_info(path)
        _check_filters(info, split, re)
        return read_case(path, channels=channels, time=time)
    elif path.is_dir():
        files, description = _h5_files(path), str(path)
        if not files:
            raise DataError(f"{path} holds no .h5 data files")
    elif path.suffix or len(path.parts) > 1:
        raise DataError(f"{path}: no such data file or folder")
    else:
        raise ConfigError(
            f"unknown benchmark {name!r}; valid names: {list(BENCHMARKS)} "
            "(or give a path to a .h5 file or a folder)"
        )
    return _collection(files, description, split, re, channels, time)


def load_set(
    benchmark: str,
    *,
    split: str | None = None,
    re: float | None = None,
    channels: Sequence[str] | None = None,
    time: TimeSelection = None,
) -> FlowCollection:
    """Open a benchmark's full generated set from ``data_dir(benchmark)`` (see :func:`load`)."""
    from diano import BENCHMARKS

    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; valid names: {list(BENCHMARKS)}")
    files, description = _benchmark_files(benchmark, "cache")
    return _collection(files, description, split, re, channels, time)


def _collection(
    files: Sequence[Path],
    description: str,
    split: str | None,
    re: float | None,
    channels: Sequence[str] | None,
    time: TimeSelection,
) -> FlowCollection:
    """Read the metadata of ``files`` and return them as a filtered, lazily read collection."""
    infos = sorted(
        (read_info(p) for p in files),
        key=lambda i: (i.re is None, i.re or 0.0, i.case_id),
    )
    if channels is not None:
        for info in infos:
            missing = [c for c in channels if c not in info.channels]
            if missing:
                raise ConfigError(
                    f"{info.path}: unknown channel(s) {missing}; available: {list(info.channels)}"
                )
    # a partial of a module-level function keeps the collection picklable (caches, workers)
    reader = functools.partial(_read_selected, channels=channels, time=time)
    return FlowCollection(infos, reader, description).filter(split=split, re=re)


def _read_selected(info: CaseInfo, channels: Sequence[str] | None, time: TimeSelection) -> FlowData:
    return read_case(info.path, channels=channels, time=time)
