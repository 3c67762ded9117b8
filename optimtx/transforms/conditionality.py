"""Running a transform on some steps only: ``conditionally_transform``, ``conditionally_mask``, ``apply_every``.

The step decision is a 0-d bool tensor: both branches are computed and the result picked
with ``torch.where``, so nothing is read back to the host (as ``lax.cond`` under ``jit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, select, zero_counter
from optimtx.core.tree import Tree, check_leaves, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_positive_int

__all__ = [
    "ApplyEveryState",
    "ConditionFn",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "apply_every",
    "conditionally_mask",
    "conditionally_transform",
]

ConditionFn = Callable[..., Any]


class ConditionallyTransformState(NamedTuple):
    """State of `conditionally_transform`.

    Attributes:
        inner_state: the wrapped transform's state (unchanged on steps it does not run).
        step: how many updates were made (int64 0-d), the condition's input.
    """

    inner_state: State
    step: Tensor


class ConditionallyMaskState(NamedTuple):
    """State of `conditionally_mask`.

    Attributes:
        step: how many updates were made (int64 0-d), the condition's input.
        inner_state: the wrapped transform's state (unchanged on steps it does not run).
    """

    step: Tensor
    inner_state: State


def _check_inner(inner: Any, who: str, fn: Any) -> None:
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"{who}() needs a GradientTransformation as inner, got {inner!r}.")
    if not callable(fn):
        raise TypeError(f"{who}() needs should_transform_fn, a callable step -> bool, got {fn!r}.")


def _run_if(
    fn: ConditionFn,
    forward_extra_args: bool,
    inner: GradientTransformation,
    step: Tensor,
    args: tuple[Updates, State, Params | None],
    extra: dict[str, Any],
    otherwise: Tree,
) -> tuple[Tree, State]:
    updates, inner_state, params = args
    run = torch.as_tensor(fn(step, **(extra if forward_extra_args else {})), device=step.device).to(torch.bool)
    new_updates, new_inner = inner.update(updates, inner_state, params, **extra)
    return select(run, dict(new_updates), otherwise), select(run, new_inner, inner_state)


def conditionally_transform(
    inner: GradientTransformation, should_transform_fn: ConditionFn, forward_extra_args: bool = False
) -> GradientTransformation:
    """Run ``inner`` on the steps where ``should_transform_fn(step)`` holds; pass the updates through elsewhere.

    Args:
        inner: the transform to run on some steps.
        should_transform_fn: ``step -> bool`` (a Python bool or a 0-d bool tensor); ``step`` counts updates
            from 0 (an int64 0-d tensor).
        forward_extra_args: also give the condition the keyword extras of ``update``.

    References:
        optax: ``optax.conditionally_transform``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = conditionally_transform(scale(10.0), lambda step: step >= 1)
        >>> s = tx.init({"w": torch.ones(1)})
        >>> u0, s = tx.update({"w": torch.ones(1)}, s)
        >>> u1, s = tx.update({"w": torch.ones(1)}, s)
        >>> u0, u1
        ({'w': tensor([1.])}, {'w': tensor([10.])})
    """
    _check_inner(inner, "conditionally_transform", should_transform_fn)
    check_bool("forward_extra_args", forward_extra_args)

    def init(params: Params) -> ConditionallyTransformState:
        return ConditionallyTransformState(inner.init(params), zero_counter(params))

    def update(
        updates: Updates, state: ConditionallyTransformState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ConditionallyTransformState]:
        check_state(state, ConditionallyTransformState, "conditionally_transform")
        args = (updates, state.inner_state, params)
        out, inner_state = _run_if(
            should_transform_fn, forward_extra_args, inner, state.step, args, extra, dict(updates)
        )
        return out, ConditionallyTransformState(inner_state, state.step + 1)

    return GradientTransformation(init, update)


def conditionally_mask(
    inner: GradientTransformation, should_transform_fn: ConditionFn, forward_extra_args: bool = False
) -> GradientTransformation:
    """Run ``inner`` on the steps where ``should_transform_fn(step)`` holds; give zero updates elsewhere.

    As `conditionally_transform`, but a step that does not run ``inner`` moves nothing.

    References:
        optax: ``optax.conditionally_mask``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = conditionally_mask(scale(-1.0), lambda step: step % 2 == 1)
        >>> tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))[0]
        {'w': tensor([0.])}
    """
    _check_inner(inner, "conditionally_mask", should_transform_fn)
    check_bool("forward_extra_args", forward_extra_args)

    def init(params: Params) -> ConditionallyMaskState:
        return ConditionallyMaskState(zero_counter(params), inner.init(params))

    def update(
        updates: Updates, state: ConditionallyMaskState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ConditionallyMaskState]:
        check_state(state, ConditionallyMaskState, "conditionally_mask")
        zeros = rebuild(updates, [torch.zeros_like(u) for u in check_leaves(updates)])
        args = (updates, state.inner_state, params)
        out, inner_state = _run_if(should_transform_fn, forward_extra_args, inner, state.step, args, extra, zeros)
        return out, ConditionallyMaskState(state.step + 1, inner_state)

    return GradientTransformation(init, update)


class ApplyEveryState(NamedTuple):
    """State of `apply_every`.

    Attributes:
        count: position in the current window of ``k`` steps (int64 0-d, ``0 .. k - 1``).
        grad_acc: the sum of the updates seen in this window.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    grad_acc: dict[str, Tensor]


def apply_every(k: int = 1) -> GradientTransformation:
    """Sum the updates over ``k`` steps and emit the sum on every ``k``-th step (zeros in between).

    Unlike [`accumulate`][optimtx.accumulate] (optax's ``MultiSteps``), transforms before it in a chain still
    update their state every step, so this is not the same as a ``k`` times larger batch.

    Args:
        k: the window length (>= 1).

    References:
        optax: ``optax.apply_every``.

    Example:
        >>> tx = apply_every(2)
        >>> s = tx.init({"w": torch.zeros(1)})
        >>> u1, s = tx.update({"w": torch.ones(1)}, s)
        >>> u2, s = tx.update({"w": torch.ones(1)}, s)
        >>> u1, u2
        ({'w': tensor([0.])}, {'w': tensor([2.])})
    """
    k = check_positive_int("k", k)

    def init(params: Params) -> ApplyEveryState:
        return ApplyEveryState(count=zero_counter(params), grad_acc=zeros_like(params))

    def update(
        updates: Updates, state: ApplyEveryState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ApplyEveryState]:
        del params, extra
        check_state(state, ApplyEveryState, "apply_every")
        us = matched_leaves(updates, state.grad_acc)
        keep = state.count % k != 0  # a new window starts from the incoming update alone
        acc = [g + keep.to(a.device, a.dtype) * a for g, a in zip(us, leaves(state.grad_acc), strict=True)]
        emit = state.count % k == k - 1
        out = [torch.where(emit.to(a.device), a, torch.zeros_like(a)) for a in acc]
        return rebuild(updates, out), ApplyEveryState(count=(state.count + 1) % k, grad_acc=rebuild(updates, acc))

    return GradientTransformation(init, update)
