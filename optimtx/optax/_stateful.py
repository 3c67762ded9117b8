"""optax's stateful-schedule protocol: ``StatefulSchedule``, ``WrappedSchedule``, ``inject_stateful_hyperparams``.

A stateful schedule is an object with ``init() -> state``, ``update(state, **extra) -> state`` and
``__call__(state, **extra) -> value``: its value may depend on anything the update's keyword extras
carry (a loss, a metric), not only on the step count. optax (0.2.8) deprecates
``inject_stateful_hyperparams`` in favour of ``inject_hyperparams``, which takes stateful schedules
itself; here both accept them (``inject_hyperparams`` switches to this state only when one is given).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, map_tensors
from optimtx.core.tree import Tree
from optimtx.transforms import hyperparams as _hyperparams
from optimtx.transforms.hyperparams import InjectHyperparamsState


@runtime_checkable
class StatefulSchedule(Protocol):
    """optax's stateful schedule: ``init()``, ``update(state, **extra)`` and ``__call__(state, **extra)``.

    Example:
        >>> isinstance(WrappedSchedule(lambda count: 0.1), StatefulSchedule), isinstance(abs, StatefulSchedule)
        (True, False)
    """

    def init(self) -> Any:
        """The schedule's first state."""

    def update(self, state: Any, **extra_args: Any) -> Any:
        """The state after one more step (``extra_args`` are the update's keyword extras)."""

    def __call__(self, state: Any, **extra_args: Any) -> Any:
        """The value at ``state``."""


class WrappedScheduleState(NamedTuple):
    """State of a [`WrappedSchedule`][optimtx.optax.WrappedSchedule]: the step count (int64 0-d)."""

    count: Tensor  # type: ignore[assignment]  # optax's field name; shadows tuple.count on purpose


class WrappedSchedule:
    """optax's ``WrappedSchedule``: a step schedule ``schedule_fn(count)`` as a stateful schedule.

    Example:
        >>> s = WrappedSchedule(lambda count: 0.5**count)
        >>> state = s.update(s.update(s.init()))
        >>> s(state)
        tensor(0.2500)
    """

    def __init__(self, schedule_fn: Callable[[Any], Any]) -> None:
        if not callable(schedule_fn):
            raise TypeError(f"WrappedSchedule needs a schedule (a callable of the step), got {schedule_fn!r}.")
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        return WrappedScheduleState(torch.zeros((), dtype=torch.int64))

    def update(self, state: WrappedScheduleState, **extra_args: Any) -> WrappedScheduleState:
        del extra_args
        return WrappedScheduleState(state.count + 1)

    def __call__(self, state: WrappedScheduleState, **extra_args: Any) -> Any:
        del extra_args
        return self.schedule_fn(state.count)


class InjectStatefulHyperparamsState(NamedTuple):
    """State of [`inject_stateful_hyperparams`][optimtx.optax.inject_stateful_hyperparams], optax's fields.

    Attributes:
        count: updates applied so far (int64 0-d).
        hyperparams: name -> 0-d tensor, the values the last update used (before any: the first values).
        hyperparams_states: name -> the state of that hyperparameter's stateful schedule.
        inner_state: the state of the transform the factory builds.
    """

    count: Tensor  # type: ignore[assignment]  # optax's field name; shadows tuple.count on purpose
    hyperparams: dict[str, Any]
    hyperparams_states: dict[str, Any]
    inner_state: State


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Sequence[str] = (),
    hyperparam_dtype: torch.dtype | None = None,
) -> Callable[..., GradientTransformation]:
    """optax's ``inject_stateful_hyperparams``: ``inject_hyperparams`` that also takes stateful schedules.

    Each update first reads every stateful schedule's value at its current state (with the update's
    keyword extras), then advances the schedule states, then runs the inner transform with the
    values, as optax does. Numbers and step schedules behave as in
    [`inject_hyperparams`][optimtx.optax.inject_hyperparams].

    Example:
        >>> from optimtx.optax import sgd
        >>> class Halving:
        ...     def init(self):
        ...         return torch.tensor(1.0)
        ...     def update(self, state, **extra):
        ...         return state / 2
        ...     def __call__(self, state, **extra):
        ...         return 0.4 * state
        >>> tx = inject_stateful_hyperparams(sgd)(learning_rate=Halving())
        >>> p, g = {"w": torch.zeros(1)}, {"w": torch.ones(1)}
        >>> u1, state = tx.update(g, tx.init(p), p)
        >>> u2, state = tx.update(g, state, p)
        >>> u1, u2
        ({'w': tensor([-0.4000])}, {'w': tensor([-0.2000])})
    """
    names = (static_args,) if isinstance(static_args, str) else tuple(static_args)
    signature = inspect.signature(inner_factory)
    unknown = set(names) - set(signature.parameters)
    if unknown:
        raise ValueError(f"static_args {sorted(unknown)} are not parameters of {inner_factory!r}.")
    plain_factory = _hyperparams.inject_hyperparams(inner_factory, names, hyperparam_dtype)

    @functools.wraps(inner_factory)
    def make(*args: Any, **kwargs: Any) -> GradientTransformation:
        bound = signature.bind(*args, **kwargs).arguments
        stateful = {k: v for k, v in bound.items() if k not in names and isinstance(v, StatefulSchedule)}
        firsts = {k: f(f.init()) for k, f in stateful.items()}
        return _with_states(plain_factory(**{**bound, **firsts}), stateful)

    return make


def _with_states(plain: GradientTransformation, stateful: dict[str, Any]) -> GradientTransformation:
    def init(params: Params) -> InjectStatefulHyperparamsState:
        inner = plain.init(params)
        device = inner.count.device  # a schedule's init() sees no parameters: its tensors go where they are
        states = {k: map_tensors(lambda t: t.to(device), f.init()) for k, f in stateful.items()}
        values = dict(inner.hyperparams)
        values.update({k: _hyperparams._to_value(f(states[k]), values[k]) for k, f in stateful.items()})
        return InjectStatefulHyperparamsState(inner.count, values, states, inner.inner_state)

    def update(
        updates: Updates, state: InjectStatefulHyperparamsState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, InjectStatefulHyperparamsState]:
        check_state(state, InjectStatefulHyperparamsState, "inject_stateful_hyperparams")
        values = dict(state.hyperparams)
        for k, f in stateful.items():
            values[k] = _hyperparams._to_value(f(state.hyperparams_states[k], **extra), values[k])
        states = {k: f.update(state.hyperparams_states[k], **extra) for k, f in stateful.items()}
        inner = InjectHyperparamsState(state.count, values, state.inner_state)
        new_updates, new_inner = plain.update(updates, inner, params, **extra)
        return new_updates, InjectStatefulHyperparamsState(
            new_inner.count, new_inner.hyperparams, states, new_inner.inner_state
        )

    return GradientTransformation(init, update)


__all__ = [
    "InjectStatefulHyperparamsState",
    "StatefulSchedule",
    "WrappedSchedule",
    "inject_stateful_hyperparams",
]
