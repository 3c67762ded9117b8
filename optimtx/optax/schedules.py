"""optax's schedules (``optax.schedules``) with optax's names, over [`optimtx.schedules`][optimtx.schedules].

A schedule maps a step (a Python int, or a 0-d tensor such as a transform's counter) to a value
(a Python float, or a 0-d tensor computed on the step's device without a host read).

Example:
    >>> import optimtx.optax as optax
    >>> s = optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=10)
    >>> [round(s(i), 3) for i in (0, 1, 2, 10)]
    [0.0, 0.5, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optimtx import schedules as _s
from optimtx.optax._stateful import (
    InjectStatefulHyperparamsState,
    StatefulSchedule,
    WrappedSchedule,
    inject_stateful_hyperparams,
)
from optimtx.optax._wrappers import inject_hyperparams
from optimtx.schedules import Schedule
from optimtx.transforms.hyperparams import InjectHyperparamsState


def constant_schedule(value: float) -> Schedule:
    """optax's ``constant_schedule``.

    Example:
        >>> constant_schedule(0.5)(10)
        0.5
    """
    return _s.constant(value)


def linear_schedule(init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0) -> Schedule:
    """optax's ``linear_schedule`` (``transition_steps <= 0``: constant ``init_value``, as optax).

    Example:
        >>> [linear_schedule(1.0, 0.0, 4)(s) for s in (0, 2, 4, 6)]
        [1.0, 0.5, 0.0, 0.0]
    """
    if isinstance(transition_steps, int) and transition_steps <= 0:
        return _s.constant(init_value)
    return _s.linear(init_value, end_value, transition_steps, max(transition_begin, 0))


def polynomial_schedule(
    init_value: float, end_value: float, power: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """optax's ``polynomial_schedule`` (``transition_steps <= 0``: constant ``init_value``, as optax).

    Example:
        >>> [polynomial_schedule(1.0, 0.0, 2.0, 4)(s) for s in (0, 2, 4)]
        [1.0, 0.25, 0.0]
    """
    if isinstance(transition_steps, int) and transition_steps <= 0:
        return _s.constant(init_value)
    return _s.polynomial(init_value, end_value, power, transition_steps, max(transition_begin, 0))


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """optax's ``exponential_decay`` (``transition_steps <= 0`` or ``decay_rate == 0``: constant, as optax).

    Example:
        >>> [exponential_decay(1.0, 2, 0.5)(s) for s in (0, 2, 4)]
        [1.0, 0.5, 0.25]
    """
    if (isinstance(transition_steps, int) and transition_steps <= 0) or decay_rate == 0:
        return _s.constant(init_value)
    return _s.exponential_decay(
        init_value, transition_steps, decay_rate, max(transition_begin, 0), staircase, end_value
    )


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0) -> Schedule:
    """optax's ``cosine_decay_schedule``.

    Example:
        >>> [round(cosine_decay_schedule(1.0, 10, exponent=2.0)(s), 4) for s in (0, 5, 10)]
        [1.0, 0.25, 0.0]
    """
    return _s.cosine_decay(init_value, decay_steps, alpha, exponent)


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    """optax's ``piecewise_constant_schedule``: from each boundary on, the value is multiplied by its scale.

    Example:
        >>> [piecewise_constant_schedule(1.0, {2: 0.5})(s) for s in (0, 2, 3)]
        [1.0, 0.5, 0.5]
    """
    return _s.multistep(init_value, boundaries_and_scales or {})


def piecewise_interpolate_schedule(
    interpolate_type: str, init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    """optax's ``piecewise_interpolate_schedule``.

    Example:
        >>> [piecewise_interpolate_schedule("linear", 1.0, {2: 0.0})(s) for s in (0, 1, 2)]
        [1.0, 0.5, 0.0]
    """
    return _s.piecewise_interpolate(interpolate_type, init_value, boundaries_and_scales)


def warmup_constant_schedule(init_value: float, peak_value: float, warmup_steps: int) -> Schedule:
    """optax's ``warmup_constant_schedule``.

    Example:
        >>> [warmup_constant_schedule(0.0, 1.0, 2)(s) for s in (0, 1, 5)]
        [0.0, 0.5, 1.0]
    """
    return linear_schedule(init_value, peak_value, warmup_steps)


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """optax's ``warmup_cosine_decay_schedule`` (``decay_steps`` counts the warmup).

    Example:
        >>> [round(warmup_cosine_decay_schedule(0.0, 1.0, 2, 6)(s), 4) for s in (1, 2, 4, 6)]
        [0.5, 1.0, 0.5, 0.0]
    """
    return _s.warmup_cosine_decay(init_value, peak_value, warmup_steps, decay_steps, end_value, exponent)


def warmup_exponential_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """optax's ``warmup_exponential_decay_schedule`` (no decay for ``transition_steps <= 0``, as optax).

    Example:
        >>> [warmup_exponential_decay_schedule(0.0, 1.0, 2, 1, 0.5)(s) for s in (1, 2, 3)]
        [0.5, 1.0, 0.5]
    """
    if (isinstance(transition_steps, int) and transition_steps <= 0) or decay_rate == 0:
        return _s.join([linear_schedule(init_value, peak_value, warmup_steps), _s.constant(peak_value)], [warmup_steps])
    return _s.warmup_exponential_decay(
        init_value, peak_value, warmup_steps, transition_steps, decay_rate, transition_begin, staircase, end_value
    )


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """optax's ``sgdr_schedule``: warm restarts of ``warmup_cosine_decay_schedule``.

    Example:
        >>> piece = {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 1, "decay_steps": 2}
        >>> [sgdr_schedule([piece, piece])(s) for s in range(4)]
        [0.0, 1.0, 0.0, 1.0]
    """
    return _s.sgdr(cosine_kwargs)


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """optax's ``cosine_onecycle_schedule``.

    Example:
        >>> [round(cosine_onecycle_schedule(10, 1.0)(s), 4) for s in (0, 3, 10)]
        [0.04, 1.0, 0.0]
    """
    return _s.cosine_onecycle(transition_steps, peak_value, pct_start, div_factor, final_div_factor)


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """optax's ``linear_onecycle_schedule``.

    Example:
        >>> [round(linear_onecycle_schedule(10, 1.0)(s), 4) for s in (0, 3, 10)]
        [0.04, 1.0, 0.0]
    """
    return _s.linear_onecycle(transition_steps, peak_value, pct_start, pct_final, div_factor, final_div_factor)


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """optax's ``join_schedules``: each schedule from its boundary on, counting from that boundary.

    Example:
        >>> s = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [2])
        >>> [s(i) for i in range(5)]
        [1.0, 1.0, 1.0, 0.5, 0.0]
    """
    return _s.join(schedules, boundaries)


__all__ = [
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "StatefulSchedule",
    "WrappedSchedule",
    "inject_stateful_hyperparams",
    "Schedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "inject_hyperparams",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]
