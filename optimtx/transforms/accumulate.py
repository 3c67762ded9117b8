"""Gradient accumulation as a transform: ``inner`` sees the mean of every ``every_k`` gradients."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.base import GradientTransformation, Params, State, Updates
from optimtx.state_tree import check_state, select, zero_counter
from optimtx.transforms.finite import guarded_update
from optimtx.tree import Tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.validation import check_bool, check_positive_int


class AccumulateState(NamedTuple):
    """State of :func:`accumulate`.

    Attributes:
        mini_step: calls so far in the current window, 0..every_k-1 (int64 0-d).
        gradient_step: windows completed, i.e. updates applied by ``inner`` (int64 0-d).
        acc_grads: the sum of the window's gradients so far (dict of tensors like params).
        inner_state: the wrapped transform's state (changes only on the k-th call).
    """

    mini_step: Tensor
    gradient_step: Tensor
    acc_grads: Tree
    inner_state: State


def accumulate(inner: GradientTransformation, every_k: int, average: bool = True) -> GradientTransformation:
    """Accumulate ``every_k`` gradients, then apply ``inner`` once to their mean (or sum).

    Calls 1..k-1 of each window return zero updates and leave ``inner``'s state as it
    was; call k returns ``inner``'s updates for the window's mean (``average=True``) or
    sum. The choice is made on the device with ``torch.where``, so ``inner`` is also
    evaluated (and its result discarded) on the other calls. The sum is kept in the
    dtype ``init`` gave it (the parameters').

    Args:
        inner: the transform applied once per window (e.g. ``sgd(0.1)``).
        every_k: the window length (int >= 1).
        average: divide the window's sum by ``every_k`` before ``inner`` sees it.

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
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"accumulate() needs a GradientTransformation as inner, got {inner!r}.")
    check_positive_int("every_k", every_k)
    check_bool("average", average)

    def init(params: Params) -> AccumulateState:
        zero = zero_counter(params)
        return AccumulateState(zero, zero.clone(), zeros_like(params), inner.init(params))

    def update(updates: Updates, state: AccumulateState, params: Params | None = None, **extra: Any):
        check_state(state, AccumulateState, "accumulate")
        grads = matched_leaves(updates, state.acc_grads)
        if not grads:
            return {}, state
        total = torch._foreach_add(leaves(state.acc_grads), grads)
        window = torch._foreach_div(total, float(every_k)) if average else total
        emit = state.mini_step == every_k - 1
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
        )

    return GradientTransformation(init, update)
