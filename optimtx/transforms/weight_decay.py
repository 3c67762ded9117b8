"""Weight decay as a transform: add ``weight_decay * params`` to the updates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, resolve_per_name
from optimtx.core.validation import check_mask, check_non_negative
from optimtx.transforms.kernels import add_scaled

__all__ = ["Mask", "add_decayed_weights", "require_params", "resolve_mask"]

Mask = Mapping[str, bool] | Callable[[Params], Mapping[str, bool]]


def require_params(params: Params | None, who: str) -> Params:
    """Return ``params``, or raise ``ValueError`` saying that ``who`` needs them.

    Example:
        >>> require_params(None, "add_decayed_weights")
        Traceback (most recent call last):
        ...
        ValueError: add_decayed_weights needs the current parameters: call update(updates, state, params).
    """
    if params is None:
        raise ValueError(f"{who} needs the current parameters: call update(updates, state, params).")
    return params


def resolve_mask(mask: Mask, params: Params) -> list[bool]:
    """The mask as one Python bool per parameter, in the order of ``params``.

    ``mask`` is a dict keyed by parameter name, or a callable building that dict from
    ``params``. Every parameter must be in it, with a ``bool`` value.

    Example:
        >>> resolve_mask(lambda p: {k: v.ndim > 1 for k, v in p.items()}, {"w": torch.ones(2, 2), "b": torch.ones(2)})
        [True, False]
    """
    flags = list(resolve_per_name(mask, params, "mask").values())
    bad = {k: v for k, v in zip(params, flags, strict=True) if not isinstance(v, bool)}
    if bad:
        raise TypeError(f"mask values must be Python bools, got {bad!r}.")
    return flags


def add_decayed_weights(weight_decay: float | Tensor, mask: Mask | None = None) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (L2 regularisation as a gradient term).

    Equals ``grad + weight_decay * param``, the first thing ``torch.optim.SGD`` and
    ``torch.optim.Adam`` do with ``weight_decay``; placed after the adaptive scaling and
    before the learning rate it gives AdamW's decoupled decay. ``update`` needs ``params``.

    Args:
        weight_decay: the decay coefficient (>= 0), a number or a 0-d tensor.
        mask: which parameters decay: a dict name -> bool, or a callable building that
            dict from the params. Where the mask is ``False`` the update passes unchanged.

    References:
        torch: the ``weight_decay`` of ``torch.optim.SGD``/``Adam``; optax: ``optax.add_decayed_weights``.

    Example:
        >>> tx = add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> params = {"w": torch.ones(2), "b": torch.ones(1)}
        >>> tx.update({"w": torch.zeros(2), "b": torch.zeros(1)}, tx.init(params), params)[0]
        {'w': tensor([0.1000, 0.1000]), 'b': tensor([0.])}
    """
    check_non_negative("weight_decay", weight_decay)
    check_mask("mask", mask)

    def init(params: Params) -> EmptyState:
        check_params(params)  # update() decays them, so refuse what cannot be a parameter now
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del extra
        check_state(state, EmptyState, "add_decayed_weights")
        params = require_params(params, "add_decayed_weights")
        us, ps = matched_leaves(updates, params), leaves(params)
        flags = [True] * len(us) if mask is None else resolve_mask(mask, params)
        chosen = [i for i, f in enumerate(flags) if f]
        out = list(us)
        if chosen:
            decayed = add_scaled([us[i] for i in chosen], [ps[i] for i in chosen], weight_decay)
            if isinstance(weight_decay, Tensor):  # may be 0: then 0 * an inf parameter must not make a nan
                off = weight_decay == 0
                decayed = [torch.where(off, us[i], d) for i, d in zip(chosen, decayed, strict=True)]
            for i, d in zip(chosen, decayed, strict=True):
                out[i] = d
        return rebuild(updates, out), state

    return GradientTransformation(init, update)
