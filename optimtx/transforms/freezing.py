"""Freezing parameters: ``set_to_zero``, ``freeze`` (a mask) and ``selective_transform`` (train the rest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, checked_empty_init
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, rebuild, resolve_per_name
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms.masking import masked, multi_transform

__all__ = ["FreezeMask", "as_mask", "freeze", "selective_transform", "set_to_zero"]

FreezeMask = bool | Mapping[str, bool] | Callable[[Params], Mapping[str, bool]]


def set_to_zero() -> GradientTransformation:
    """Replace every update by zeros (the parameters stay where they are).

    References:
        optax: ``optax.set_to_zero``.

    Example:
        >>> tx = set_to_zero()
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([0., 0.])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del extra
        check_state(state, EmptyState, "set_to_zero")
        return rebuild(updates, [torch.zeros_like(u) for u in matched_to_params(updates, params)]), state

    return GradientTransformation(checked_empty_init, update)


def as_mask(mask: FreezeMask, what: str = "mask") -> Mapping[str, bool] | Callable[[Params], Mapping[str, bool]]:
    """A mask for [`masked`][optimtx.masked]: a single bool (optax's tree prefix) stands for every parameter.

    Example:
        >>> as_mask(True)({"w": torch.ones(1), "b": torch.ones(1)})
        {'w': True, 'b': True}
    """
    if isinstance(mask, bool):
        return lambda tree: dict.fromkeys(tree, mask)
    if not (callable(mask) or isinstance(mask, Mapping)):
        raise TypeError(
            f"{what} must be a bool, a dict parameter name -> bool, or a callable params -> such a dict, got {mask!r}."
        )
    return mask


def freeze(mask: FreezeMask) -> GradientTransformation:
    """Zero the updates of the parameters where ``mask`` is True; pass the others through.

    ``masked(set_to_zero(), mask)``. Chain it after the optimizer, or use
    [`selective_transform`][optimtx.transforms.freezing.selective_transform] so the optimizer keeps no state for frozen
    parameters.

    Args:
        mask: True for the parameters to freeze: a bool for all, a dict name -> bool, or a callable params -> dict.

    References:
        optax: ``optax.freeze``.

    Example:
        >>> tx = freeze({"w": True, "b": False})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([0.]), 'b': tensor([1.])}
    """
    return masked(set_to_zero(), as_mask(mask))


def selective_transform(optimizer: GradientTransformation, *, freeze_mask: FreezeMask) -> GradientTransformation:
    """Run ``optimizer`` on the parameters where ``freeze_mask`` is False; zero the updates of the others.

    The optimizer's state covers the trained parameters only:
    ``multi_transform({"train": optimizer, "freeze": set_to_zero()}, labels)``.

    References:
        optax: ``optax.selective_transform``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = selective_transform(scale(-1.0), freeze_mask={"w": True, "b": False})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([0.]), 'b': tensor([-1.])}
    """
    mask = as_mask(freeze_mask, "freeze_mask")

    def labels(params: Params) -> dict[str, str]:
        flags = resolve_per_name(mask, params, "freeze_mask")
        return {k: "freeze" if flags[k] else "train" for k in params}

    return multi_transform({"train": optimizer, "freeze": set_to_zero()}, labels)
