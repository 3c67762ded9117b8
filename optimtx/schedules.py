"""Schedules: pure functions from a step count to a hyperparameter value.

Every factory here returns a callable ``schedule(step)``. ``step`` is a Python int
(the result is a Python float) or a 0-d tensor such as a transform's int64 counter
(the result is a 0-d tensor in the default float dtype, computed on the step's device
with tensor ops only, so it neither syncs with the host nor breaks
``torch.compile(fullgraph=True)``). The math runs in float64 either way.

Step 0 is the first update. Conventions follow optax: ``warmup_cosine_decay``'s
``decay_steps`` counts the warmup too, ``join`` restarts each schedule at 0 at its
boundary, and ``multistep`` multiplies the value by each boundary's scale once the
step reaches that boundary.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from optimtx.core.namespace import public_dir
from optimtx.core.state_tree import wide_float
from optimtx.core.validation import (
    check_bool,
    check_choice,
    check_non_negative_int,
    check_number_in,
    check_positive,
    check_positive_int,
    check_real,
)

__all__ = [
    "Schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "join",
    "linear",
    "multistep",
    "polynomial",
    "warmup_cosine_decay",
]
__dir__ = public_dir(__all__)  # dir() lists the schedules, not torch or math

Schedule = Callable[[Any], Any]


def _as_step(step: Any) -> Tensor:
    if isinstance(step, Tensor):
        if step.ndim != 0:
            raise ValueError(f"A schedule's step must be an int or a 0-d tensor, got shape {tuple(step.shape)}.")
        return step
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f"A schedule's step must be an int or a 0-d tensor, got {step!r}.")
    return torch.tensor(step, dtype=torch.int64)


def _wide(value: Tensor) -> Tensor:
    """``value`` in float64 (float32 on devices without float64, such as ``mps``)."""
    return value.to(wide_float(value.device))


def _finish(step: Any, value: Tensor) -> Any:
    return value.to(torch.get_default_dtype()) if isinstance(step, Tensor) else float(value)


def _schedule(formula: Callable[[Tensor], Tensor]) -> Schedule:
    """Lift ``formula`` (float64 0-d tensor -> tensor) to accept an int or any 0-d tensor."""

    def schedule(step: Any) -> Any:
        return _finish(step, formula(_wide(_as_step(step))))

    return schedule


def constant(value: float) -> Schedule:
    """Always ``value``.

    Example:
        >>> constant(0.1)(7)
        0.1
    """
    value = check_real("value", value)
    return _schedule(lambda t: torch.full_like(t, value))


def linear(init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0) -> Schedule:
    """From ``init_value`` to ``end_value`` in a straight line over ``transition_steps`` steps, then flat.

    The ramp starts at step ``transition_begin``.

    Example:
        >>> [linear(0.0, 1.0, 4)(s) for s in (0, 2, 4, 9)]
        [0.0, 0.5, 1.0, 1.0]
    """
    init_value, end_value = check_real("init_value", init_value), check_real("end_value", end_value)
    check_positive_int("transition_steps", transition_steps)
    check_non_negative_int("transition_begin", transition_begin)

    def formula(t: Tensor) -> Tensor:
        frac = torch.clamp((t - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + (end_value - init_value) * frac

    return _schedule(formula)


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0) -> Schedule:
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps``, then flat.

    ``init_value * ((1 - alpha) * c ** exponent + alpha)`` with ``c = (1 + cos(pi * t / decay_steps)) / 2``.

    Example:
        >>> [round(cosine_decay(1.0, 10)(s), 4) for s in (0, 5, 10, 20)]
        [1.0, 0.5, 0.0, 0.0]
    """
    init_value, alpha = check_real("init_value", init_value), check_real("alpha", alpha)
    exponent = check_real("exponent", exponent)
    check_positive_int("decay_steps", decay_steps)

    def formula(t: Tensor) -> Tensor:
        cosine = 0.5 * (1.0 + torch.cos(math.pi * torch.clamp(t, 0.0, decay_steps) / decay_steps))
        return init_value * ((1.0 - alpha) * cosine**exponent + alpha)

    return _schedule(formula)


def warmup_cosine_decay(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """Linear warmup from ``init_value`` to ``peak_value``, then a cosine down to ``end_value``.

    ``decay_steps`` is the whole length, warmup included (as in optax), so the cosine
    lasts ``decay_steps - warmup_steps`` steps; it is [`cosine_decay`][optimtx.schedules.cosine_decay] of ``peak_value``
    with ``alpha = end_value / peak_value`` (0 when ``peak_value`` is 0, as optax) and ``exponent``.

    Example:
        >>> s = warmup_cosine_decay(0.0, 1.0, warmup_steps=2, decay_steps=6)
        >>> [round(s(i), 4) for i in range(8)]
        [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    init_value, peak_value = check_real("init_value", init_value), check_real("peak_value", peak_value)
    end_value, exponent = check_real("end_value", end_value), check_real("exponent", exponent)
    check_non_negative_int("warmup_steps", warmup_steps)
    check_positive_int("decay_steps", decay_steps)
    if decay_steps <= warmup_steps:
        raise ValueError(
            f"Invalid decay_steps: {decay_steps!r}. It counts the warmup too, so it must be > warmup_steps "
            f"({warmup_steps!r})."
        )
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    warm = linear(init_value, peak_value, max(warmup_steps, 1))
    return join([warm, cosine_decay(peak_value, decay_steps - warmup_steps, alpha, exponent)], [warmup_steps])


def _multistep_table(
    boundaries_and_scales: Mapping[int, float] | None, milestones: Sequence[int] | None, gamma: float
) -> list[tuple[int, float]]:
    if (boundaries_and_scales is None) == (milestones is None):
        raise ValueError(
            "multistep() takes either boundaries_and_scales={step: scale} or milestones=[...] "
            f"with gamma, not {'both' if milestones is not None else 'neither'}."
        )
    if milestones is not None:
        gamma = check_real("gamma", gamma)
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise ValueError(f"Invalid milestones: {milestones!r}. It must be a list of integers >= 0.")
        table = [(check_non_negative_int(f"milestones[{i}]", m), gamma) for i, m in enumerate(milestones)]
    else:
        if not isinstance(boundaries_and_scales, Mapping):
            raise ValueError(
                f"Invalid boundaries_and_scales: {boundaries_and_scales!r}. It must be a dict step -> scale."
            )
        table = [
            (check_non_negative_int("boundary", b), check_real(f"scale at {b!r}", s))
            for b, s in boundaries_and_scales.items()
        ]
    return sorted(table)


def multistep(
    init_value: float,
    boundaries_and_scales: Mapping[int, float] | None = None,
    *,
    milestones: Sequence[int] | None = None,
    gamma: float = 0.1,
) -> Schedule:
    """Piecewise constant: from each boundary step on, the value is multiplied by its scale.

    Give either ``boundaries_and_scales`` (optax's ``piecewise_constant_schedule``) or
    ``milestones`` and ``gamma`` (``torch.optim.lr_scheduler.MultiStepLR``: every
    milestone multiplies by ``gamma``; a repeated milestone counts twice).

    Example:
        >>> s = multistep(1.0, {2: 0.5, 4: 0.1})
        >>> [s(i) for i in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
        >>> [multistep(1.0, milestones=[1, 3], gamma=0.5)(i) for i in range(4)]
        [1.0, 0.5, 0.5, 0.25]
    """
    init_value = check_real("init_value", init_value)
    table = _multistep_table(boundaries_and_scales, milestones, gamma)

    def formula(t: Tensor) -> Tensor:
        value = torch.full_like(t, init_value)
        for boundary, factor in table:
            value = torch.where(t >= boundary, value * factor, value)
        return value

    return _schedule(formula)


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** ((step - transition_begin) / transition_steps)``.

    Flat at ``init_value`` before ``transition_begin``; with ``staircase`` the exponent
    is rounded down; ``end_value`` bounds the value (below when decaying, above when
    growing).

    Example:
        >>> [exponential_decay(1.0, 2, 0.5)(s) for s in (0, 1, 2, 4)]
        [1.0, 0.7071067811865476, 0.5, 0.25]
    """
    init_value, decay_rate = check_real("init_value", init_value), check_real("decay_rate", decay_rate)
    if decay_rate <= 0:
        raise ValueError(f"Invalid decay_rate: {decay_rate!r}. It must be a number > 0.")
    check_positive_int("transition_steps", transition_steps)
    check_non_negative_int("transition_begin", transition_begin)
    check_bool("staircase", staircase)
    end = None if end_value is None else check_real("end_value", end_value)

    def formula(t: Tensor) -> Tensor:
        exponent = torch.clamp(t - transition_begin, min=0.0) / transition_steps
        if staircase:
            exponent = torch.floor(exponent)
        value = init_value * torch.pow(torch.full_like(t, decay_rate), exponent)
        if end is None:
            return value
        return torch.clamp(value, min=end) if decay_rate < 1 else torch.clamp(value, max=end)

    return _schedule(formula)


def polynomial(
    init_value: float, end_value: float, power: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """``(init_value - end_value) * (1 - done) ** power + end_value``, ``done`` going 0 -> 1 over the transition.

    Example:
        >>> [polynomial(1.0, 0.0, 2, 4)(s) for s in (0, 2, 4, 8)]
        [1.0, 0.25, 0.0, 0.0]
    """
    init_value, end_value = check_real("init_value", init_value), check_real("end_value", end_value)
    power = check_real("power", power)
    check_positive_int("transition_steps", transition_steps)
    check_non_negative_int("transition_begin", transition_begin)

    def formula(t: Tensor) -> Tensor:
        done = torch.clamp(t - transition_begin, 0.0, transition_steps) / transition_steps
        return (init_value - end_value) * torch.pow(1.0 - done, power) + end_value

    return _schedule(formula)


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Schedule ``i`` runs from ``boundaries[i-1]`` on, seeing the step counted from that boundary.

    Needs one boundary fewer than schedules, in non-decreasing order. Any callable
    step -> value works as a part; under a tensor step it gets a tensor step.

    Example:
        >>> s = join([linear(0.0, 1.0, 2), constant(0.5)], boundaries=[2])
        >>> [s(i) for i in range(4)]
        [0.0, 0.5, 0.5, 0.5]
    """
    schedules, boundaries = list(schedules), list(boundaries)
    if not schedules or not all(callable(s) for s in schedules):
        raise ValueError(f"Invalid schedules: {schedules!r}. It must be a non-empty list of schedules.")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"join() got {len(schedules)} schedules and {len(boundaries)} boundaries; "
            "it needs exactly one boundary fewer than schedules."
        )
    for b in boundaries:
        check_non_negative_int("boundary", b)
    if boundaries != sorted(boundaries):
        raise ValueError(f"Invalid boundaries: {boundaries!r}. They must be in non-decreasing order.")

    def schedule(step: Any) -> Any:
        t = _as_step(step)
        if not isinstance(step, Tensor):  # a host int: pick the piece in Python, keep float64 values
            i = sum(b <= step for b in boundaries)
            return float(schedules[i](step - boundaries[i - 1] if i else step))
        value = _wide(torch.as_tensor(schedules[0](t)))
        for boundary, part in zip(boundaries, schedules[1:], strict=True):
            later = _wide(torch.as_tensor(part(t - boundary)))
            value = torch.where(t < boundary, value, later)
        return _finish(step, value)

    return schedule


def _interpolate_table(init_value: float, boundaries_and_scales: Mapping[int, float] | None) -> tuple[list, list]:
    table = _multistep_table(boundaries_and_scales or {}, None, 0.0)
    if any(scale < 0 for _, scale in table):
        raise ValueError(f"Invalid boundaries_and_scales: {boundaries_and_scales!r}. The scales must be >= 0.")
    bounds, values = [0], [init_value]
    for boundary, scale in table:
        bounds.append(boundary)
        values.append(values[-1] * scale)
    return bounds, values


def piecewise_interpolate(
    interpolate_type: str, init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    """From each boundary to the next, move (``'linear'`` or ``'cosine'``) from one value to the next.

    The value at a boundary is ``init_value`` times the product of the scales up to it; after the last
    boundary it stays flat (optax's ``piecewise_interpolate_schedule``).

    Example:
        >>> s = piecewise_interpolate("linear", 1.0, {2: 0.5, 4: 0.0})
        >>> [s(i) for i in range(6)]
        [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    kind = check_choice("interpolate_type", interpolate_type, ("linear", "cosine"))
    bounds, values = _interpolate_table(check_real("init_value", init_value), boundaries_and_scales)

    def formula(t: Tensor) -> Tensor:
        value = torch.full_like(t, values[-1])
        for i in reversed(range(len(bounds) - 1)):
            pct = (t - bounds[i]) / max(bounds[i + 1] - bounds[i], 1)
            if kind == "linear":
                piece = values[i] + (values[i + 1] - values[i]) * pct
            else:
                piece = values[i + 1] + (values[i] - values[i + 1]) / 2.0 * (torch.cos(math.pi * pct) + 1)
            value = torch.where((bounds[i] <= t) & (t < bounds[i + 1]), piece, value)
        return torch.where(t < 0, torch.zeros_like(t), value)  # optax: 0 before step 0

    return _schedule(formula)


def _onecycle_length(transition_steps: int) -> int:
    return check_positive_int("transition_steps", transition_steps)


def _onecycle_args(fractions: dict[str, Any], divisors: dict[str, Any]) -> None:
    """Fractions of the cycle in [0, 1]; divisors finite numbers > 0 (so the cycle's values stay finite)."""
    for name, value in fractions.items():
        check_number_in(name, value, 0.0, 1.0)
    for name, value in divisors.items():
        check_real(name, value)
        check_positive(name, value)


def cosine_onecycle(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """One cycle (cosine pieces): ``peak / div_factor`` up to ``peak`` over ``pct_start`` of the steps, then down.

    It ends at ``peak / (div_factor * final_div_factor)`` (Smith & Topin's one-cycle, optax's
    ``cosine_onecycle_schedule``).

    Example:
        >>> s = cosine_onecycle(10, 1.0, pct_start=0.2, div_factor=10.0, final_div_factor=1.0)
        >>> [round(s(i), 3) for i in (0, 1, 2, 6, 10)]
        [0.1, 0.55, 1.0, 0.55, 0.1]
    """
    n = _onecycle_length(transition_steps)
    _onecycle_args({"pct_start": pct_start}, {"div_factor": div_factor, "final_div_factor": final_div_factor})
    table = {int(pct_start * n): div_factor, n: 1.0 / (div_factor * final_div_factor)}
    return piecewise_interpolate("cosine", check_real("peak_value", peak_value) / div_factor, table)


def linear_onecycle(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """One cycle (linear pieces): up to ``peak`` by ``pct_start``, back to the start by ``pct_final``, then down.

    It ends at ``peak / (div_factor * final_div_factor)`` (optax's ``linear_onecycle_schedule``).

    Example:
        >>> s = linear_onecycle(10, 1.0, pct_start=0.2, pct_final=0.6, div_factor=10.0, final_div_factor=1.0)
        >>> [round(s(i), 3) for i in (0, 1, 2, 4, 6, 10)]
        [0.1, 0.55, 1.0, 0.55, 0.1, 0.1]
    """
    n = _onecycle_length(transition_steps)
    fractions = {"pct_start": pct_start, "pct_final": pct_final}
    _onecycle_args(fractions, {"div_factor": div_factor, "final_div_factor": final_div_factor})
    table = {int(pct_start * n): div_factor, int(pct_final * n): 1.0 / div_factor, n: 1.0 / final_div_factor}
    return piecewise_interpolate("linear", check_real("peak_value", peak_value) / div_factor, table)


def warmup_constant(init_value: float, peak_value: float, warmup_steps: int) -> Schedule:
    """Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then flat.

    Example:
        >>> [warmup_constant(0.0, 1.0, 2)(i) for i in range(4)]
        [0.0, 0.5, 1.0, 1.0]
    """
    check_real("peak_value", peak_value)  # named as the caller wrote it, not as linear's end_value
    return linear(init_value, peak_value, check_positive_int("warmup_steps", warmup_steps))


def warmup_exponential_decay(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """Linear warmup to ``peak_value``, then `exponential_decay` of ``peak_value`` counted from the warmup's end.

    Example:
        >>> s = warmup_exponential_decay(0.0, 1.0, 2, transition_steps=1, decay_rate=0.5)
        >>> [s(i) for i in range(5)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    check_real("peak_value", peak_value)  # named as the caller wrote it, not as linear's end_value
    warm = linear(init_value, peak_value, max(check_non_negative_int("warmup_steps", warmup_steps), 1))
    decay = exponential_decay(peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value)
    return join([warm, decay], [warmup_steps])


def sgdr(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """Warm restarts: one `warmup_cosine_decay` per entry of ``cosine_kwargs``, each after the last ends.

    Each dict holds [`warmup_cosine_decay`][optimtx.schedules.warmup_cosine_decay]'s arguments; each piece lasts its
    ``decay_steps``
    (Loshchilov & Hutter's SGDR, optax's ``sgdr_schedule``).

    Example:
        >>> piece = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=2)
        >>> [sgdr([piece, piece])(i) for i in range(4)]
        [0.0, 1.0, 0.0, 1.0]
    """
    pieces = [dict(kwargs) for kwargs in cosine_kwargs]
    if not pieces:
        raise ValueError("sgdr() needs at least one dict of warmup_cosine_decay arguments in cosine_kwargs.")
    ends = list(itertools.accumulate(check_positive_int("decay_steps", p.get("decay_steps")) for p in pieces))
    return join([warmup_cosine_decay(**p) for p in pieces], ends[:-1])
