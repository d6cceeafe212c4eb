"""Neural-operator layers shared by every model (no copies per model).

- ``spectral``: :class:`SpectralConv` (1D/2D/3D, any output grid, all-corner modes,
  real-pair weights), :func:`usable_modes`.
- ``blocks``: :class:`FourierBlock`, :class:`ChannelMLP`, :func:`pointwise`,
  :func:`grid_coordinates`.
- ``sampling``: :class:`Downsample` (averaging, or decimation as in the authors' code),
  :class:`Upsample` (transposed convolution, one per stage), :func:`resample`.
- ``fno``: :class:`FNOEncoder`, :class:`FNODecoder`, :class:`LineToPlane`,
  :func:`plan_stages`, :func:`average_over_height`.
- ``init``: Kaiming-style initialisation.
"""

from diano.layers.blocks import ChannelMLP, FourierBlock, grid_coordinates, pointwise
from diano.layers.fno import (
    FNODecoder,
    FNOEncoder,
    LineToPlane,
    average_over_height,
    decoder_stages,
    plan_stages,
)
from diano.layers.sampling import Downsample, Upsample, resample
from diano.layers.spectral import SpectralConv, usable_modes

__all__ = [
    "ChannelMLP",
    "Downsample",
    "FNODecoder",
    "FNOEncoder",
    "FourierBlock",
    "LineToPlane",
    "SpectralConv",
    "Upsample",
    "average_over_height",
    "decoder_stages",
    "grid_coordinates",
    "plan_stages",
    "pointwise",
    "resample",
    "usable_modes",
]
