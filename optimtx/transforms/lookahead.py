"""Lookahead: an inner ("fast") optimizer whose weights are pulled towards slow weights every k steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, find_one, zero_counter
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_positive_int, check_unit_interval
from optimtx.transforms.kernels import loop_invariant, scalar_list
from optimtx.transforms.weight_decay import require_params

__all__ = ["LookaheadState", "get_slow_params", "lookahead"]


class LookaheadState(NamedTuple):
    """State of [`lookahead`][optimtx.lookahead].

    Attributes:
        steps_since_sync: fast steps since the last synchronisation (int64 0-d, in ``[0, sync_period)``).
        slow: the slow weights, one tensor per parameter (what [`get_slow_params`][optimtx.get_slow_params] returns).
        inner_state: the state of the fast optimizer.
    """

    steps_since_sync: Tensor
    slow: dict[str, Tensor]
    inner_state: State


def lookahead(
    inner: GradientTransformation, sync_period: int, slow_step_size: float | Tensor
) -> GradientTransformation:
    """Run ``inner`` on the parameters (the fast weights); every ``sync_period`` steps, move the slow weights
    ``slow_step_size`` of the way towards the fast ones and restart the fast weights from there.

    Unlike optax, which keeps both copies in the params (``LookaheadParams(fast, slow)``),
    the slow weights live in this transform's state, so the params are plain fast weights
    and ``lookahead`` works inside [`optimtx.TransformOptimizer`][optimtx.TransformOptimizer] and configs. The
    arithmetic is optax's: with ``u`` the inner update and ``s = 1`` on a sync step (else 0),
    ``d = p + u - slow``, the slow weights move by ``slow_step_size * s * d`` and the
    parameters by ``u - s * (1 - slow_step_size) * d``. Right after a sync step the fast
    and slow weights are equal; in between, evaluate with [`get_slow_params`][optimtx.get_slow_params] (or
    ``optimtx.eval_params(optimizer)`` in the facade) for the paper's slow weights.

    Args:
        inner: the fast optimizer (e.g. ``optimtx.adam(1e-3)``).
        sync_period: fast steps between synchronisations (int >= 1).
        slow_step_size: how far the slow weights move towards the fast ones, in [0, 1].

    References:
        Zhang et al., "Lookahead Optimizer: k steps forward, 1 step back" (2019),
        https://arxiv.org/abs/1907.08610. optax: ``optax.lookahead``.

    Example:
        >>> import optimtx as otx
        >>> tx = lookahead(otx.sgd(1.0), sync_period=2, slow_step_size=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> state = tx.init(p)
        >>> for _ in range(2):
        ...     u, state = tx.update({"w": -torch.ones(1)}, state, p)
        ...     p = otx.apply_updates(p, u)
        >>> p, get_slow_params(state)  # fast went 0 -> 1 -> 2, then both synced to 0 + 0.5 * 2
        ({'w': tensor([1.])}, {'w': tensor([1.])})
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"lookahead() needs a GradientTransformation as inner, got {inner!r}.")
    check_positive_int("sync_period", sync_period)
    check_unit_interval("slow_step_size", slow_step_size, closed_right=True)

    def init(params: Params) -> LookaheadState:
        check_params(params)
        slow = copy_tree(params)
        return LookaheadState(steps_since_sync=zero_counter(params), slow=slow, inner_state=inner.init(params))

    def update(
        updates: Updates, state: LookaheadState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], LookaheadState]:
        check_state(state, LookaheadState, "lookahead")
        ps = matched_leaves(require_params(params, "lookahead"), state.slow, "params")
        matched_leaves(updates, state.slow, keep_dtype=True)  # refused before the inner optimizer runs
        fast_updates, inner_state = inner.update(updates, state.inner_state, params, **extra)
        us = matched_leaves(fast_updates, state.slow)  # in the parameters' dtypes
        steps = (state.steps_since_sync + 1) % sync_period
        if not us:
            return {}, LookaheadState(steps, {}, inner_state)
        slow = leaves(state.slow)
        sync = (steps == 0).to(torch.promote_types(ps[0].dtype, torch.float32))
        fast = list(torch._foreach_add(ps, us))
        # slow + s * a * (fast - slow), as a lerp (exact at weights 0 and 1); then the parameters move by
        # u + s * (new_slow - fast): new_slow - p on a sync step, u otherwise.
        new_slow = list(torch._foreach_lerp(slow, fast, scalar_list(loop_invariant(sync * slow_step_size), slow)))
        new_updates = list(torch._foreach_sub(new_slow, fast))
        torch._foreach_mul_(new_updates, scalar_list(loop_invariant(sync), new_updates))
        torch._foreach_add_(new_updates, us)
        new_state = LookaheadState(steps, rebuild(updates, new_slow), inner_state)
        return rebuild(updates, new_updates), new_state

    return GradientTransformation(init, update)


def get_slow_params(state: State) -> Tree:
    """The slow weights kept by the one `lookahead` inside ``state`` (the tensors themselves; clone to keep).

    Example:
        >>> import optimtx as otx
        >>> tx = lookahead(otx.sgd(0.1), sync_period=5, slow_step_size=0.5)
        >>> get_slow_params(tx.init({"w": torch.ones(2)}))
        {'w': tensor([1., 1.])}
    """
    return dict(find_one(state, LookaheadState, "lookahead(...)").slow)
