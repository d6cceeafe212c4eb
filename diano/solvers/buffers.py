"""Operator matrices kept exact across dtype changes: a base module for the solvers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class OperatorModule(nn.Module):
    """An ``nn.Module`` whose fixed operator matrices have exact float64 masters.

    Each operator is a non-persistent buffer in the working dtype (it is derived from the
    configuration, so it stays out of ``state_dict``), next to its float64 master on the CPU.
    ``.to()``, ``.float()`` and ``.double()`` rebuild the buffers from the masters, so a
    float32 module turned float64 regains full precision. A call with a tensor of another
    dtype or device uses a cached cast of the master instead of failing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._masters: dict[str, Tensor] = {}
        self._cast_cache: dict[tuple[str, torch.dtype, torch.device], Tensor] = {}

    def _register_operator(
        self, name: str, master: Tensor, dtype: torch.dtype, device: torch.device | str | None
    ) -> None:
        master = master.detach().to("cpu", torch.float64)
        self._masters[name] = master
        self.register_buffer(name, master.to(dtype=dtype, device=device), persistent=False)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> nn.Module:
        out = super()._apply(fn, recurse)
        for name, master in self._masters.items():
            cur = self._buffers[name]
            self._buffers[name] = master.to(dtype=cur.dtype, device=cur.device)
        self._cast_cache.clear()
        return out

    def _op(self, name: str, like: Tensor) -> Tensor:
        """Return operator ``name`` in the dtype and on the device of ``like``."""
        buf = self._buffers[name]
        if buf.dtype == like.dtype and buf.device == like.device:
            return buf
        key = (name, like.dtype, like.device)
        if key not in self._cast_cache:
            self._cast_cache[key] = self._masters[name].to(dtype=like.dtype, device=like.device)
        return self._cast_cache[key]
