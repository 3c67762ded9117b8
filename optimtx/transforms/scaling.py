"""Rescaling of updates: by a constant factor, or by a (scheduled) learning rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, empty_init
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_leaves, rebuild
from optimtx.core.validation import check_bool, check_finite, check_non_negative
from optimtx.transforms.kernels import loop_invariant, mul

__all__ = ["ScaleByLearningRateState", "Schedule", "scale", "scale_by_learning_rate"]

Schedule = Callable[[Tensor], float | Tensor]


def scale(factor: float | Tensor) -> GradientTransformation:
    """Multiply every update by ``factor``.

    References:
        optax: ``optax.scale``.

    Example:
        >>> tx = scale(-0.1)
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([-0.1000, -0.1000])}
    """
    check_finite("factor", factor)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del params, extra
        check_state(state, EmptyState, "scale")
        return _times(updates, factor), state

    return GradientTransformation(empty_init, update)


def _times(updates: Updates, factor: float | Tensor) -> Tree:
    """``updates`` (checked) times ``factor``, in one batched pass."""
    us = check_leaves(updates)
    return rebuild(updates, mul(us, factor)) if us else {}


class ScaleByLearningRateState(NamedTuple):
    """State of [`scale_by_learning_rate`][optimtx.scale_by_learning_rate] when the learning rate is a schedule.

    Attributes:
        count: how many updates were made so far (int64 0-d tensor); the schedule is
            evaluated at this value before it is incremented.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose


def scale_by_learning_rate(lr: float | Tensor | Schedule, flip_sign: bool = True) -> GradientTransformation:
    """Multiply every update by ``-lr`` (``lr`` if ``flip_sign=False``).

    ``lr`` is a number, a 0-d tensor, or a schedule: a callable taking the step count
    (int64 0-d tensor, starting at 0) and returning the rate for that step. Only a
    schedule needs a counter, so only then is the state a
    [`ScaleByLearningRateState`][optimtx.ScaleByLearningRateState]; otherwise it is ``EmptyState()``.

    References:
        optax: ``optax.scale_by_learning_rate``.

    Example:
        >>> tx = scale_by_learning_rate(lambda count: 0.1 / (1 + count))
        >>> state = tx.init({})
        >>> u, state = tx.update({"w": torch.ones(1)}, state)
        >>> u, state.count
        ({'w': tensor([-0.1000])}, tensor(1))
        >>> tx.update({"w": torch.ones(1)}, state)[0]
        {'w': tensor([-0.0500])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_bool("flip_sign", flip_sign)
    if not callable(lr):
        return scale(-lr if flip_sign else lr)
    schedule = lr

    def init(params: Params) -> ScaleByLearningRateState:
        return ScaleByLearningRateState(count=zero_counter(params))

    def update(
        updates: Updates, state: ScaleByLearningRateState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByLearningRateState]:
        del params, extra
        check_state(state, ScaleByLearningRateState, "scale_by_learning_rate")
        rate = schedule(state.count)
        rate = loop_invariant(rate) if isinstance(rate, Tensor) else rate
        return _times(updates, -rate if flip_sign else rate), ScaleByLearningRateState(count=state.count + 1)

    return GradientTransformation(init, update)
