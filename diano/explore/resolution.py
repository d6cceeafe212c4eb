"""Multi-resolution decode: the decoded field at 0.5×, 1× and 2× the data grid, and its error
against the finest truth there is.

How the models reach another grid (:func:`decode_support`):

* DIANO's FNO decoder evaluates its Fourier layers and up-sampling on the requested grid
  (cell-centred phase shifts, :mod:`diano.layers.spectral`), so ``decode(z, shape)`` emits
  any grid; detail finer than the data is what the decoder's Fourier modes and filters carry;
* the baselines (CNO, CNN-AE, MLP-AE) decode on their working grid and then resample: box
  averages to a coarser grid, linear interpolation to a finer one (:func:`diano.layers.resample`);
  nothing finer than the working grid appears.

The reference: a grid coarser than the data is compared with the data averaged over its
cells. A grid as fine as the data or finer has its cell centres on the latent's box (the
data grid's cells), so the finest truth is interpolated (bilinearly, on its own coordinates)
to those points; its error is reported only where that truth is at least as fine as the
decoded grid: the committed sample is 128², its fine reference
(:data:`diano.data.generators.samples.FINE_SPECS`) 256² for the first snapshots of the
held-out Re 180. Cells or points that touch a solid node are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from diano.errors import ConfigError
from diano.latent_edit import LatentGrid

FACTORS: tuple[float, ...] = (0.5, 1.0, 2.0)


def decode_support(model: nn.Module) -> str:
    """One sentence: how ``model`` decodes onto a grid other than its working grid."""
    name = getattr(model, "name", type(model).__name__)
    grid = tuple(getattr(getattr(model, "config", None), "grid_shape", ()))
    if name == "diano":
        return (
            "DIANO: the FNO decoder evaluates its Fourier layers on the requested grid, so it "
            "emits any resolution from the same latent (finer detail comes from the decoder)."
        )
    size = "×".join(str(s) for s in grid) or "its working grid"
    return (
        f"{name}: decodes on its {size} working grid, then resamples (box averages to a "
        "coarser grid, linear interpolation to a finer one); nothing finer appears."
    )


def decode_shapes(
    shape: Sequence[int], factors: Sequence[float] = FACTORS
) -> list[tuple[int, int]]:
    """Grids ``round(factor · shape)`` per factor (at least 2 cells per axis)."""
    if len(shape) != 2:
        raise ConfigError(f"multi-resolution decode takes a 2D grid (H, W), got {tuple(shape)}")
    out = []
    for f in factors:
        if not (np.isfinite(f) and f > 0):
            raise ConfigError(f"resolution factors must be positive, got {f}")
        out.append((max(2, round(shape[0] * f)), max(2, round(shape[1] * f))))
    return out


def grid_points(
    x: np.ndarray, y: np.ndarray, shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres ``(x (W',), y (H',))`` of a ``shape`` grid on the box of data grid ``x, y``."""
    yc, xc = LatentGrid.from_coords((int(shape[0]), int(shape[1])), x, y).centres()
    return np.asarray(xc), np.asarray(yc)


@torch.no_grad()
def decode_at(
    model: nn.Module, z: torch.Tensor, shapes: Sequence[Sequence[int]]
) -> list[np.ndarray]:
    """``model.decode(z, shape)`` for each shape: ``(C, H', W')`` float32 arrays."""
    device = next(model.parameters()).device
    z = z.to(device)
    return [model.decode(z, output_shape=tuple(s))[0].float().cpu().numpy() for s in shapes]


def interpolate(
    field: np.ndarray, x: np.ndarray, y: np.ndarray, x_out: np.ndarray, y_out: np.ndarray
) -> np.ndarray:
    """Bilinear interpolation of ``field (..., H, W)`` on ``y × x`` to ``y_out × x_out``
    (values beyond the outer points are held constant)."""
    field = np.asarray(field, dtype=np.float64)

    def weights(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.asarray(src, dtype=np.float64)
        pos = np.interp(dst, src, np.arange(src.size))  # fractional index, clamped
        lo = np.clip(np.floor(pos).astype(int), 0, src.size - 1)
        hi = np.clip(lo + 1, 0, src.size - 1)
        return lo, hi, pos - lo

    ylo, yhi, wy = weights(y, y_out)
    xlo, xhi, wx = weights(x, x_out)
    rows = field[..., ylo, :] * (1 - wy)[:, None] + field[..., yhi, :] * wy[:, None]
    return rows[..., xlo] * (1 - wx) + rows[..., xhi] * wx


def fluid_points(
    mask: np.ndarray | None, x: np.ndarray, y: np.ndarray, x_out: np.ndarray, y_out: np.ndarray
) -> np.ndarray:
    """Points of ``y_out × x_out`` whose interpolation uses fluid nodes only: ``(H', W')``."""
    if mask is None:
        return np.ones((len(y_out), len(x_out)), dtype=bool)
    return interpolate(np.asarray(mask, dtype=np.float64), x, y, x_out, y_out) > 1 - 1e-9


@dataclass(frozen=True)
class Reference:
    """A truth frame ``(H, W)`` on its coordinates, with its fluid mask and a label."""

    field: np.ndarray
    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None
    label: str

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.field.shape[-2]), int(self.field.shape[-1]))


@dataclass(frozen=True)
class ResolutionRow:
    """The error of one decoded grid: ``rel_l2`` is ``None`` without a fine enough truth."""

    factor: float
    shape: tuple[int, int]
    rel_l2: float | None
    reference: str


def rel_l2_at(decoded: np.ndarray, ref: Reference, data_x, data_y) -> float:
    """Relative L2 error of ``decoded (H', W')`` (on the data box) against ``ref`` at the
    decoded grid's cell centres, over points in the fluid."""
    x_out, y_out = grid_points(data_x, data_y, decoded.shape)
    truth = interpolate(ref.field, ref.x, ref.y, x_out, y_out)
    keep = fluid_points(ref.mask, ref.x, ref.y, x_out, y_out)
    diff = (np.asarray(decoded, dtype=np.float64) - truth)[keep]
    norm = float(np.sqrt(np.mean(truth[keep] ** 2)))
    return float(np.sqrt(np.mean(diff**2)) / max(norm, 1e-12))


def box_average(ref: Reference, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``ref``'s field averaged over ``factor × factor`` blocks of its cells, and the blocks
    that are all fluid: ``((H/f, W/f), (H/f, W/f) bool)``."""
    h, w = ref.shape
    if h % factor or w % factor:
        raise ConfigError(f"a {h}×{w} grid does not split into {factor}×{factor} blocks")
    blocks = (h // factor, factor, w // factor, factor)
    mean = np.asarray(ref.field, dtype=np.float64).reshape(blocks).mean(axis=(1, 3))
    if ref.mask is None:
        return mean, np.ones(mean.shape, dtype=bool)
    fluid = (np.asarray(ref.mask) > 0).reshape(blocks).all(axis=(1, 3))
    return mean, fluid


def resolution_errors(
    decoded: Sequence[np.ndarray],
    factors: Sequence[float],
    references: Sequence[Reference],
    data_x: np.ndarray,
    data_y: np.ndarray,
) -> list[ResolutionRow]:
    """Error per decoded grid against the best truth for it.

    A grid coarser than the data by a whole factor is compared with the data averaged over
    its cells (what a coarse cell holds, and how the baselines down-sample). A grid as fine
    as the data or finer is compared at its cell centres with the finest reference,
    bilinearly interpolated there, if that reference is at least as fine as the grid.

    Args:
        decoded: ``(H', W')`` fields, one per factor.
        factors: the resolution factors.
        references: the truths there are for this frame, the data the latent was encoded
            from first (e.g. the sample, then its fine reference).
        data_x, data_y: coordinates of the data grid (the first reference's).
    """
    data = references[0]
    rows = []
    for field, factor in zip(decoded, factors, strict=True):
        shape = (int(field.shape[-2]), int(field.shape[-1]))
        ratio = data.shape[0] // shape[0] if shape[0] else 0
        if (
            shape[0] < data.shape[0]
            and ratio > 1
            and (shape[0] * ratio, shape[1] * ratio) == (data.shape)
        ):
            mean, fluid = box_average(data, ratio)
            diff = (np.asarray(field, dtype=np.float64) - mean)[fluid]
            norm = max(float(np.sqrt(np.mean(mean[fluid] ** 2))), 1e-12)
            error = float(np.sqrt(np.mean(diff**2)) / norm)
            rows.append(ResolutionRow(factor, shape, error, f"{data.label}, box-averaged"))
            continue
        fine = [r for r in references if r.shape[0] >= shape[0] and r.shape[1] >= shape[1]]
        if not fine:
            rows.append(ResolutionRow(factor, shape, None, "no truth this fine"))
            continue
        ref = max(fine, key=lambda r: r.shape[0] * r.shape[1])
        rows.append(ResolutionRow(factor, shape, rel_l2_at(field, ref, data_x, data_y), ref.label))
    return rows


def upsampled_truth_error(coarse: Reference, fine: Reference, data_x, data_y, shape) -> float:
    """Error of the coarse truth, bilinearly interpolated to ``shape``, against the fine one:
    what plain interpolation of the data achieves on that grid."""
    x_out, y_out = grid_points(data_x, data_y, shape)
    up = interpolate(coarse.field, coarse.x, coarse.y, x_out, y_out)
    return rel_l2_at(up, fine, data_x, data_y)
