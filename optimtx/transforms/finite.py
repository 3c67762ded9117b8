"""Skipping steps whose gradients hold inf or NaN, without reading anything back to the host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, select, zero_counter
from optimtx.core.tree import Tree, check_leaves, leaves, rebuild
from optimtx.core.validation import check_non_negative_int

__all__ = ["ApplyIfFiniteState", "apply_if_finite", "found_nonfinite", "guarded_update", "zeros_where_skipped"]


def found_nonfinite(tensors: list[Tensor]) -> Tensor:
    """1.0 (float32 0-d tensor) if any element of ``tensors`` is inf or NaN, else 0.0.

    ``x * 0`` is 0 for a finite ``x`` and NaN otherwise, so one batched norm per tensor
    tells them apart; the answer stays on the device.

    Example:
        >>> found_nonfinite([torch.ones(2), torch.tensor([1.0, float("inf")])])
        tensor(1.)
    """
    if not tensors:
        return torch.zeros((), dtype=torch.float32)
    device = tensors[0].device
    norms = torch._foreach_norm(torch._foreach_mul(tensors, 0.0), 1)
    nan = torch.isnan(torch.stack([n.to(device, torch.float32) for n in norms]))
    return nan.any().to(torch.float32)


def zeros_where_skipped(skip: Tensor, updates: list[Tensor]) -> list[Tensor]:
    """``updates`` with every tensor replaced by zeros when the 0-d bool ``skip`` holds.

    Example:
        >>> zeros_where_skipped(torch.tensor(True), [torch.tensor([float("nan")])])
        [tensor([0.])]
    """
    return [torch.where(skip.to(u.device), torch.zeros((), dtype=u.dtype, device=u.device), u) for u in updates]


def guarded_update(
    skip: Tensor,
    inner: GradientTransformation,
    updates: Mapping[str, Tensor],
    inner_state: State,
    params: Params | None,
    extra: dict[str, Any],
) -> tuple[Tree, State]:
    """Run ``inner``, then keep its result only where ``skip`` is False.

    When ``skip`` holds the result is zero updates and ``inner_state`` unchanged.
    ``inner`` always runs (its output is discarded on the device), because deciding on
    the host would need a sync.

    Example:
        >>> from optimtx.core.base import EmptyState
        >>> from optimtx.transforms.scaling import scale
        >>> guarded_update(torch.tensor(True), scale(2.0), {"w": torch.ones(1)}, EmptyState(), None, {})
        ({'w': tensor([0.])}, EmptyState())
    """
    new_updates, new_state = inner.update(updates, inner_state, params, **extra)
    kept = zeros_where_skipped(skip, leaves(new_updates))
    return rebuild(new_updates, kept), select(skip, inner_state, new_state)


class ApplyIfFiniteState(NamedTuple):
    """State of [`apply_if_finite`][optimtx.apply_if_finite].

    Attributes:
        notfinite_count: consecutive skipped steps up to now (int64 0-d; 0 after a finite step).
        total_notfinite: all skipped steps so far (int64 0-d).
        last_finite: whether the last step's gradients were all finite (bool 0-d).
        inner_state: the wrapped transform's state (unchanged by skipped steps).
    """

    notfinite_count: Tensor
    total_notfinite: Tensor
    last_finite: Tensor
    inner_state: State


def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int | None = None) -> GradientTransformation:
    """Apply ``inner`` only on steps whose incoming updates are all finite.

    A step with any inf or NaN gives zero updates and leaves ``inner``'s state as it
    was; the counters in [`ApplyIfFiniteState`][optimtx.ApplyIfFiniteState] record it. With
    ``max_consecutive_errors=None`` every non-finite step is skipped; with a number ``n``,
    as in optax, the ``n + 1``-th non-finite step in a row (and every one after it) is
    applied anyway, non-finite values and all.

    References:
        optax: ``optax.apply_if_finite``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = apply_if_finite(scale(-1.0))
        >>> state = tx.init({"w": torch.ones(1)})
        >>> u, state = tx.update({"w": torch.tensor([float("nan")])}, state)
        >>> u, state.total_notfinite
        ({'w': tensor([0.])}, tensor(1))
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"apply_if_finite() needs a GradientTransformation, got {inner!r}.")
    limit = (
        None
        if max_consecutive_errors is None
        else check_non_negative_int("max_consecutive_errors", max_consecutive_errors)
    )

    def init(params: Params) -> ApplyIfFiniteState:
        zero = zero_counter(params)
        return ApplyIfFiniteState(zero, zero.clone(), torch.ones_like(zero, dtype=torch.bool), inner.init(params))

    def update(
        updates: Updates, state: ApplyIfFiniteState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ApplyIfFiniteState]:
        check_state(state, ApplyIfFiniteState, "apply_if_finite")
        nonfinite = found_nonfinite(check_leaves(updates)) > 0
        bad = nonfinite.to(torch.int64)
        skip = nonfinite if limit is None else nonfinite & ((state.notfinite_count + 1) * bad <= limit)
        new_updates, inner_state = guarded_update(skip, inner, updates, state.inner_state, params, extra)
        return new_updates, ApplyIfFiniteState(
            notfinite_count=(state.notfinite_count + 1) * bad,
            total_notfinite=state.total_notfinite + bad,
            last_finite=~nonfinite,
            inner_state=inner_state,
        )

    return GradientTransformation(init, update)
