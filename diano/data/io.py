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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from diano.errors import ConfigError, DataError

FORMAT_VERSION = 1
SUPPORTED_FORMATS = (1,)
FLOAT16_MAX = 65504.0
#: file attributes the writer sets itself; callers may not pass them in ``attrs``
RESERVED_ATTRS = ("format", "stats", "json_attrs")
_SPATIAL_AXES = {2: ("y", "x"), 3: ("z", "y", "x")}
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
    """Return the package version plus the git commit of the source tree when it has one."""
    from diano import __version__

    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    commit = out.stdout.strip()
    return f"{__version__}+g{commit}" if out.returncode == 0 and commit else __version__


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- validation shared by writer and reader ---------------------------------------------
def _first_bad_index(values: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN/Inf in ``values``, or None when all are finite."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), values.shape))


def check_finite(fields: np.ndarray, channels: Sequence[str], where: str) -> None:
    """Raise DataError naming the channel and the first (t, ...) index holding NaN or Inf."""
    for c, name in enumerate(channels):
        index = _first_bad_index(fields[:, c])
        if index is not None:
            value = fields[:, c][index]
            axes = ("t", *_SPATIAL_AXES.get(fields.ndim - 2, ()))
            named = ", ".join(f"{a}={i}" for a, i in zip(axes, index, strict=False))
            raise DataError(
                f"{where}: channel {name!r} holds {value} at index ({named}); "
                "fields must be finite"
            )



def check_layout(
    fields_shape: tuple[int, ...],
    channels: Sequence[str],
    mask_shape: tuple[int, ...],
    coord_lengths: Mapping[str, int],
    where: str,
) -> tuple[str, ...]:
    """Check that fields, channels, mask and coordinates agree; return the spatial axis names.

    Raises:
        DataError: naming ``where`` and the mismatching shapes.
    """
    if len(fields_shape) not in (4, 5):
        raise DataError(
            f"{where}: fields must be (T, C, Ny, Nx) or (T, C, Nz, Ny, Nx), "
            f"got shape {tuple(fields_shape)}"
        )
    n_t, n_c, *spatial = fields_shape
    axes = _SPATIAL_AXES[len(spatial)]
    if len(channels) != n_c:
        raise DataError(
            f"{where}: {len(channels)} channel names {list(channels)} for {n_c} channels "
            f"in fields of shape {tuple(fields_shape)}"
        )
    if len(set(channels)) != len(channels):
        raise DataError(f"{where}: channel names repeat: {list(channels)}")
    if tuple(mask_shape) != tuple(spatial):
        raise DataError(
            f"{where}: mask shape {tuple(mask_shape)} does not match the spatial shape "
            f"{tuple(spatial)} of fields {tuple(fields_shape)}"
        )
    expected = {"t": n_t, **dict(zip(axes, spatial, strict=True))}
    missing = [name for name in expected if name not in coord_lengths]
    if missing:
        raise DataError(f"{where}: missing coordinate(s) {missing}; expected {list(expected)}")
    extra = [name for name in coord_lengths if name not in expected]
    if extra:
        raise DataError(f"{where}: unexpected coordinate(s) {extra}; expected {list(expected)}")
    for name, n in expected.items():
        if coord_lengths[name] != n:
            raise DataError(
                f"{where}: coordinate {name!r} has length {coord_lengths[name]}, "
                f"but fields {tuple(fields_shape)} need {n}"
            )
    return axes


def fluid_stats(fields: np.ndarray, mask: np.ndarray, channels: Sequence[str]) -> dict[str, dict]:
    """Per-channel mean, std (population), min, max and count over fluid cells, all snapshots.

    Args:
        fields: ``(T, C, *S)`` array.
        mask: ``S``-shaped array, nonzero = fluid.
        channels: the C channel names.
    """
    fluid = np.asarray(mask).astype(bool)
    if not fluid.any():
        raise DataError("the mask has no fluid cell; statistics over fluid cells are undefined")
    stats = {}
    for c, name in enumerate(channels):
        values = fields[:, c][:, fluid]  # (T, n_fluid)
        mean = float(np.mean(values, dtype=np.float64))
        var = float(np.mean(np.square(values, dtype=np.float64))) - mean**2
        # Recompute around the mean when cancellation could hurt (large offset, small spread).
        if var < 1e-6 * max(mean**2, 1e-300):
            var = float(np.mean(np.square(values.astype(np.float64) - mean)))
        stats[name] = {
            "mean": mean,
            "std": float(np.sqrt(max(var, 0.0))),
            "min": float(values.min()),
            "max": float(values.max()),
            "count": int(values.size),
        }
    return stats


# -- writer ----------------------------------------------------------------------------
def _encode_attr(key: str, value: Any) -> tuple[Any, bool]:
    """Return an HDF5-storable value and whether it was JSON-encoded."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value, False
    if value is None or isinstance(value, (Mapping, list, tuple, np.ndarray)):
        try:
            return json.dumps(_jsonable(value), sort_keys=True), True
        except (TypeError, ValueError) as exc:
            raise DataError(f"attribute {key!r} cannot be stored as JSON: {exc}") from exc
    raise DataError(
        f"attribute {key!r} has type {type(value).__name__}; use str, int, float, bool, "
        "or dicts/lists of those"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


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
        file_attrs[key], as_json = _encode_attr(key, value)
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
        os.replace(tmp, path)
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
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
