"""Skipping updates whose gradient norm spikes above the recent applied norms, without a host sync."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_leaves, global_norm
from optimtx.core.validation import check_positive, check_positive_int
from optimtx.transforms.finite import guarded_update

__all__ = [
    "SkipIfSpikeState",
    "SpikeWindow",
    "check_spike_args",
    "init_spike_window",
    "skip_if_spike",
    "spike_decision",
]


class SpikeWindow(NamedTuple):
    """The running record of applied gradient norms that `spike_decision` reads and updates.

    Attributes:
        norms: the last ``window`` applied norms (float32, ring buffer; zeros until filled).
        position: where the next applied norm goes, 0..window-1 (int64 0-d).
        applied: applied steps recorded so far (int64 0-d; the window is full once it reaches ``window``).
        skipped_steps: steps skipped so far, spikes and non-finite norms together (int64 0-d).
        last_norm: the gradient norm of the last step (float32 0-d; NaN before the first).
        last_applied: whether the last step was applied (bool 0-d; True before the first).
    """

    norms: Tensor
    position: Tensor
    applied: Tensor
    skipped_steps: Tensor
    last_norm: Tensor
    last_applied: Tensor


def init_spike_window(window: int, device: torch.device | str | None = None) -> SpikeWindow:
    """An empty `SpikeWindow` for ``window`` norms on ``device``.

    Example:
        >>> init_spike_window(3).norms
        tensor([0., 0., 0.])
    """
    zero = torch.zeros((), dtype=torch.int64, device=device)
    return SpikeWindow(
        norms=torch.zeros(window, dtype=torch.float32, device=device),
        position=zero,
        applied=zero.clone(),
        skipped_steps=zero.clone(),
        last_norm=torch.full((), float("nan"), dtype=torch.float32, device=device),
        last_applied=torch.ones((), dtype=torch.bool, device=device),
    )


def spike_decision(record: SpikeWindow, norm: Tensor, threshold: float) -> tuple[Tensor, SpikeWindow]:
    """Whether to skip a step of gradient norm ``norm``, and the record after it.

    A step is skipped when ``norm`` is inf or NaN, or when the window is full and
    ``norm > threshold * mean(window)``. Only applied norms enter the window. All on the
    device, with ``torch.where``: no host sync, compile-able.

    Example:
        >>> record = init_spike_window(1)
        >>> skip, record = spike_decision(record, torch.tensor(1.0), 2.0)  # warm-up: applied
        >>> skip, record = spike_decision(record, torch.tensor(5.0), 2.0)
        >>> skip, record.skipped_steps
        (tensor(True), tensor(1))
    """
    window = record.norms.shape[0]
    norm = norm.detach().to(record.norms.device, torch.float32)
    full = record.applied >= window
    mean = record.norms.sum() / window
    spike = full & (norm > threshold * mean)
    skip = spike | ~torch.isfinite(norm)
    take = ~skip
    slot = torch.arange(window, device=record.norms.device) == record.position
    step = take.to(torch.int64)
    return skip, SpikeWindow(
        norms=torch.where(slot & take, norm, record.norms),
        position=(record.position + step) % window,
        applied=record.applied + step,
        skipped_steps=record.skipped_steps + skip.to(torch.int64),
        last_norm=norm,
        last_applied=take,
    )


def check_spike_args(threshold: Any, window: Any) -> tuple[float, int]:
    """Check ``skip_if_spike``'s arguments: ``threshold`` > 0 (a number), ``window`` an int >= 1.

    Example:
        >>> check_spike_args(4.0, 10)
        (4.0, 10)
        >>> check_spike_args(0, 10)
        Traceback (most recent call last):
        ...
        ValueError: Invalid threshold: 0. It must be a number > 0.
    """
    if isinstance(threshold, Tensor):
        raise TypeError(f"threshold must be a Python number, got a tensor {threshold!r}.")
    check_positive("threshold", threshold)
    check_positive_int("window", window)
    return float(threshold), int(window)


class SkipIfSpikeState(NamedTuple):
    """State of [`skip_if_spike`][optimtx.skip_if_spike].

    Attributes:
        record: the applied-norm window and the counters (`SpikeWindow`).
        inner_state: the wrapped transform's state (unchanged by skipped steps).
    """

    record: SpikeWindow
    inner_state: State


def skip_if_spike(inner: GradientTransformation, threshold: float, window: int) -> GradientTransformation:
    """Apply ``inner`` except on steps whose gradient norm spikes (or is inf/NaN).

    A step is skipped (zero updates, ``inner``'s state unchanged) when the global 2-norm
    of the incoming updates exceeds ``threshold`` times the mean of the last ``window``
    *applied* norms, or is not finite. Warm-up: no spike is detected until ``window``
    steps were applied (non-finite norms are skipped from the start). Skipped norms never
    enter the window, so a run of spikes cannot raise the bar for itself.
    ``state.record.skipped_steps`` counts skips, ``state.record.last_applied`` tells
    whether the last step was applied.

    Args:
        inner: the transform to guard (e.g. ``adamw(1e-3)``).
        threshold: a number > 0; skip when ``norm > threshold * mean``.
        window: how many applied norms the mean covers (int >= 1).

    References:
        Spike skipping as used in large-model training, e.g. Chowdhery et al. 2022, "PaLM" (skipping
        batches around loss spikes); optax's ``apply_if_finite`` for the skip mechanics.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = skip_if_spike(scale(-1.0), threshold=3.0, window=1)
        >>> state = tx.init({"w": torch.zeros(1)})
        >>> _, state = tx.update({"w": torch.tensor([1.0])}, state)
        >>> u, state = tx.update({"w": torch.tensor([10.0])}, state)
        >>> u, state.record.skipped_steps
        ({'w': tensor([0.])}, tensor(1))
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"skip_if_spike() needs a GradientTransformation as inner, got {inner!r}.")
    threshold, window = check_spike_args(threshold, window)

    def init(params: Params) -> SkipIfSpikeState:
        device = zero_counter(params).device
        return SkipIfSpikeState(init_spike_window(window, device), inner.init(params))

    def update(
        updates: Updates, state: SkipIfSpikeState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, SkipIfSpikeState]:
        check_state(state, SkipIfSpikeState, "skip_if_spike")
        if not check_leaves(updates):
            return {}, state
        norm = global_norm(updates).float()
        skip, record = spike_decision(state.record, norm, threshold)
        new_updates, inner_state = guarded_update(skip, inner, updates, state.inner_state, params, extra)
        return new_updates, SkipIfSpikeState(record, inner_state)

    return GradientTransformation(init, update)
