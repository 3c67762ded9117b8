"""Recording measurements of the updates in the state: ``snapshot``, ``monitor``, ``measure_with_ema``.

The updates pass through unchanged; what was measured sits in the state, where a training loop reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, State, Updates, chain, empty_init
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, check_params, rebuild
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms.ema import ema
from optimtx.transforms.wrapping import stateless

__all__ = ["Measure", "MonitorState", "SnapshotState", "measure_with_ema", "monitor", "snapshot"]

Measure = Callable[[Updates], Any]


class SnapshotState(NamedTuple):
    """State of `snapshot`.

    Attributes:
        measurement: ``{measure_name: measure(updates)}`` for the last updates (for the params after ``init``).
    """

    measurement: dict[str, Any]


def snapshot(measure_name: str, measure: Measure) -> GradientTransformation:
    """Keep ``measure(updates)`` of the latest updates in the state, under ``measure_name``.

    References:
        optax: ``optax.snapshot``.

    Example:
        >>> from optimtx.tree import global_norm
        >>> tx = snapshot("norm", global_norm)
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({"w": torch.zeros(2)}))[1].measurement
        {'norm': tensor(5.)}
    """
    if not isinstance(measure_name, str) or not callable(measure):
        raise TypeError(f"snapshot() needs a name (str) and a callable, got {measure_name!r} and {measure!r}.")

    def init(params: Params) -> SnapshotState:
        check_params(params)
        return SnapshotState({measure_name: measure(params)})

    def update(
        updates: Updates, state: SnapshotState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, SnapshotState]:
        del extra
        check_state(state, SnapshotState, "snapshot")
        measured = updates if params is None else rebuild(updates, matched_to_params(updates, params))
        return dict(updates), SnapshotState({measure_name: measure(measured)})

    return GradientTransformation(init, update)


class MonitorState(NamedTuple):
    """State of `monitor`.

    Attributes:
        measurements: ``{name: measurement}`` of the last update (after ``init``: of zero updates, so the
            state keeps one structure).
        measure_states: the states of the measures that are transforms, in the order given.
    """

    measurements: dict[str, Any]
    measure_states: tuple[State, ...]


def _measuring(measure: Measure) -> GradientTransformation:
    """A stateless transform whose output is ``measure(updates)``, whatever it returns."""

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Any, EmptyState]:
        del params, extra
        return measure(updates), state

    return GradientTransformation(empty_init, update)


def _as_measure(measure: Any) -> GradientTransformation:
    if isinstance(measure, GradientTransformation):
        return measure
    if callable(measure):
        return _measuring(measure)
    raise TypeError(f"monitor() measures must be callables or GradientTransformations, got {measure!r}.")


def monitor(measures: Mapping[str, GradientTransformation | Measure]) -> GradientTransformation:
    """Record several measurements of the updates: callables of the updates, or transforms whose output is kept.

    A transform measure (e.g. [`measure_with_ema`][optimtx.transforms.monitoring.measure_with_ema]) keeps its own
    state in ``measure_states``; its output is the measurement.

    References:
        optax: ``optax.monitor``.

    Example:
        >>> from optimtx.tree import global_norm
        >>> tx = monitor({"norm": global_norm})
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({"w": torch.zeros(2)}))[1].measurements
        {'norm': tensor(5.)}
    """
    if not isinstance(measures, Mapping):
        raise TypeError(f"monitor() needs a dict name -> measure, got {measures!r}.")
    txs = {name: _as_measure(m) for name, m in measures.items()}

    def init(params: Params) -> MonitorState:
        check_params(params)
        states = tuple(tx.init(params) for tx in txs.values())
        zeros = {k: torch.zeros_like(v) for k, v in params.items()}
        first = {name: tx.update(zeros, s, params)[0] for (name, tx), s in zip(txs.items(), states, strict=True)}
        return MonitorState(first, states)

    def update(
        updates: Updates, state: MonitorState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MonitorState]:
        check_state(state, MonitorState, "monitor")
        matched_to_params(updates, params)
        measurements, states = {}, []
        for (name, tx), s in zip(txs.items(), state.measure_states, strict=True):
            measurements[name], s = tx.update(updates, s, params, **extra)
            states.append(s)
        return dict(updates), MonitorState(measurements, tuple(states))

    return GradientTransformation(init, update)


def _as_tree(value: Any) -> dict[str, Tensor]:
    return dict(value) if isinstance(value, Mapping) else {"value": torch.as_tensor(value)}


def measure_with_ema(
    measure: Measure, decay: float | Tensor, debias: bool = True, accumulator_dtype: torch.dtype | str | None = None
) -> GradientTransformation:
    """A transform whose output is the moving average of ``measure(updates)`` (see [`ema`][optimtx.ema]).

    Meant as a measure inside [`monitor`][optimtx.transforms.monitoring.monitor]. A measure that returns a tensor
    is averaged as ``{"value": tensor}``; one that returns a dict of tensors, key by key.

    References:
        optax: ``optax.measure_with_ema``.

    Example:
        >>> from optimtx.tree import global_norm
        >>> tx = monitor({"norm": measure_with_ema(global_norm, 0.5)})
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({"w": torch.zeros(2)}))[1].measurements
        {'norm': {'value': tensor(5.)}}
    """
    if not callable(measure):
        raise TypeError(f"measure_with_ema() needs a callable measure, got {measure!r}.")
    averaged = ema(decay, debias, accumulator_dtype)
    measured = averaged._replace(init=lambda params: averaged.init(_as_tree(measure(params))))
    return chain(stateless(lambda u, _p: _as_tree(measure(u))), measured)
