"""Fixed sample trees for [`check_transform`][optimtx.testing.check_transform] (no hypothesis needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

__all__ = ["sample_gradients", "sample_params"]


def sample_params(seed: int = 0, complex: bool = False) -> dict[str, Tensor]:
    """A small mixed tree of the layouts and dtypes that break careless rules.

    A transposed (non-contiguous) float32 matrix, a vector, a 0-d scalar, a strided bfloat16 view
    and a float16 0-d scalar.

    Args:
        seed: the generator's seed.
        complex: add a ``complex64`` vector (for rules that promise complex support, as torch's do).

    Example:
        >>> {k: (tuple(v.shape), v.dtype, v.is_contiguous()) for k, v in sample_params().items()}["w"]
        ((3, 2), torch.float32, False)
    """
    gen = torch.Generator().manual_seed(seed)
    params = {
        "w": torch.randn(2, 3, generator=gen).t(),
        "b": torch.randn(4, generator=gen),
        "s": torch.randn((), generator=gen),
        "h": torch.randn(6, generator=gen).to(torch.bfloat16)[::2],
        "f": torch.randn((), generator=gen).to(torch.float16),
    }
    if complex:
        params["c"] = torch.randn(3, generator=gen, dtype=torch.complex64)
    return params


def sample_gradients(
    params: Mapping[str, Tensor], steps: int, nonfinite: bool = True, seed: int = 1
) -> list[dict[str, Tensor]]:
    """``steps`` gradient trees shaped like ``params``; with ``nonfinite``, step 2 holds inf, -inf and NaN.

    Example:
        >>> grads = sample_gradients({"w": torch.zeros(3)}, steps=2)
        >>> grads[1]["w"]
        tensor([inf, -inf, nan])
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}.")
    gen = torch.Generator().manual_seed(seed)
    runs = [
        {k: torch.randn(p.shape, generator=gen, dtype=_real(p.dtype)).to(p.dtype) for k, p in params.items()}
        for _ in range(steps)
    ]
    if nonfinite and steps > 1:
        for g in runs[1].values():
            flat = g.view(-1)
            flat[: min(3, flat.numel())] = torch.tensor([math.inf, -math.inf, math.nan])[: flat.numel()].to(g.dtype)
    return runs


def _real(dtype: torch.dtype) -> torch.dtype:
    return dtype if dtype.is_complex else torch.float64
