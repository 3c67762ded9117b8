"""Stateless rescaling of updates."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.base import EmptyState, GradientTransformation, Params, Updates
from optimtx.tree import leaves, rebuild


def scale(factor: float | Tensor) -> GradientTransformation:
    """Multiply every update by ``factor``.

    Example:
        >>> tx = scale(-0.1)
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([-0.1000, -0.1000])}
    """
    if not isinstance(factor, (int, float, Tensor)) or isinstance(factor, bool):
        raise TypeError(f"scale factor must be a number or a 0-d tensor, got {factor!r}.")

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any):
        del params, extra
        us = leaves(updates)
        return (rebuild(updates, torch._foreach_mul(us, factor)) if us else {}), state

    return GradientTransformation(init, update)
