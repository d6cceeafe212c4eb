"""Edits of a latent grid and their undo/redo history, as plain data (no UI).

A 2D DIANO latent ``z (B, Lc, M_y, M_x)`` lives on physical coordinates: cell ``(i, j)`` of
an ``M_y × M_x`` latent covers the ``j``-th column and ``i``-th row of the data's box. The
edits below change that latent the way a person would draw on a coarse grid:

* :class:`GaussianBump`: add ``A · exp(-r² / (2 σ²))`` centred at a physical point;
* :class:`SetRegion` / :class:`ScaleRegion`: set or scale a set of cells;
* :class:`FourierFilter`: keep or zero a band of radial wavenumbers of the latent.

Edits are frozen dataclasses, so a history is a tuple of small records that can be shown,
stored and replayed; :class:`EditHistory` is an immutable undo/redo list over a base latent.
The model is never touched: every edit returns a new tensor. :func:`edit_to_dict` and
:func:`edit_from_dict` (and ``EditHistory.to_dict`` / ``from_dict``) turn edits into plain
JSON data and back, exactly: floats keep every bit, arrays keep their dtype.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import Tensor

from diano.errors import ConfigError, DataError

Cells = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class LatentGrid:
    """Physical placement of an ``M_y × M_x`` latent: the box ``[x0, x1] × [y0, y1]``.

    Attributes:
        shape: ``(M_y, M_x)``.
        x_range: ``(x0, x1)``, the box's edges along x (the data's length unit).
        y_range: ``(y0, y1)``, the box's edges along y.
    """

    shape: tuple[int, int]
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if len(self.shape) != 2 or min(self.shape) < 1:
            raise ConfigError(f"a latent grid needs a shape (M_y, M_x) >= 1, got {self.shape}")
        if self.x_range[1] <= self.x_range[0] or self.y_range[1] <= self.y_range[0]:
            raise ConfigError(
                f"latent box edges must increase, got x {self.x_range} and y {self.y_range}"
            )

    @classmethod
    def from_coords(cls, shape: Sequence[int], x: np.ndarray, y: np.ndarray) -> LatentGrid:
        """The latent box covering cell-centred data coordinates ``x (N_x,)`` and ``y (N_y,)``."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.size < 2 or y.size < 2:
            raise ConfigError(f"need at least 2 coordinates per axis, got {x.size} and {y.size}")
        dx, dy = (x[-1] - x[0]) / (x.size - 1), (y[-1] - y[0]) / (y.size - 1)
        return cls(
            (int(shape[0]), int(shape[1])),
            (float(x[0] - dx / 2), float(x[-1] + dx / 2)),
            (float(y[0] - dy / 2), float(y[-1] + dy / 2)),
        )

    @property
    def spacing(self) -> tuple[float, float]:
        """Cell size ``(h_y, h_x)``."""
        return (
            (self.y_range[1] - self.y_range[0]) / self.shape[0],
            (self.x_range[1] - self.x_range[0]) / self.shape[1],
        )

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates ``(y (M_y,), x (M_x,))``."""
        hy, hx = self.spacing
        y = self.y_range[0] + hy * (np.arange(self.shape[0]) + 0.5)
        x = self.x_range[0] + hx * (np.arange(self.shape[1]) + 0.5)
        return y, x

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """Index ``(row, col)`` of the cell holding the point ``(x, y)`` (clipped to the box)."""
        hy, hx = self.spacing
        row = int(np.clip((y - self.y_range[0]) // hy, 0, self.shape[0] - 1))
        col = int(np.clip((x - self.x_range[0]) // hx, 0, self.shape[1] - 1))
        return row, col


def region_cells(rows: tuple[int, int], cols: tuple[int, int]) -> Cells:
    """All cells of the index rectangle ``rows[0] <= i < rows[1]``, ``cols[0] <= j < cols[1]``."""
    return tuple((i, j) for i in range(rows[0], rows[1]) for j in range(cols[0], cols[1]))


def _check_latent(z: Tensor, grid: LatentGrid) -> None:
    if z.dim() != 4 or tuple(z.shape[-2:]) != tuple(grid.shape):
        raise ConfigError(
            f"latent edits need z of shape (B, Lc, {grid.shape[0]}, {grid.shape[1]}), "
            f"got {tuple(z.shape)}"
        )


def _channel_index(z: Tensor, channel: int | None) -> slice:
    if channel is None:
        return slice(None)
    if not 0 <= channel < z.shape[1]:
        raise ConfigError(f"latent channel {channel} out of range 0..{z.shape[1] - 1}")
    return slice(channel, channel + 1)


def _cell_mask(cells: Cells, grid: LatentGrid, like: Tensor) -> Tensor:
    if not cells:
        raise ConfigError("the region is empty; select at least one latent cell")
    mask = torch.zeros(grid.shape, dtype=like.dtype, device=like.device)
    for i, j in cells:
        if not (0 <= i < grid.shape[0] and 0 <= j < grid.shape[1]):
            raise ConfigError(f"cell ({i}, {j}) lies outside the {grid.shape} latent grid")
        mask[i, j] = 1
    return mask


class Edit(Protocol):
    """An edit maps a latent to a new latent and says in words what it does."""

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class GaussianBump:
    """Add ``amplitude · exp(-|p - p0|² / (2 radius²))`` around ``p0 = (x, y)``.

    Attributes:
        x, y: centre in physical coordinates.
        radius: standard deviation σ in the same length unit (> 0).
        amplitude: peak value added (latent units; negative removes).
        channel: latent channel, or ``None`` for all.
    """

    x: float
    y: float
    radius: float
    amplitude: float
    channel: int | None = 0

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor:
        _check_latent(z, grid)
        if self.radius <= 0:
            raise ConfigError(f"bump radius must be positive, got {self.radius}")
        yc, xc = grid.centres()
        yy = torch.as_tensor(yc, dtype=z.dtype, device=z.device)[:, None]
        xx = torch.as_tensor(xc, dtype=z.dtype, device=z.device)[None, :]
        bump = self.amplitude * torch.exp(
            -((xx - self.x) ** 2 + (yy - self.y) ** 2) / (2 * self.radius**2)
        )  # (M_y, M_x)
        out = z.clone()
        out[:, _channel_index(z, self.channel)] += bump
        return out

    def describe(self) -> str:
        return (
            f"bump {self.amplitude:+.3g} at (x={self.x:.2f}, y={self.y:.2f}), "
            f"radius {self.radius:.2f}"
        )


@dataclass(frozen=True)
class SetRegion:
    """Set the selected cells to ``value``."""

    cells: Cells
    value: float
    channel: int | None = 0

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor:
        _check_latent(z, grid)
        mask = _cell_mask(self.cells, grid, z)
        out = z.clone()
        ch = _channel_index(z, self.channel)
        out[:, ch] = out[:, ch] * (1 - mask) + self.value * mask
        return out

    def describe(self) -> str:
        return f"set {len(self.cells)} cell(s) to {self.value:.3g}"


@dataclass(frozen=True)
class ScaleRegion:
    """Multiply the selected cells by ``factor``."""

    cells: Cells
    factor: float
    channel: int | None = 0

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor:
        _check_latent(z, grid)
        mask = _cell_mask(self.cells, grid, z)
        out = z.clone()
        ch = _channel_index(z, self.channel)
        out[:, ch] = out[:, ch] * (1 + (self.factor - 1) * mask)
        return out

    def describe(self) -> str:
        return f"scale {len(self.cells)} cell(s) by {self.factor:.3g}"


def radial_wavenumber(shape: Sequence[int]) -> Tensor:
    """Radial wavenumber ``sqrt(k_y² + k_x²)`` on the ``rfft2`` layout ``(M_y, M_x//2+1)``."""
    ky = torch.fft.fftfreq(shape[0]) * shape[0]
    kx = torch.fft.rfftfreq(shape[1]) * shape[1]
    return torch.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)


@dataclass(frozen=True)
class FourierFilter:
    """Keep (or zero) the latent's Fourier modes with ``k_min <= |k| <= k_max``.

    ``|k|`` counts periods across the latent box (0 is the mean). ``action="keep"`` zeroes
    every mode outside the band, ``"zero"`` zeroes the band itself.
    """

    k_min: float
    k_max: float
    action: Literal["keep", "zero"] = "keep"
    channel: int | None = 0

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor:
        _check_latent(z, grid)
        if self.action not in ("keep", "zero"):
            raise ConfigError(f"Fourier action must be 'keep' or 'zero', got {self.action!r}")
        if self.k_max < self.k_min:
            raise ConfigError(f"k_max ({self.k_max}) must be >= k_min ({self.k_min})")
        k = radial_wavenumber(grid.shape).to(z.device)
        band = (k >= self.k_min - 1e-9) & (k <= self.k_max + 1e-9)
        keep = band if self.action == "keep" else ~band
        ch = _channel_index(z, self.channel)
        out = z.clone()
        spec = torch.fft.rfft2(z[:, ch])  # (B, c, M_y, M_x//2+1)
        out[:, ch] = torch.fft.irfft2(spec * keep.to(spec.dtype), s=grid.shape)
        return out

    def describe(self) -> str:
        verb = "keep only" if self.action == "keep" else "zero"
        return f"{verb} Fourier modes {self.k_min:g} <= |k| <= {self.k_max:g}"


@dataclass(frozen=True, eq=False)
class AddLatent:
    """Add a whole latent change ``delta (Lc, M_y, M_x)``, e.g. what encoding a field edit
    (an inserted vortex) did to the latent."""

    delta: np.ndarray
    label: str = "add a latent change"

    def apply(self, z: Tensor, grid: LatentGrid) -> Tensor:
        _check_latent(z, grid)
        delta = torch.as_tensor(np.asarray(self.delta), dtype=z.dtype, device=z.device)
        if tuple(delta.shape) != tuple(z.shape[1:]):
            raise ConfigError(
                f"latent change of shape {tuple(delta.shape)} does not fit z {tuple(z.shape)}"
            )
        return z + delta

    def describe(self) -> str:
        return self.label


def apply_edits(z: Tensor, edits: Iterable[Edit], grid: LatentGrid) -> Tensor:
    """Apply ``edits`` in order to ``z`` (never in place)."""
    for edit in edits:
        z = edit.apply(z, grid)
    return z


@dataclass(frozen=True)
class EditHistory:
    """Undo/redo list of edits over a base latent; every method returns a new history.

    Attributes:
        edits: all recorded edits, including undone ones that can be redone.
        cursor: number of edits in effect (``edits[:cursor]``).
    """

    edits: tuple = field(default_factory=tuple)
    cursor: int = 0

    @property
    def applied(self) -> tuple:
        return self.edits[: self.cursor]

    @property
    def can_undo(self) -> bool:
        return self.cursor > 0

    @property
    def can_redo(self) -> bool:
        return self.cursor < len(self.edits)

    def push(self, edit: Edit) -> EditHistory:
        """Record ``edit``; edits that were undone are dropped (a new branch)."""
        return EditHistory(self.applied + (edit,), self.cursor + 1)

    def undo(self) -> EditHistory:
        return replace(self, cursor=max(self.cursor - 1, 0))

    def redo(self) -> EditHistory:
        return replace(self, cursor=min(self.cursor + 1, len(self.edits)))

    def reset(self) -> EditHistory:
        return EditHistory()

    def current(self, base: Tensor, grid: LatentGrid) -> Tensor:
        """The base latent with the edits in effect applied."""
        return apply_edits(base, self.applied, grid)

    def describe(self) -> list[str]:
        return [edit.describe() for edit in self.applied]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: every recorded edit (redoable ones too) and the cursor."""
        return {"edits": [edit_to_dict(e) for e in self.edits], "cursor": self.cursor}

    @classmethod
    def from_dict(cls, data: Any) -> EditHistory:
        """Rebuild a history from :meth:`to_dict`'s output.

        Raises:
            DataError: not a history record, an unknown edit, or a cursor out of range.
        """
        if not isinstance(data, dict) or not isinstance(data.get("edits"), list):
            raise DataError("an edit history needs a list 'edits' and an integer 'cursor'")
        edits = tuple(edit_from_dict(e) for e in data["edits"])
        cursor = data.get("cursor", len(edits))
        if type(cursor) is not int or not 0 <= cursor <= len(edits):
            raise DataError(f"edit history cursor {cursor!r} is not in 0..{len(edits)}")
        return cls(edits, cursor)


#: JSON names of the edit classes (the ``"type"`` of a serialised edit)
EDIT_TYPES: dict[str, type] = {
    "gaussian_bump": GaussianBump,
    "set_region": SetRegion,
    "scale_region": ScaleRegion,
    "fourier_filter": FourierFilter,
    "add_latent": AddLatent,
}


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    """An edit as plain JSON data ``{"type": ..., <its fields>}``.

    Tuples become lists; an array (``AddLatent.delta``) becomes nested lists plus its dtype,
    which JSON holds exactly (a float32 or float64 value survives the round trip bit for bit).
    """
    names = {cls: name for name, cls in EDIT_TYPES.items()}
    if type(edit) not in names:
        raise ConfigError(f"cannot serialise edit {type(edit).__name__}; known: {list(EDIT_TYPES)}")
    out: dict[str, Any] = {"type": names[type(edit)]}
    for f in fields(edit):
        value = getattr(edit, f.name)
        if isinstance(value, np.ndarray):
            out[f.name] = value.tolist()
            out[f"{f.name}_dtype"] = str(value.dtype)
        elif isinstance(value, tuple):
            out[f.name] = [[int(i) for i in v] if isinstance(v, tuple) else v for v in value]
        else:
            out[f.name] = value.item() if isinstance(value, np.generic) else value
    return out


def edit_from_dict(data: Any) -> Edit:
    """Rebuild an edit from :func:`edit_to_dict`'s output.

    Raises:
        DataError: not a dict, an unknown ``type``, or missing / unexpected / ill-typed fields.
    """
    if not isinstance(data, dict):
        raise DataError(f"an edit must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in EDIT_TYPES:
        raise DataError(f"unknown edit type {kind!r}; known: {list(EDIT_TYPES)}")
    cls = EDIT_TYPES[kind]
    names = [f.name for f in fields(cls)]
    extra = set(data) - {"type", *names, *(f"{n}_dtype" for n in names)}
    if extra:
        raise DataError(f"{kind} edit has unexpected field(s) {sorted(extra)}")
    kwargs: dict[str, Any] = {}
    try:
        for name in names:
            if name not in data:
                continue  # the dataclass default applies (or the constructor says it is missing)
            value = data[name]
            if name == "cells":
                value = tuple((int(i), int(j)) for i, j in value)
            elif name == "delta":
                value = np.asarray(value, dtype=np.dtype(data.get("delta_dtype", "float32")))
            elif name == "channel":
                value = None if value is None else int(value)
            elif name in ("action", "label"):
                value = str(value)
            else:
                value = float(value)
            kwargs[name] = value
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{kind} edit is malformed: {exc}") from exc
