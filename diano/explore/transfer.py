"""Import and export: figures, field data, session bundles and a person's own fields.

No UI here: every function takes figures, arrays or bytes and returns bytes or plain objects,
so the app hands exports to the browser as downloads (nothing is written on the server) and
reads uploads from memory. Files reach a disk only through :func:`save_export`, inside an
export folder, with a sanitised name and never over an existing file unless asked.

* Figures: :func:`figure_html` (self-contained, plotly.js inlined, opens offline) and
  :func:`figure_png` (kaleido driving the system's Chromium, else matplotlib).
* Data: :class:`GridArrays` (named 2D arrays on a grid with physical coordinates) as
  :func:`to_npz`, :func:`to_hdf5` (a DIANO case file that ``diano.data.load`` reads) or
  :func:`to_vti` (VTK ImageData with point data and physical spacing/origin; ParaView opens it).
* Session bundles: :class:`SessionBundle` → :func:`write_bundle` (one ``.zip`` holding
  ``manifest.json`` and ``arrays.npz``) → :func:`read_bundle` → :func:`check_bundle` →
  :func:`replay`, which decodes the restored latent again, bit for bit. The solver
  playground's march travels as a :class:`~diano.explore.playground.PlaygroundRecord`.
* A person's field: :func:`read_field` reads ``.npz``, HDF5 or VTK bytes and validates them
  against the model (channels, grid, resolution, dtype, NaN/Inf, size); :func:`encode_field`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diano.errors import ConfigError, DataError
from diano.explore.playground import PlaygroundRecord, settings_from_dict
from diano.latent_edit import EditHistory, LatentGrid

#: largest file :func:`read_field` and :func:`read_bundle` accept, in bytes
MAX_IMPORT_BYTES = 50 * 1024 * 1024
#: file types a field can be imported from
FIELD_SUFFIXES = (".npz", ".h5", ".hdf5", ".vti", ".vtk")
BUNDLE_FORMAT = "diano-session"
BUNDLE_VERSION = 1
__all__ = [
    "FIELD_SUFFIXES",
    "MAX_IMPORT_BYTES",
    "FieldImportError",
    "GridArrays",
    "ImportedField",
    "SessionBundle",
    "check_bundle",
    "encode_field",
    "export_dir",
    "figure_html",
    "figure_png",
    "identical",
    "read_bundle",
    "read_field",
    "replay",
    "sanitise_filename",
    "save_export",
    "to_hdf5",
    "to_npz",
    "to_vti",
    "write_bundle",
]
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120


class FieldImportError(DataError):
    """A field file failed validation; ``problems`` holds one line per problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# -- file names and the export folder ----------------------------------------------------
def sanitise_filename(name: str, default: str = "export") -> str:
    """A safe plain file name: no folders, no leading dots, only ``[A-Za-z0-9._-]``.

    ``"../../etc/passwd"`` becomes ``"passwd"``, ``"my field (1).npz"`` ``"my_field_1_.npz"``;
    a name with nothing left becomes ``default``. Long names are cut to 120 characters,
    keeping the suffix.
    """
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = _SAFE.sub("_", base).lstrip("._-")
    if not base or set(base) <= {".", "_", "-"}:
        base = _SAFE.sub("_", default).lstrip("._-") or "export"
    if len(base) > _MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        keep = suffix[:16] if dot and stem else ""
        base = base[: _MAX_NAME - len(keep) - 1].rstrip(".") + ("." + keep if keep else "")
    return base


def export_dir() -> Path:
    """The folder :func:`save_export` writes to: ``$DIANO_EXPORT_DIR``, else the user cache."""
    env = os.environ.get("DIANO_EXPORT_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "diano" / "exports"


def save_export(
    data: bytes, filename: str, folder: str | os.PathLike | None = None, overwrite: bool = False
) -> Path:
    """Write ``data`` as ``folder/<sanitised filename>`` and return the path written.

    The name is sanitised first, so nothing lands outside ``folder`` (default
    :func:`export_dir`). An existing file is kept: the new one gets a numeric suffix
    (``field-1.npz``, ``field-2.npz``, ...) unless ``overwrite`` is set.
    """
    root = Path(folder) if folder is not None else export_dir()
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    name = sanitise_filename(filename)
    target = (root / name).resolve()
    if target.parent != root:  # cannot happen after sanitising; a last line of defence
        raise ConfigError(f"refusing to write {filename!r} outside the export folder {root}")
    if overwrite:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=root)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return target
    stem, suffix = Path(name).stem, "".join(Path(name).suffixes[-1:])
    for n in range(10_000):
        candidate = root / (name if n == 0 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return candidate
    raise DataError(f"{root} already holds 10000 files named like {name}; pick another name")


# -- figures -----------------------------------------------------------------------------
def figure_html(fig) -> bytes:
    """The plotly figure as one self-contained HTML page (plotly.js inlined, no CDN)."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return html.encode("utf-8")


def figure_png(
    fig, width: int | None = None, height: int | None = None, scale: float = 2.0,
    renderer: str = "auto",
) -> bytes:  # fmt: skip
    """The plotly figure as PNG bytes.

    ``renderer="kaleido"`` draws it exactly as the browser shows it: kaleido 1.x drives a
    headless Chromium (here Debian's ``/usr/bin/chromium``) and loads the plotly.js bundled
    with the plotly package from disk, with MathJax off, so nothing is fetched from the
    network. ``"matplotlib"`` draws the figure's heatmaps (and line traces) with matplotlib
    instead: an approximation for machines with no Chromium. ``"auto"`` tries kaleido
    first and falls back to matplotlib when no browser can start.
    """
    if renderer not in ("auto", "kaleido", "matplotlib"):
        raise ConfigError(f"renderer must be 'auto', 'kaleido' or 'matplotlib', got {renderer!r}")
    layout = fig.layout
    width = int(width or layout.width or 1200)
    height = int(height or layout.height or 500)
    if renderer in ("auto", "kaleido"):
        try:
            import kaleido

            opts = {"format": "png", "width": width, "height": height, "scale": scale}
            return kaleido.calc_fig_sync(fig.to_dict(), opts=opts, kopts={"mathjax": False})
        except Exception as exc:  # no browser, a browser that cannot start, a timeout
            if renderer == "kaleido":
                raise DataError(f"PNG export with kaleido failed: {exc}") from exc
    return _matplotlib_png(fig, width, height, scale)


def _matplotlib_png(fig, width: int, height: int, scale: float) -> bytes:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise DataError("PNG export needs kaleido with Chromium, or matplotlib") from exc
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    lines = [t for t in fig.data if t.type == "scatter" and t.y is not None]
    titles = [a.text for a in fig.layout.annotations or ()]
    n = max(len(heatmaps), 1)
    dpi = 100
    figure, axes = plt.subplots(
        1, n, figsize=(width / dpi, height / dpi), dpi=dpi * scale, squeeze=False
    )
    for k, (ax, trace) in enumerate(zip(axes[0], heatmaps, strict=False)):
        z = np.asarray(trace.z, dtype=float)
        x = np.asarray(trace.x if trace.x is not None else np.arange(z.shape[1]), dtype=float)
        y = np.asarray(trace.y if trace.y is not None else np.arange(z.shape[0]), dtype=float)
        lo = trace.zmin if trace.zmin is not None else np.nanmin(z)
        hi = trace.zmax if trace.zmax is not None else np.nanmax(z)
        cmap = "RdBu_r" if lo < 0 < hi else "viridis"
        image = ax.pcolormesh(x, y, z, cmap=cmap, vmin=lo, vmax=hi, shading="auto")
        ax.set_aspect("equal")
        figure.colorbar(image, ax=ax, shrink=0.8)
        if k < len(titles):
            ax.set_title(str(titles[k]).replace("<br>", " "), fontsize=9)
    if not heatmaps:
        for trace in lines:
            x = trace.x if trace.x is not None else np.arange(len(trace.y))
            axes[0][0].plot(np.asarray(x, dtype=float), np.asarray(trace.y, dtype=float),
                            label=trace.name)  # fmt: skip
        if lines:
            axes[0][0].legend(fontsize=8)
    title = fig.layout.title.text if fig.layout.title else None
    if title:
        figure.suptitle(str(title).replace("<br>", " "), fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


# -- field data --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GridArrays:
    """Named 2D arrays on one grid of cell centres, ready to export.

    Attributes:
        arrays: name -> ``(H, W)`` array (float).
        x: cell centres along x, ``(W,)``; y: along y, ``(H,)`` (the data's length unit).
        mask: ``(H, W)`` with 1 = fluid, or ``None`` (all fluid).
        attrs: metadata (benchmark, model, case, time, ...), JSON-serialisable.
        units: coordinate units, ``{"x": "D", "y": "D", "t": "D/U"}``.
        t: the time of the snapshot.
    """

    arrays: Mapping[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    t: float = 0.0

    def __post_init__(self) -> None:
        shape = (len(self.y), len(self.x))
        if not self.arrays:
            raise ConfigError("nothing to export: no arrays given")
        for name, value in self.arrays.items():
            if name in ("x", "y", "t", "mask", "fields", "metadata") or not name:
                raise ConfigError(f"array name {name!r} is reserved; pick another")
            if np.shape(value) != shape:
                raise ConfigError(f"array {name!r} has shape {np.shape(value)}, grid is {shape}")
        if self.mask is not None and np.shape(self.mask) != shape:
            raise ConfigError(f"mask has shape {np.shape(self.mask)}, grid is {shape}")

    def spacing(self) -> tuple[float, float]:
        """Uniform cell size ``(dx, dy)``; raises ConfigError for a non-uniform grid."""
        out = []
        for axis, c in (("x", np.asarray(self.x, float)), ("y", np.asarray(self.y, float))):
            if c.size < 2:
                out.append(1.0)
                continue
            d = np.diff(c)
            if not np.allclose(d, d[0], rtol=1e-6, atol=0):
                raise ConfigError(f"the {axis} coordinates are not uniformly spaced")
            out.append(float((c[-1] - c[0]) / (c.size - 1)))
        return out[0], out[1]


def to_npz(data: GridArrays) -> bytes:
    """Compressed ``.npz``: one entry per array, plus ``x``, ``y``, ``mask`` and ``metadata``
    (a JSON string); ``numpy.load(..., allow_pickle=False)`` reads it."""
    buffer = io.BytesIO()
    extra = {} if data.mask is None else {"mask": np.asarray(data.mask, dtype=np.uint8)}
    np.savez_compressed(
        buffer,
        **{k: np.asarray(v) for k, v in data.arrays.items()},
        x=np.asarray(data.x, dtype=np.float64),
        y=np.asarray(data.y, dtype=np.float64),
        **extra,
        metadata=np.array(json.dumps(dict(data.attrs), sort_keys=True)),
    )
    return buffer.getvalue()


def to_hdf5(data: GridArrays) -> bytes:
    """A DIANO case file (``reference/data.md`` §7) holding one snapshot whose channels are
    the arrays; ``diano.data.load`` and h5py read it."""
    from diano.data.io import write_case

    names = list(data.arrays)
    fields = np.stack([np.asarray(data.arrays[n], dtype=np.float32) for n in names])[None]
    mask = np.ones(fields.shape[-2:], np.uint8) if data.mask is None else data.mask
    units = dict(data.units)
    coords = {
        "t": (np.array([data.t], dtype=np.float64), units.get("t", "")),
        "x": (np.asarray(data.x, dtype=np.float64), units.get("x", "")),
        "y": (np.asarray(data.y, dtype=np.float64), units.get("y", "")),
    }
    # h5py writes to a path; the temporary folder is private and removed at once.
    with tempfile.TemporaryDirectory(prefix="diano-export-") as tmp:
        path = write_case(Path(tmp) / "export.h5", fields, names, np.asarray(mask).astype(np.uint8),
                          coords, dict(data.attrs))  # fmt: skip
        return path.read_bytes()


def to_vti(data: GridArrays) -> bytes:
    """VTK XML ImageData (``.vti``, ParaView opens it): each array as point data on the cell
    centres, spacing and origin in the data's physical units, metadata as field data."""
    import pyvista as pv
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter

    dx, dy = data.spacing()
    image = pv.ImageData(
        dimensions=(len(data.x), len(data.y), 1),
        spacing=(dx, dy, 1.0),
        origin=(float(data.x[0]), float(data.y[0]), 0.0),
    )
    for name, value in data.arrays.items():
        image.point_data[name] = np.asarray(value).ravel()  # (H, W) row-major: x varies fastest
    if data.mask is not None:
        image.point_data["mask"] = np.asarray(data.mask, dtype=np.uint8).ravel()
    image.field_data["metadata"] = [json.dumps(dict(data.attrs), sort_keys=True)]
    writer = vtkXMLImageDataWriter()
    writer.SetInputData(image)
    writer.SetWriteToOutputString(True)
    writer.SetDataModeToBinary()  # base64 inside the XML: the output is plain text
    writer.SetCompressorTypeToZLib()
    writer.Write()
    return writer.GetOutputString().encode("ascii")


# -- a person's own field ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ImportedField:
    """A validated field read from a file.

    Attributes:
        fields: ``(C, H, W)`` float32, the model's input channels in order.
        channels: their names.
        name: the sanitised file name.
        x, y: the file's cell-centre coordinates, when it has them.
        notes: what the reader did (conversions, which snapshot, which array).
    """

    fields: np.ndarray
    channels: tuple[str, ...]
    name: str
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    notes: tuple[str, ...] = ()


@dataclass
class _Parsed:
    arrays: dict[str, np.ndarray]
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    stacked_channels: list[str] | None = None  # channel names of a "fields" stack


def read_field(
    data: bytes,
    filename: str,
    channels: Sequence[str],
    grid_shape: Sequence[int],
    x_ref: np.ndarray | None = None,
    y_ref: np.ndarray | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
    time_index: int = 0,
) -> ImportedField:
    """Read and validate a person's field for a model with ``channels`` on ``grid_shape``.

    Accepted layouts, by file type:

    * ``.npz``: one array per channel name (``vorticity``, ...) each ``(H, W)``, or an array
      ``fields`` of ``(C, H, W)`` or ``(T, C, H, W)`` (with an optional ``channels`` list of
      names), or, for a one-channel model, a single array; optional ``x`` and ``y``.
    * ``.h5`` / ``.hdf5``: the same names as datasets (a DIANO case file is read as such,
      its ``channels`` attribute naming the ``fields`` stack), optional ``/x`` and ``/y``.
    * ``.vti`` / ``.vtk``: VTK image data with point (or cell) arrays named by channel; the
      coordinates come from its origin and spacing.

    A stack with a time axis gives snapshot ``time_index``.

    Raises:
        FieldImportError: one line per problem: file type, size, unreadable file, missing
            channels, dtype, shape (grid), resolution (spacing or box), NaN/Inf.
    """
    name = sanitise_filename(filename, default="field")
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in FIELD_SUFFIXES:
        shown = suffix or "no extension"
        raise FieldImportError([
            f"{name}: unsupported file type ({shown}); use .npz, .h5/.hdf5 or .vti/.vtk"
        ])  # fmt: skip
    if len(data) > max_bytes:
        raise FieldImportError([
            f"{name}: file is {len(data) / 2**20:.1f} MB, over the "
            f"{max_bytes / 2**20:.0f} MB import limit"
        ])  # fmt: skip
    if not data:
        raise FieldImportError([f"{name}: the file is empty"])
    readers = {".npz": _parse_npz, ".h5": _parse_h5, ".hdf5": _parse_h5}
    reader = readers.get(suffix, _parse_vtk)
    try:
        parsed = reader(data, suffix, max_bytes)
    except FieldImportError as exc:
        raise FieldImportError([f"{name}: {p}" for p in exc.problems]) from exc
    except Exception as exc:  # every reader failure means the same thing to a person
        kind = {".npz": "npz", ".h5": "HDF5", ".hdf5": "HDF5"}.get(suffix, "VTK")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FieldImportError([f"{name}: cannot read it as {kind} (corrupt?): {reason}"]) from exc
    return _validate(parsed, name, tuple(channels), tuple(grid_shape), x_ref, y_ref, time_index)


def _plain_array(value: Any, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind in "OSUV":
        raise FieldImportError([f"{what} holds {array.dtype} values, not numbers"])
    return array


#: how much larger than the file its arrays may unpack to (a guard against zip bombs)
UNPACK_FACTOR = 4


def _check_unpacked(nbytes: int, max_bytes: int) -> None:
    limit = UNPACK_FACTOR * max_bytes
    if nbytes > limit:
        raise FieldImportError([
            f"its arrays unpack to {nbytes / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB limit"
        ])  # fmt: skip


def _parse_npz(data: bytes, suffix: str, max_bytes: int) -> _Parsed:
    if not data.startswith(b"PK"):
        raise FieldImportError(["not an .npz archive (no zip header)"])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        _check_unpacked(sum(i.file_size for i in zf.infolist()), max_bytes)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {}
        stacked = None
        for key in npz.files:
            if key == "metadata":
                continue
            if key == "channels":
                stacked = [str(c) for c in np.asarray(npz[key]).ravel()]
                continue
            arrays[key] = npz[key]
    x, y = arrays.pop("x", None), arrays.pop("y", None)
    return _Parsed(arrays, x, y, stacked)


def _parse_h5(data: bytes, suffix: str, max_bytes: int) -> _Parsed:
    import h5py

    arrays, stacked = {}, None
    with h5py.File(io.BytesIO(data), "r") as f:
        datasets = {k: v for k, v in f.items() if isinstance(v, h5py.Dataset)}
        datasets = {k: v for k, v in datasets.items() if k not in ("t", "mask")}
        _check_unpacked(sum(d.size * d.dtype.itemsize for d in datasets.values()), max_bytes)
        for key, item in datasets.items():
            arrays[key] = item[()]
        fields_ds = f.get("fields")
        if isinstance(fields_ds, h5py.Dataset) and "channels" in fields_ds.attrs:
            raw = fields_ds.attrs["channels"]
            raw = raw.decode() if isinstance(raw, bytes) else raw
            stacked = [str(c) for c in (json.loads(raw) if isinstance(raw, str) else raw)]
    x, y = arrays.pop("x", None), arrays.pop("y", None)
    return _Parsed(arrays, x, y, stacked)


def _parse_vtk(data: bytes, suffix: str, max_bytes: int) -> _Parsed:
    import pyvista as pv

    head = data[:2048]
    if suffix == ".vti":
        if b"<VTKFile" not in head or b"ImageData" not in head:
            raise FieldImportError(["not a VTK XML ImageData (.vti) file"])
        from vtkmodules.vtkIOXML import vtkXMLImageDataReader

        reader = vtkXMLImageDataReader()
        reader.SetReadFromInputString(True)
        reader.SetInputString(data)
    else:
        if not head.startswith(b"# vtk DataFile"):
            raise FieldImportError(["not a legacy VTK (.vtk) file"])
        from vtkmodules.vtkIOLegacy import vtkDataSetReader

        reader = vtkDataSetReader()
        reader.ReadFromInputStringOn()
        reader.SetBinaryInputString(data, len(data))
    from vtkmodules.vtkCommonCore import vtkObject

    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()  # a corrupt file is reported below, not in the log
    try:
        with pv.vtk_verbosity("off"):
            reader.Update()
    finally:
        vtkObject.SetGlobalWarningDisplay(shown)
    output = reader.GetOutput()
    if output is None or reader.GetErrorCode() != 0:
        raise FieldImportError(["the VTK reader failed (truncated or corrupt file?)"])
    mesh = pv.wrap(output)
    if not isinstance(mesh, pv.ImageData):
        raise FieldImportError([f"the VTK file holds {type(mesh).__name__}, not image data"])
    nx, ny, nz = mesh.dimensions
    if min(nx, ny, nz) < 1:
        raise FieldImportError(["the VTK file holds an empty image (truncated or corrupt?)"])
    if nz != 1:
        raise FieldImportError([f"the VTK image is 3D ({nx}×{ny}×{nz} points); 2D is needed"])
    arrays = {}
    cells = (max(ny - 1, 1), max(nx - 1, 1))
    for where, shape in ((mesh.point_data, (ny, nx)), (mesh.cell_data, cells)):
        for key in where.keys():  # noqa: SIM118 (pyvista data sets are not plain dicts)
            value = np.asarray(where[key])
            if key != "mask" and key not in arrays and value.ndim == 1:
                arrays[key] = value.reshape(shape)
    if not arrays:
        raise FieldImportError(["the VTK file holds no point or cell arrays"])
    dx, dy, _ = mesh.spacing
    x0, y0, _ = mesh.origin
    x = x0 + dx * np.arange(nx)
    y = y0 + dy * np.arange(ny)
    return _Parsed(arrays, x, y)


def _pick(parsed: _Parsed, name: str, channels: tuple[str, ...], time_index: int):
    """The ``(C, ...)`` arrays for ``channels`` and notes on how they were found."""
    arrays, notes = parsed.arrays, []
    if all(c in arrays for c in channels):
        return [np.asarray(arrays[c]) for c in channels], notes
    stack_key = next((k for k in ("fields", "field") if k in arrays), None)
    if stack_key is None and len(arrays) == 1:
        stack_key = next(iter(arrays))
    if stack_key is None:
        missing = [c for c in channels if c not in arrays]
        found = sorted(arrays) or ["none"]
        raise FieldImportError([
            f"{name}: channel(s) {missing} not found; the file holds arrays {found}"
        ])  # fmt: skip
    stack = _plain_array(arrays[stack_key], f"{name}: array '{stack_key}'")
    if stack.ndim == 4:
        if not 0 <= time_index < stack.shape[0]:
            raise FieldImportError([
                f"{name}: snapshot {time_index} asked, the file has {stack.shape[0]}"
            ])  # fmt: skip
        if stack.shape[0] > 1:
            notes.append(f"took snapshot {time_index} of {stack.shape[0]}")
        stack = stack[time_index]
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3:
        raise FieldImportError([
            f"{name}: array '{stack_key}' has shape {stack.shape}; expected (H, W), "
            "(C, H, W) or (T, C, H, W)"
        ])  # fmt: skip
    names = parsed.stacked_channels if stack_key == "fields" else None
    if names is not None and len(names) == stack.shape[0]:
        missing = [c for c in channels if c not in names]
        if missing:
            raise FieldImportError([
                f"{name}: channel(s) {missing} not found; the file holds {names}"
            ])  # fmt: skip
        return [stack[names.index(c)] for c in channels], notes
    if stack.shape[0] != len(channels):
        raise FieldImportError([
            f"{name}: array '{stack_key}' has {stack.shape[0]} channel(s); the model reads "
            f"{len(channels)} ({', '.join(channels)})"
        ])  # fmt: skip
    if stack_key not in channels:
        notes.append(f"read array '{stack_key}' as {', '.join(channels)}")
    return list(stack), notes


def _validate(
    parsed: _Parsed,
    name: str,
    channels: tuple[str, ...],
    grid_shape: tuple[int, ...],
    x_ref: np.ndarray | None,
    y_ref: np.ndarray | None,
    time_index: int,
) -> ImportedField:
    picked, notes = _pick(parsed, name, channels, time_index)
    problems = []
    for c, value in zip(channels, picked, strict=True):
        value = _plain_array(value, f"{name}: channel '{c}'")
        if value.dtype.kind not in "fiu":
            problems.append(f"{name}: channel '{c}' has dtype {value.dtype}; use float32")
        elif value.ndim != 2:
            problems.append(
                f"{name}: channel '{c}' has shape {value.shape}; a 2D field (H, W) is needed"
            )
        elif tuple(value.shape) != tuple(grid_shape):
            h, w = grid_shape
            problems.append(
                f"{name}: channel '{c}' is {value.shape[0]}×{value.shape[1]}, the model's grid "
                f"is {h}×{w} (shape mismatch: resample the field to {h}×{w} first)"
            )
    if problems:
        raise FieldImportError(problems)
    kinds = {str(np.asarray(v).dtype) for v in picked}
    if kinds != {"float32"}:
        notes.append(f"converted {', '.join(sorted(kinds))} to float32")
    with np.errstate(over="ignore", invalid="ignore"):
        stack = np.stack([np.asarray(v, dtype=np.float32) for v in picked])
    for c, value in zip(channels, stack, strict=True):
        bad = int((~np.isfinite(value)).sum())
        if bad:
            n_nan = int(np.isnan(value).sum())
            problems.append(
                f"{name}: channel '{c}' holds {n_nan} NaN and {bad - n_nan} Inf value(s) "
                "(or values beyond float32)"
            )
    problems += _resolution_problems(parsed, name, x_ref, y_ref, grid_shape)
    if problems:
        raise FieldImportError(problems)
    x = None if parsed.x is None else np.asarray(parsed.x, dtype=np.float64)
    y = None if parsed.y is None else np.asarray(parsed.y, dtype=np.float64)
    return ImportedField(stack, channels, name, x, y, tuple(notes))


def _resolution_problems(parsed, name, x_ref, y_ref, grid_shape) -> list[str]:
    """Spacing and box of the file's coordinates against the model's grid, when both known."""
    problems = []
    for axis, mine, ref, n in (("x", parsed.x, x_ref, grid_shape[-1]),
                               ("y", parsed.y, y_ref, grid_shape[-2])):  # fmt: skip
        if mine is None or ref is None:
            continue
        mine = _plain_array(mine, f"{name}: coordinate '{axis}'").astype(np.float64).ravel()
        ref = np.asarray(ref, dtype=np.float64)
        if mine.size != n:
            problems.append(f"{name}: coordinate '{axis}' has {mine.size} values, the grid {n}")
            continue
        if not np.isfinite(mine).all():
            problems.append(f"{name}: coordinate '{axis}' holds NaN or Inf")
            continue
        if n < 2:
            continue
        h, h_ref = (mine[-1] - mine[0]) / (n - 1), (ref[-1] - ref[0]) / (n - 1)
        if not np.isclose(h, h_ref, rtol=1e-4, atol=1e-9):
            problems.append(
                f"{name}: grid spacing along {axis} is {h:.6g}, the model's is {h_ref:.6g} "
                "(resolution mismatch)"
            )
        elif not np.isclose(mine[0], ref[0], rtol=0, atol=1e-3 * abs(h_ref)):
            problems.append(
                f"{name}: the field's box starts at {axis} = {mine[0]:.6g}, the model's at "
                f"{ref[0]:.6g} (shift it onto the model's coordinates)"
            )
    return problems


def encode_field(model: torch.nn.Module, imported: ImportedField) -> torch.Tensor:
    """The model's latent of an imported field, ``(1, *latent_shape)`` on the CPU."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.encode(torch.from_numpy(imported.fields[None]).to(device)).cpu()


# -- session bundles ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SessionBundle:
    """Everything that fixes an explorer session's decoded field.

    Attributes:
        benchmark, model, scenario: what was loaded.
        checkpoint_sha256: sha256 of the checkpoint file; a bundle only restores onto it.
        case_id: the case the base latent came from (``None`` for an imported field).
        time_index: the frame.
        history: the latent edits (including undone ones) and the cursor.
        base_latent: the encoded latent the edits start from, ``(1, Lc, M_y, M_x)``.
        grid: where that latent lies (its box in physical coordinates).
        decoded: the decoded field with the edits in effect, ``(C, H, W)`` float32.
        solver_settings: the latent solver's settings in effect, as
            :func:`~diano.explore.playground.settings_to_dict` writes them: the solver
            playground's fork A when it was used, else the checkpoint's (``None`` without a
            latent PDE).
        playground: the solver playground's knobs and steps marched, to show the same march
            again; ``None`` when it was not used for this model and case (restoring then
            puts the playground back to its defaults).
        seed: seed of any random draw in the session (the explorer's views draw nothing).
        code_version: the code that made the bundle.
        source: ``"case"`` or ``"imported"`` (a person's field, kept in ``source_field``).
        source_field: the imported field ``(C, H, W)``, when ``source == "imported"``.
        extra: anything else worth keeping (device, file name of an import, created).
    """

    benchmark: str
    model: str
    scenario: str
    checkpoint_sha256: str
    case_id: str | None
    time_index: int
    history: EditHistory
    base_latent: np.ndarray
    grid: LatentGrid
    decoded: np.ndarray
    solver_settings: dict[str, Any] | None = None
    playground: PlaygroundRecord | None = None
    seed: int = 0
    code_version: str = ""
    source: str = "case"
    source_field: np.ndarray | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(self.decoded.shape[1:])

    def manifest(self) -> dict[str, Any]:
        """The JSON manifest (without the array checksums that :func:`write_bundle` adds)."""
        return {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "benchmark": self.benchmark,
            "model": self.model,
            "scenario": self.scenario,
            "checkpoint_sha256": self.checkpoint_sha256,
            "code_version": self.code_version,
            "case_id": self.case_id,
            "time_index": int(self.time_index),
            "edits": self.history.to_dict(),
            "latent_grid": {
                "shape": list(self.grid.shape),
                "x_range": list(self.grid.x_range),
                "y_range": list(self.grid.y_range),
            },
            "output_shape": list(self.output_shape),
            "solver_settings": self.solver_settings,
            "playground": None if self.playground is None else self.playground.to_dict(),
            "seed": int(self.seed),
            "source": self.source,
            "extra": dict(self.extra),
        }


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def write_bundle(bundle: SessionBundle) -> bytes:
    """The bundle as one ``.zip``: ``manifest.json`` and ``arrays.npz`` (float arrays, each
    listed in the manifest with its shape, dtype and sha256)."""
    arrays = {"base_latent": bundle.base_latent, "decoded": bundle.decoded}
    if bundle.source_field is not None:
        arrays["source_field"] = bundle.source_field
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    manifest = bundle.manifest()
    manifest["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    manifest["arrays"] = {
        k: {"shape": list(v.shape), "dtype": str(v.dtype), "sha256": _digest(v)}
        for k, v in arrays.items()
    }
    npz = io.BytesIO()
    np.savez_compressed(npz, **arrays)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        zf.writestr("arrays.npz", npz.getvalue())
    return out.getvalue()


_REQUIRED = ("benchmark", "model", "scenario", "checkpoint_sha256", "time_index", "edits",
             "latent_grid")  # fmt: skip


def read_bundle(data: bytes, max_bytes: int = MAX_IMPORT_BYTES) -> SessionBundle:
    """Read and check a bundle made by :func:`write_bundle`.

    Raises:
        DataError: not a zip, over the size limit, no or invalid manifest, an unknown
            format version, missing or altered arrays (their sha256 is checked), bad edits,
            damaged solver settings or playground record.
    """
    if len(data) > max_bytes:
        raise DataError(
            f"bundle is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError("not a session bundle: the file is not a .zip archive") from exc
    with zf:
        names = set(zf.namelist())
        if not {"manifest.json", "arrays.npz"} <= names:
            raise DataError("not a session bundle: manifest.json or arrays.npz is missing")
        unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > 4 * max_bytes:
            raise DataError(f"bundle unpacks to {unpacked / 2**20:.0f} MB, over the size limit")
        try:
            manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
            raw_arrays = zf.read("arrays.npz")
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"the bundle's manifest cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise DataError("not a session bundle: manifest.json is not a DIANO session manifest")
    if manifest.get("version") != BUNDLE_VERSION:
        raise DataError(
            f"session bundle version {manifest.get('version')!r} is not supported "
            f"(this code reads version {BUNDLE_VERSION})"
        )
    missing = [k for k in _REQUIRED if k not in manifest]
    if missing:
        raise DataError(f"the bundle's manifest lacks {missing}")
    try:
        with zipfile.ZipFile(io.BytesIO(raw_arrays)) as inner:
            unpacked = sum(i.file_size for i in inner.infolist())
        if unpacked > UNPACK_FACTOR * max_bytes:
            raise DataError(f"the bundle's arrays unpack to {unpacked / 2**20:.0f} MB, too much")
        with np.load(io.BytesIO(raw_arrays), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"the bundle's arrays cannot be read (corrupt?): {exc}") from exc
    listed = manifest.get("arrays") or {}
    for key in ("base_latent", "decoded"):
        if key not in arrays:
            raise DataError(f"the bundle holds no '{key}' array")
    for key, entry in listed.items():
        if key not in arrays or _digest(arrays[key]) != entry.get("sha256"):
            raise DataError(f"the bundle's array '{key}' is missing or was altered (sha256)")
    try:
        g = manifest["latent_grid"]
        grid = LatentGrid(tuple(int(v) for v in g["shape"]), tuple(g["x_range"]),
                          tuple(g["y_range"]))  # fmt: skip
        time_index = manifest["time_index"]
        if type(time_index) is not int or time_index < 0:
            raise DataError(f"time_index {time_index!r} is not a frame number")
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"the bundle's latent grid or time index is invalid: {exc}") from exc
    history = EditHistory.from_dict(manifest["edits"])
    solver_settings = manifest.get("solver_settings")
    if solver_settings is not None:
        settings_from_dict(solver_settings, "the bundle's solver settings")
    playground = manifest.get("playground")
    if playground is not None:
        playground = PlaygroundRecord.from_dict(playground, "the bundle's playground record")
    return SessionBundle(
        benchmark=str(manifest["benchmark"]),
        model=str(manifest["model"]),
        scenario=str(manifest["scenario"]),
        checkpoint_sha256=str(manifest["checkpoint_sha256"]),
        case_id=manifest.get("case_id"),
        time_index=time_index,
        history=history,
        base_latent=arrays["base_latent"],
        grid=grid,
        decoded=arrays["decoded"],
        solver_settings=solver_settings,
        playground=playground,
        seed=int(manifest.get("seed", 0)),
        code_version=str(manifest.get("code_version", "")),
        source=str(manifest.get("source", "case")),
        source_field=arrays.get("source_field"),
        extra=dict(manifest.get("extra") or {}),
    )


def check_bundle(
    bundle: SessionBundle, *, benchmark: str, model: str, scenario: str, sha256: str
) -> None:
    """Refuse a bundle made with another checkpoint than the one loaded.

    Raises:
        DataError: benchmark, model or scenario differ, or the checkpoint's sha256 does.
    """
    made = (bundle.benchmark, bundle.model, bundle.scenario)
    if made != (benchmark, model, scenario):
        raise DataError(
            f"this bundle was made with {bundle.model} ({bundle.scenario}) on "
            f"{bundle.benchmark}; the loaded model is {model} ({scenario}) on {benchmark}"
        )
    if bundle.checkpoint_sha256 != sha256:
        raise DataError(
            f"checkpoint mismatch: the bundle was made with checkpoint sha256 "
            f"{bundle.checkpoint_sha256[:12]}…, the loaded {model} ({scenario}) checkpoint is "
            f"{sha256[:12]}…; load the checkpoint the bundle was made with to restore it"
        )


def replay(bundle: SessionBundle, model: torch.nn.Module) -> np.ndarray:
    """Decode the bundle's base latent with its edits in effect: ``(C, H, W)`` float32.

    On the same checkpoint, code and device this equals ``bundle.decoded`` bit for bit.
    """
    base = torch.from_numpy(np.array(bundle.base_latent))
    z = bundle.history.current(base, bundle.grid)
    device = next(model.parameters()).device
    with torch.no_grad():
        u = model.decode(z.to(device), output_shape=bundle.output_shape)
    return u[0].cpu().numpy()


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape, dtype and bytes (NaN equal to NaN)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
