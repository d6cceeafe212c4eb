"""Kaiming-style initialisation shared by every layer in :mod:`diano.layers`.

PyTorch's default convolution initialisation (``kaiming_uniform_(a=sqrt(5))``, std
``1/sqrt(3·fan_in)``) shrinks the signal by about ``sqrt(3)`` per layer; stacked with the
authors' ``(1/(w_in+w_out))·U[0,1)`` spectral weights it collapsed the FNO to a zero
output on this project's data (``reference/method.md`` §11). Every weight here is drawn
instead with std ``gain/sqrt(fan_in)``, so a unit-variance input keeps an O(1) variance
through the network, and every bias starts at zero.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: gain that keeps the second moment of N(0, 1) through a GELU (E[gelu(x)^2] ≈ 0.425)
GELU_GAIN = math.sqrt(1.0 / 0.425)


@torch.no_grad()
def kaiming_(weight: torch.Tensor, fan_in: int, gain: float = 1.0) -> torch.Tensor:
    """Fill ``weight`` in place from N(0, (gain / sqrt(fan_in))^2)."""
    return weight.normal_(0.0, gain / math.sqrt(max(fan_in, 1)))


@torch.no_grad()
def init_conv_(conv: nn.Module, gain: float = 1.0) -> None:
    """Kaiming-initialise a ``Conv{1,2,3}d`` or ``ConvTranspose{1,2,3}d`` and zero its bias.

    For a transposed convolution with kernel = stride (the up-sampling blocks) every
    output value sees exactly one input location, so ``fan_in`` is the input channel count.
    """
    weight = conv.weight
    if isinstance(conv, nn.modules.conv._ConvTransposeNd):
        # weight (C_in, C_out / groups, *kernel); each output sums C_in inputs per tap
        stride = math.prod(conv.stride)
        fan_in = weight.shape[0] * max(1, math.prod(weight.shape[2:]) // stride)
    else:
        # weight (C_out, C_in / groups, *kernel)
        fan_in = weight.shape[1] * math.prod(weight.shape[2:])
    kaiming_(weight, fan_in, gain)
    if conv.bias is not None:
        conv.bias.zero_()
