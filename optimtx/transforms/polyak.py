"""Polyak step sizes: the step that would reach ``f_min`` on the linearised loss (needs the loss value)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, chain, checked_empty_init
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, rebuild
from optimtx.core.validation import check_choice, check_finite, check_non_negative, check_positive
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms._moment_rules import Hyper
from optimtx.transforms.kernels import mul
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["loss_value", "polyak_sgd", "scale_by_polyak"]

# optax compares against the machine epsilon of float64 (``jnp.finfo(float).eps``) whatever the dtype.
_TINY = torch.finfo(torch.float64).eps


def loss_value(extra: dict[str, Any], who: str) -> Tensor:
    """The loss passed to ``update`` as ``value=`` (a 0-d tensor); a clear error names ``who`` when it is missing.

    Example:
        >>> loss_value({"value": torch.tensor(2.0)}, "scale_by_polyak")
        tensor(2.)
    """
    if "value" not in extra:
        raise TypeError(f"{who} needs the loss: call update(updates, state, params, value=loss) with a 0-d tensor.")
    value = extra["value"]
    if not isinstance(value, Tensor) or value.ndim != 0:
        raise TypeError(f"{who}'s value must be the loss as a 0-d tensor, got {value!r}.")
    return value


def scale_by_polyak(
    f_min: Hyper = 0.0, max_learning_rate: Hyper = 1.0, eps: Hyper = 0.0, variant: str = "sps"
) -> GradientTransformation:
    """Scale updates by the Polyak step ``min((value - f_min) / (||u||**2 + eps), max_learning_rate)``.

    The step is 0 where ``||u||**2 + eps`` is at most float64's machine epsilon. ``variant='sps+'``
    clips a negative gap ``value - f_min`` to 0. ``update`` needs the loss as ``value=`` (a 0-d tensor).

    Args:
        f_min: a lower bound of the loss (0 for non-negative losses).
        max_learning_rate: the largest step.
        eps: added to the squared norm.
        variant: ``'sps'`` or ``'sps+'``.

    References:
        Loizou et al., 2021, *Stochastic Polyak Step-size for SGD* (AISTATS); optax: ``optax.scale_by_polyak``.

    Example:
        >>> tx = scale_by_polyak()
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({}), value=torch.tensor(1.0))[0]  # 1 / 4 * g
        {'w': tensor([0.5000])}
    """
    check_finite("f_min", f_min)
    check_positive("max_learning_rate", max_learning_rate, allow_inf=True)
    check_non_negative("eps", eps)
    check_choice("variant", variant, ("sps", "sps+"))

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, "scale_by_polyak")
        value = loss_value(extra, "scale_by_polyak")
        us = matched_to_params(updates, params)
        if not us:
            return {}, state
        norms = torch._foreach_norm(us)
        squared = torch.stack([n.to(torch.promote_types(n.dtype, value.dtype)) for n in norms]).square().sum() + eps
        gap = value.to(squared.dtype) - f_min
        if variant == "sps+":
            gap = gap.clamp(min=0)
        step = torch.where(
            squared <= _TINY, torch.zeros_like(squared), torch.clamp(gap / squared, max=max_learning_rate)
        )
        return rebuild(updates, mul(us, step)), state

    return GradientTransformation(checked_empty_init, update)


def polyak_sgd(
    max_lr: Hyper = 1.0, scaling: Any = 1.0, f_min: Hyper = 0.0, eps: Hyper = 0.0, variant: str = "sps"
) -> GradientTransformation:
    """SGD with Polyak step sizes: ``-scaling * g`` rescaled by
    [`scale_by_polyak`][optimtx.scale_by_polyak].

    ``update`` needs the loss as ``value=``.

    Example:
        >>> tx = polyak_sgd()
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({}), value=torch.tensor(1.0))[0]
        {'w': tensor([-0.5000])}
    """
    check_non_negative("scaling", scaling, schedule=True)  # named as written, not as the inner lr
    check_positive("max_lr", max_lr, allow_inf=True)  # inf: no cap, as for max_learning_rate
    return chain(scale_by_learning_rate(scaling), scale_by_polyak(f_min, max_lr, eps, variant))
