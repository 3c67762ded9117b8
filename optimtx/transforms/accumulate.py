"""Gradient accumulation as a transform: ``inner`` sees the mean of every ``every_k`` gradients.

With ``average="items"`` each call passes the number of items (tokens, samples...) its
gradient was summed over, and ``inner`` sees the window's sum divided by the window's
total item count: the gradient of the mean loss over the whole large batch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, select, zero_counter
from optimtx.core.tree import Tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_positive_int, check_state_dtype
from optimtx.transforms.finite import guarded_update
from optimtx.transforms.kernels import to_dtypes_of

__all__ = ["AccumulateState", "accumulate", "check_num_items"]


class AccumulateState(NamedTuple):
    """State of [`accumulate`][optimtx.accumulate].

    Attributes:
        mini_step: calls so far in the current window, 0..every_k-1 (int64 0-d).
        gradient_step: windows completed, i.e. updates applied by ``inner`` (int64 0-d).
        acc_grads: the sum of the window's gradients so far (dict of tensors like params).
        inner_state: the wrapped transform's state (changes only on the k-th call).
        acc_items: the window's item count so far (float32 0-d; stays 0 unless ``average="items"``).
    """

    mini_step: Tensor
    gradient_step: Tensor
    acc_grads: Tree
    inner_state: State
    acc_items: Tensor | None = None


def accumulate(
    inner: GradientTransformation,
    every_k: int,
    average: bool | str = True,
    *,
    accumulator_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Accumulate ``every_k`` gradients, then apply ``inner`` once to their mean (or sum).

    Calls 1..k-1 of each window return zero updates and leave ``inner``'s state as it
    was; call k returns ``inner``'s updates for the window's mean (``average=True``) or
    sum. The choice is made on the device with ``torch.where``, so ``inner`` is also
    evaluated (and its result discarded) on the other calls. The sum is kept in the
    dtype ``init`` gave it (the parameters').

    Args:
        inner: the transform applied once per window (e.g. ``sgd(0.1)``).
        every_k: the window length (int >= 1).
        average: ``True``: divide the window's sum by ``every_k`` before ``inner`` sees it;
            ``False``: pass the sum; ``"items"``: divide it by the window's total item count.
            With ``"items"`` every ``update`` needs the keyword ``num_items`` (an int or a 0-d
            tensor: how many items the incoming gradient is the *sum* over). A window of 0 items
            gives a zero gradient. ``num_items`` is not passed on to ``inner``.
        accumulator_dtype: the dtype the window's sum is kept (and handed to ``inner``) in; ``None``: the
            parameters'. optax's ``MultiSteps`` uses float32.

    References:
        optax: ``optax.MultiSteps``; MMEngine: ``OptimWrapper(accumulative_counts=...)``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = accumulate(scale(-1.0), every_k=2)
        >>> state = tx.init({"w": torch.zeros(1)})
        >>> u, state = tx.update({"w": torch.tensor([1.0])}, state)
        >>> u
        {'w': tensor([0.])}
        >>> tx.update({"w": torch.tensor([3.0])}, state)[0]
        {'w': tensor([-2.])}

        Items: the sums of 1 and 3 items become their mean over 4 items.

        >>> tx = accumulate(scale(1.0), every_k=2, average="items")
        >>> state = tx.init({"w": torch.zeros(1)})
        >>> _, state = tx.update({"w": torch.tensor([1.0])}, state, num_items=1)
        >>> tx.update({"w": torch.tensor([7.0])}, state, num_items=3)[0]
        {'w': tensor([2.])}
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"accumulate() needs a GradientTransformation as inner, got {inner!r}.")
    check_positive_int("every_k", every_k)
    by_items = isinstance(average, str) and average == "items"
    if not by_items:
        if isinstance(average, str):
            raise TypeError(f"average must be True, False or 'items', got {average!r}.")
        check_bool("average", average)
    acc_dtype = check_state_dtype("accumulator_dtype", accumulator_dtype)

    def init(params: Params) -> AccumulateState:
        zero = zero_counter(params)
        items = torch.zeros((), dtype=torch.float32, device=zero.device)
        return AccumulateState(zero, zero.clone(), zeros_like(params, dtype=acc_dtype), inner.init(params), items)

    def update(
        updates: Updates, state: AccumulateState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, AccumulateState]:
        check_state(state, AccumulateState, "accumulate")
        items = _window_items(state, extra.pop("num_items", None), by_items)
        grads = matched_leaves(updates, state.acc_grads, keep_dtype=acc_dtype is not None)
        if not grads:
            return {}, state
        total = torch._foreach_add(leaves(state.acc_grads), to_dtypes_of(grads, leaves(state.acc_grads)))
        emit = state.mini_step == every_k - 1
        if items is not None and by_items:
            window = torch._foreach_mul(total, 1.0 / items.clamp_min(1.0))
        else:
            window = torch._foreach_div(total, float(every_k)) if average else total
        new_updates, inner_state = guarded_update(
            ~emit, inner, rebuild(updates, window), state.inner_state, params, extra
        )
        acc = select(emit, zeros_like(state.acc_grads), rebuild(updates, total))
        step = emit.to(torch.int64)
        return new_updates, AccumulateState(
            mini_step=(state.mini_step + 1) * (1 - step),
            gradient_step=state.gradient_step + step,
            acc_grads=acc,
            inner_state=inner_state,
            acc_items=None if items is None else torch.where(emit, torch.zeros_like(items), items),
        )

    return GradientTransformation(init, update)


def _window_items(state: AccumulateState, num_items: Any, by_items: bool) -> Tensor | None:
    """The window's item count including this call (``average="items"``), else ``None`` (checked)."""
    if not by_items:
        if num_items is not None:
            raise TypeError("accumulate() got num_items, but it only takes it with average='items'.")
        return state.acc_items
    if num_items is None:
        raise TypeError("accumulate(average='items') needs num_items=<items in this gradient> in every update().")
    if state.acc_items is None:
        raise ValueError(
            "This accumulate state has no item count; build it with init() of accumulate(average='items')."
        )
    return state.acc_items + check_num_items(num_items).to(state.acc_items.device, torch.float32)


def check_num_items(num_items: Any) -> Tensor:
    """``num_items`` as a tensor: an int >= 0 or a one-element real tensor (its value is not read).

    Example:
        >>> check_num_items(3)
        tensor(3.)
        >>> check_num_items(-1)
        Traceback (most recent call last):
        ...
        ValueError: Invalid num_items: -1. It must be an int >= 0 or a one-element tensor.
    """
    if isinstance(num_items, Tensor):
        if num_items.numel() != 1 or num_items.is_complex() or num_items.dtype == torch.bool:
            raise TypeError(f"num_items must be a one-element real tensor, got {num_items!r}.")
        return num_items.detach().reshape(())
    if isinstance(num_items, bool) or not isinstance(num_items, int):
        raise TypeError(f"num_items must be an int or a one-element tensor, got {num_items!r}.")
    if num_items < 0:
        raise ValueError(f"Invalid num_items: {num_items!r}. It must be an int >= 0 or a one-element tensor.")
    return torch.tensor(float(num_items))
