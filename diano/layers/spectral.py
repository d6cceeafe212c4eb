"""Spectral convolution of the Fourier neural operator (Li et al., ICLR 2021), 1D/2D/3D.

``SpectralConv`` multiplies the lowest Fourier modes of its input by learned complex
matrices and transforms back on any requested grid. Three choices make it a proper
resolution-independent operator, unlike the authors' DIANO code (``reference/method.md``
§1.2, §9):

* the low modes ``|k| < m`` are kept in *all* corners: both signs of frequency on every
  axis except the last (``rfftn`` stores only non-negative frequencies there), also in 3D;
* both transforms use ``norm="forward"``: the forward FFT divides by the number of points,
  so a coefficient is the amplitude of its Fourier mode whatever the grid, and the inverse
  at another size reproduces the same amplitudes (resolution consistency);
* grids are cell-centred (point ``i`` of ``n`` on length ``L`` at ``(i + 1/2) L / n``), as for
  the box averages, the ``align_corners=False`` interpolation and the coordinate channels
  of :mod:`diano.layers`; an output on another grid gets the phase shift
  ``exp(iπk(1/n_out - 1/n_in))`` per mode, so both grids describe the same positions;
* the complex weights are stored as real pairs (a float parameter with a trailing axis of
  2), so the module follows ``.double()``/``.half()``, works under ``torch.compile`` and
  saves to safetensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def usable_modes(n_modes: Sequence[int], *shapes: Sequence[int]) -> tuple[int, ...]:
    """Modes per axis that every grid in ``shapes`` holds without aliasing.

    ``m`` modes on an axis means the frequencies ``|k| <= m - 1`` (``k >= 0`` on the last axis,
    where ``rfft`` keeps only those). On ``n`` points the distinct non-Nyquist frequencies are
    ``|k| <= (n - 1) // 2``, so ``m <= (n + 1) // 2``. The Nyquist frequency is left out
    because it is ambiguous between grids of different size; the mean (``k = 0``) is always
    kept.
    """
    out = []
    for axis, m in enumerate(n_modes):
        limit = min((s[axis] + 1) // 2 for s in shapes)
        out.append(max(1, min(int(m), limit)))
    return tuple(out)


def _take_low(t: Tensor, modes: Sequence[int], first_axis: int) -> Tensor:
    """Gather the kept modes of every corner into one dense block.

    Along each non-last axis the block holds ``k = 0..m-1`` then ``k = -(m-1)..-1``; along
    the last axis ``k = 0..m-1``. Works for spectra and for the stored weights alike, since
    both put negative frequencies at the end of their axis.
    """
    for i, m in enumerate(modes):
        axis = first_axis + i
        if i < len(modes) - 1:
            size = t.shape[axis]
            t = torch.cat([t.narrow(axis, 0, m), t.narrow(axis, size - m + 1, m - 1)], dim=axis)
        else:
            t = t.narrow(axis, 0, m)
    return t


def _place_low(block: Tensor, modes: Sequence[int], spectrum_shape: Sequence[int]) -> Tensor:
    """Inverse of :func:`_take_low`: scatter the block into a zero spectrum.

    ``block`` is ``(B, C, 2m_1 - 1, ..., 2m_{d-1} - 1, m_d)``; the result is
    ``(B, C, *spectrum_shape)`` with the positive modes at the start and the negative modes
    at the end of each axis.
    """
    for i, m in enumerate(modes):
        axis = 2 + i
        size = spectrum_shape[i]
        pad_shape = list(block.shape)
        if i < len(modes) - 1:
            pad_shape[axis] = size - 2 * m + 1
            zeros = block.new_zeros(pad_shape)
            pos, neg = block.narrow(axis, 0, m), block.narrow(axis, m, m - 1)
            block = torch.cat([pos, zeros, neg], dim=axis)
        else:
            pad_shape[axis] = size - m
            block = torch.cat([block, block.new_zeros(pad_shape)], dim=axis)
    return block


def _cell_centre_phase(
    modes: Sequence[int], in_shape: Sequence[int], out_shape: Sequence[int], like: Tensor
) -> Tensor | None:
    """Phase that moves the kept modes from the input's to the output's cell centres.

    With samples at ``x_i = (i + 1/2) h_in`` the DFT coefficient of a mode ``k`` is its
    amplitude times ``exp(iπk/n_in)``; evaluating at ``(j + 1/2) h_out`` needs
    ``exp(iπk/n_out)`` instead. Returns a complex ``(2m_1 - 1, ..., m_d)`` block, or ``None``
    when the grids are equal.
    """
    if tuple(in_shape) == tuple(out_shape):
        return None
    real = like.real.dtype
    phase = torch.zeros((), dtype=real, device=like.device)
    for i, m in enumerate(modes):
        k = torch.arange(m, dtype=real, device=like.device)
        if i < len(modes) - 1:
            k = torch.cat([k, k[1:] - m])  # k = 0..m-1, -(m-1)..-1
        angle = torch.pi * k * (1.0 / out_shape[i] - 1.0 / in_shape[i])
        # broadcast this axis' angles against the axes before it
        phase = phase.unsqueeze(-1) + angle
    return torch.polar(torch.ones_like(phase), phase)


class SpectralConv(nn.Module):
    """Fourier-space linear operator on ``(B, C_in, *S)`` fields, ``S`` of 1 to 3 axes.

    ``y = irfftn(W · rfftn(x)[low modes], s=output_shape)``: the modes ``|k| < n_modes`` of
    every axis (both signs on non-last axes) are multiplied by a complex ``C_in × C_out`` matrix per
    mode; all higher modes are dropped. The output can live on another grid than the input;
    the modes used are those both grids hold (:func:`usable_modes`).

    Args:
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        n_modes: modes kept per spatial axis, e.g. ``(16, 16)``; its length sets the
            dimension (1, 2 or 3).

    Shapes:
        ``x (B, C_in, *S_in) -> (B, C_out, *S_out)``, ``S_out = output_shape or S_in``.
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: Sequence[int]) -> None:
        super().__init__()
        n_modes = tuple(int(m) for m in n_modes)
        if not 1 <= len(n_modes) <= 3 or min(n_modes) < 1:
            raise ValueError(f"n_modes must give 1 to 3 positive mode counts, got {n_modes}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_modes = n_modes
        self.dim = len(n_modes)
        block = tuple(2 * m - 1 for m in n_modes[:-1]) + (n_modes[-1],)
        # (C_in, C_out, *block, 2): real and imaginary parts of the complex weights
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, *block, 2))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Kaiming-style: each complex weight has variance ``1 / C_in``, so a field whose
        energy lies in the kept modes keeps its variance."""
        self.weight.normal_(0.0, 1.0 / math.sqrt(2 * self.in_channels))

    def forward(self, x: Tensor, output_shape: Sequence[int] | None = None) -> Tensor:
        in_shape = tuple(x.shape[-self.dim :])
        out_shape = in_shape if output_shape is None else tuple(int(n) for n in output_shape)
        if len(out_shape) != self.dim:
            raise ValueError(f"output_shape {out_shape} must have {self.dim} axes")
        axes = tuple(range(-self.dim, 0))
        modes = usable_modes(self.n_modes, in_shape, out_shape)
        # (B, C_in, *S_in[:-1], S_in[-1] // 2 + 1), amplitudes independent of the grid size
        x_hat = torch.fft.rfftn(x, dim=axes, norm="forward")
        x_low = _take_low(x_hat, modes, first_axis=2)
        weight = _take_low(self.weight, modes, first_axis=2)
        # weight (C_in, C_out, *block, 2) -> complex (C_in, C_out, *block)
        weight = torch.view_as_complex(weight.contiguous())
        # per mode: (B, C_in) @ (C_in, C_out) -> (B, C_out)
        y_low = torch.einsum("bi...,io...->bo...", x_low, weight)
        phase = _cell_centre_phase(modes, in_shape, out_shape, y_low)
        if phase is not None:
            y_low = y_low * phase
        spectrum_shape = (*out_shape[:-1], out_shape[-1] // 2 + 1)
        y_hat = _place_low(y_low, modes, spectrum_shape)
        return torch.fft.irfftn(y_hat, s=out_shape, dim=axes, norm="forward")

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}"
