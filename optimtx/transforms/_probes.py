"""Counter-based Gaussian probes: the same numbers on every device, from ``(seed, step, leaf, index)``.

PSGD draws a random probe vector each step. A global or per-device generator would make a pure ``update``
depend on hidden state (two calls with the same inputs would differ) and would not survive
``torch.compile(fullgraph=True)``; a ``torch.Generator`` cannot live in a state of tensors either. So the
probes are a pure function of the seed, the step counter (a tensor in the state), a per-leaf salt (a hash of
its name) and the element index: a 32-bit integer hash (Chris Wellons' ``lowbias32``) computed in int64
without overflow, turned into pairs of uniforms and then into two normals each by Box-Muller in float64.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

_MASK = 0xFFFFFFFF


def _mul32(x: Any, m: int) -> Any:
    """``(x * m) mod 2**32`` for 32-bit ``x`` and ``m``, in int64 without ever overflowing it."""
    lo, hi = m & 0xFFFF, m >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _MASK


def hash32(x: Any) -> Any:
    """A 32-bit avalanche hash of the low 32 bits of each int64 entry (``lowbias32``); also of a Python int.

    Example:
        >>> hash32(torch.tensor([0, 1, 2]))
        tensor([         0, 1753845952, 3507691905])
    """
    x = x & _MASK
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def name_salt(name: str) -> int:
    """A stable per-leaf number from its name (32-bit FNV-1a over its characters), whatever its place in the tree.

    Plain integer arithmetic, so ``torch.compile`` folds it to a constant.

    Example:
        >>> name_salt("w")
        4060888886
    """
    h = 0x811C9DC5
    for ch in name:
        h = ((h ^ ord(ch)) * 0x01000193) & _MASK
    return h


def gaussian_probe(shape: torch.Size, seed: int, step: Tensor, salt: int, dtype: torch.dtype) -> Tensor:
    """Standard normal numbers of ``shape`` determined by ``(seed, step, salt)``, on ``step``'s device.

    Example:
        >>> a = gaussian_probe(torch.Size([2]), 0, torch.tensor(1), name_salt("w"), torch.float64)
        >>> torch.equal(a, gaussian_probe(torch.Size([2]), 0, torch.tensor(1), name_salt("w"), torch.float64))
        True
    """
    # The per-leaf constant is hashed in Python: no tensor is made from a host value on each step.
    base = hash32(hash32(step.to(torch.int64) + hash32(seed ^ salt)))
    other = hash32(base ^ 0x9E3779B9)  # a second, independent stream for the angles
    n = math.prod(shape)
    pairs = torch.arange((n + 1) // 2, device=step.device, dtype=torch.int64)
    u1 = (hash32(base ^ pairs).to(torch.float64) + 0.5) / 2.0**32  # in (0, 1): the log is finite
    u2 = (hash32(other ^ pairs).to(torch.float64) + 0.5) / 2.0**32
    radius, angle = torch.sqrt(-2.0 * torch.log(u1)), 2.0 * math.pi * u2
    z = torch.cat([radius * torch.cos(angle), radius * torch.sin(angle)])[:n]  # both Box-Muller normals
    return z.reshape(shape).to(dtype)
