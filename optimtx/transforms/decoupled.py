"""Decoupled-weight-decay forms of existing rules that optax names separately (``adamaxw``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from optimtx.core.base import GradientTransformation, chain
from optimtx.core.validation import check_betas, check_non_negative
from optimtx.schedules import Schedule
from optimtx.transforms.adam import scale_by_adamax
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights

__all__ = ["adamaxw"]

Hyper = float | Tensor


def adamaxw(
    lr: float | Tensor | Schedule = 1e-3,
    betas: Sequence[Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 1e-4,
    mask: Any | None = None,
) -> GradientTransformation:
    """Adamax with decoupled weight decay: [`scale_by_adamax`][optimtx.scale_by_adamax], decay, then ``-lr``.

    The decay is added after the Adamax scaling and multiplied by ``lr`` with it, as AdamW does
    for Adam (``torch.optim.Adamax``'s ``weight_decay`` is the coupled L2 form instead).

    Args:
        lr: learning rate (number, 0-d tensor or schedule).
        betas: decays of the first moment and of the infinity norm, each in [0, 1).
        eps: added to ``|g|`` inside the running maximum, as torch and optax do.
        weight_decay: decoupled decay coefficient (>= 0).
        mask: which parameters decay (dict name -> bool or callable of the params).

    References:
        Loshchilov & Hutter, 2019, *Decoupled Weight Decay Regularization*; optax: ``optax.adamaxw``.

    Example:
        >>> tx = adamaxw(0.1, weight_decay=0.5)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]  # -(1 + 0.5 * 1) * 0.1
        {'w': tensor([-0.1500])}
    """
    b1, b2 = check_betas(betas)
    check_non_negative("weight_decay", weight_decay)
    decay = [add_decayed_weights(weight_decay, mask)] if is_present(weight_decay) else []
    return chain(scale_by_adamax(b1, b2, eps), *decay, scale_by_learning_rate(lr))
