"""Slow copies of the parameters: ``incremental_update`` (Polyak averaging) and ``periodic_update`` (target networks).

Functions of parameter trees, used next to a chain (e.g. to keep a target network), not inside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from optimtx.core.tree import Tree, leaves, matched_leaves, rebuild

__all__ = ["incremental_update", "periodic_update"]


def incremental_update(
    new_tensors: Mapping[str, Tensor], old_tensors: Mapping[str, Tensor], step_size: float | Tensor
) -> Tree:
    """``step_size * new + (1 - step_size) * old`` for each tensor (an exponential moving average step).

    References:
        Polyak & Juditsky, 1992, *Acceleration of Stochastic Approximation by Averaging*.
        optax: ``optax.incremental_update``.

    Example:
        >>> incremental_update({"w": torch.ones(1)}, {"w": torch.zeros(1)}, 0.25)
        {'w': tensor([0.2500])}
    """
    news = matched_leaves(new_tensors, old_tensors)
    olds = leaves(old_tensors)
    return rebuild(old_tensors, [torch.lerp(o, n, step_size) for n, o in zip(news, olds, strict=True)])


def periodic_update(
    new_tensors: Mapping[str, Tensor],
    old_tensors: Mapping[str, Tensor],
    steps: int | Tensor,
    update_period: int | Tensor,
) -> Tree:
    """``new_tensors`` when ``steps`` is a multiple of ``update_period``, else ``old_tensors``.

    A tensor ``steps`` is compared on its device (``torch.where``), with no host read.

    References:
        Mnih et al., 2015, *Human-level control through deep reinforcement learning*.
        optax: ``optax.periodic_update``.

    Example:
        >>> periodic_update({"w": torch.ones(1)}, {"w": torch.zeros(1)}, steps=4, update_period=2)
        {'w': tensor([1.])}
    """
    news = matched_leaves(new_tensors, old_tensors)
    due = torch.as_tensor(steps) % update_period == 0
    return rebuild(
        old_tensors, [torch.where(due.to(o.device), n, o) for n, o in zip(news, leaves(old_tensors), strict=True)]
    )
