"""Exact symmetry augmentation of the coronary vessels' cross-section.

The coronary3d samples are steady flows in a cubic box whose inlet is centred in the (y, z)
cross-section and whose lattice is cubic, so the eight symmetries of that square (flip y, flip
z, swap y and z, and their products) map one solution of the Navier–Stokes equations onto the
solution for the mirrored or transposed vessel. Applied to (u, v, w) → p pairs they give the
many-to-one models eight exact samples per geometry: a flip negates the velocity component
across the mirror plane, a swap exchanges v and w, and scalars (p, the mask) only move.

Tensor layout: channels first, then the spatial axes in the data's order ``(z, y, x)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

#: channel index of each velocity component in the (u, v, w) inputs
VELOCITY = {"u": 0, "v": 1, "w": 2}
#: the eight elements of the square's symmetry group: (flip y, flip z, swap y and z)
ELEMENTS: tuple[tuple[bool, bool, bool], ...] = tuple(
    (fy, fz, sw) for sw in (False, True) for fz in (False, True) for fy in (False, True)
)


def apply_element(
    tensor: Tensor, element: tuple[bool, bool, bool], velocity: bool = False
) -> Tensor:
    """Apply one symmetry to a ``(C, z, y, x)`` tensor.

    Args:
        tensor: fields with the channel axis first (also a ``(1, z, y, x)`` mask).
        element: ``(flip_y, flip_z, swap)``; the flips act first, then the swap.
        velocity: the channels are (u, v, w): flipped components change sign and the swap
            exchanges v and w.
    """
    flip_y, flip_z, swap = element
    out = tensor
    dims = [d for d, on in ((-2, flip_y), (-3, flip_z)) if on]
    if dims:
        out = out.flip(dims)
    if velocity:
        sign = torch.ones(out.shape[0], dtype=out.dtype, device=out.device)
        if flip_y:
            sign[VELOCITY["v"]] = -1
        if flip_z:
            sign[VELOCITY["w"]] = -1
        out = out * sign.view(-1, *([1] * (out.ndim - 1)))
    if swap:
        out = out.transpose(-3, -2)
        if velocity:
            order = [VELOCITY["u"], VELOCITY["w"], VELOCITY["v"], *range(3, out.shape[0])]
            out = out[order]
    return out.contiguous()


class CrossSectionSymmetry(Dataset):
    """A many-to-one dataset of (u, v, w) → scalar pairs, each item drawn with a random
    element of the cross-section's symmetry group (the identity included).

    Args:
        dataset: items with ``inputs`` (u, v, w), ``target`` (scalars) and ``mask``.
        seed: seed of the element choice (item ``i`` of epoch-free sampling gets a fresh draw).
    """

    def __init__(self, dataset: Dataset, seed: int = 0) -> None:
        self.dataset = dataset
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = dict(self.dataset[i])
        pick = int(torch.randint(len(ELEMENTS), (1,), generator=self._generator))
        element = ELEMENTS[pick]
        item["inputs"] = apply_element(torch.as_tensor(item["inputs"]), element, velocity=True)
        item["target"] = apply_element(torch.as_tensor(item["target"]), element)
        item["mask"] = apply_element(torch.as_tensor(item["mask"]), element)
        return item
