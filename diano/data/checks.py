"""Array checks shared by the data writer and reader, and statistics over fluid cells.

Each check raises :class:`~diano.errors.DataError` with a message naming the origin (a file),
the problem and the shapes or values involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from diano.errors import DataError

#: spatial axis names of 2D and 3D fields, in array order
SPATIAL_AXES = {2: ("y", "x"), 3: ("z", "y", "x")}


def _first_bad_index(values: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN/Inf in ``values``, or None when all are finite."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), values.shape))


def check_finite(
    fields: np.ndarray,
    channels: Sequence[str],
    where: str,
    time_index: np.ndarray | None = None,
) -> None:
    """Raise DataError naming the channel and the first (t, ...) index holding NaN or Inf.

    Args:
        fields: ``(T, C, *S)`` array.
        channels: the C channel names.
        where: the file (or other origin) named in the message.
        time_index: file index of each snapshot, when ``fields`` holds a selection.
    """
    for c, name in enumerate(channels):
        index = _first_bad_index(fields[:, c])
        if index is not None:
            value = fields[:, c][index]
            if time_index is not None:
                index = (int(time_index[index[0]]), *index[1:])
            axes = ("t", *SPATIAL_AXES.get(fields.ndim - 2, ()))
            named = ", ".join(f"{a}={i}" for a, i in zip(axes, index, strict=False))
            raise DataError(
                f"{where}: channel {name!r} holds {value} at index ({named}); fields must be finite"
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
    if n_t == 0 or n_c == 0 or 0 in spatial:
        raise DataError(f"{where}: fields of shape {tuple(fields_shape)} hold no values")
    axes = SPATIAL_AXES[len(spatial)]
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
