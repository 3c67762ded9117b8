"""Sharpness-aware minimisation (SAM) around any pair of optimizers, in optax's "transparent" form.

Steps alternate: ``sync_period - 1`` adversarial steps move the parameters uphill with
``adv_optimizer``, then one outer step applies ``optimizer`` (fed the gradient at the perturbed
point) from the cached starting parameters. Every step runs both optimizers and keeps the
results that step needs (a choice on the device, so nothing is read back to the host).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, State, Updates, checked_empty_init
from optimtx.core.state_tree import check_state, select, zero_counter
from optimtx.core.tree import Tree, copy_tree, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_bool, check_int_at_least
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms._moment_rules import squared_norm, step_factor
from optimtx.transforms.kernels import mul
from optimtx.transforms.weight_decay import require_params

__all__ = ["SAMState", "normalize_to_unit_norm", "sam"]


def normalize_to_unit_norm() -> GradientTransformation:
    """Divide the updates by their global L2 norm (SAM's adversarial direction; NaN for all-zero updates).

    References:
        optax: ``optax.contrib.normalize``.

    Example:
        >>> tx = normalize_to_unit_norm()
        >>> tx.update({"a": torch.tensor([3.0]), "b": torch.tensor([4.0])}, tx.init({}))[0]
        {'a': tensor([0.6000]), 'b': tensor([0.8000])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del extra
        check_state(state, EmptyState, "normalize_to_unit_norm")
        us = matched_to_params(updates, params)
        if not us:
            return {}, state
        return rebuild(updates, mul(us, step_factor(1 / squared_norm(us).sqrt(), us))), state

    return GradientTransformation(checked_empty_init, update)


class SAMState(NamedTuple):
    """State of `sam` (optax's field names).

    Attributes:
        steps_since_sync: the position in the ``sync_period`` cycle (int64 0-d tensor).
        opt_state: the outer optimizer's state.
        adv_state: the adversarial optimizer's state.
        cache: the parameters at the start of the cycle.
    """

    steps_since_sync: Tensor
    opt_state: State
    adv_state: State
    cache: dict[str, Tensor]


def sam(
    optimizer: GradientTransformation,
    adv_optimizer: GradientTransformation,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
) -> GradientTransformation:
    """SAM: ``sync_period - 1`` adversarial ascent steps, then one descent step from the cached point.

    ``adv_optimizer``'s updates are negated (ascent; ``chain(normalize_to_unit_norm(), sgd(rho))`` is
    the paper's ``rho``-ball step). On the last step of each cycle the update is
    ``cache - params + optimizer_update`` (computed with the cached parameters), which returns to
    the cycle's start and takes the outer step there. With ``reset_state`` the adversarial state
    restarts each cycle. ``update`` needs ``params``.

    Args:
        optimizer: the outer optimizer.
        adv_optimizer: the adversarial optimizer.
        sync_period: steps per cycle (>= 1).
        reset_state: restart ``adv_optimizer`` after each cycle.
        opaque_mode: optax's variant that calls a ``grad_fn`` inside ``update``; not offered here
            (``True`` is refused; use the transparent form, one gradient per step).
        batch_axis_name: a JAX ``pmap`` axis; only ``None`` (use torch.distributed for data parallelism).

    References:
        Foret et al., 2021, *Sharpness-Aware Minimization* (ICLR); optax: ``optax.contrib.sam``.

    Example:
        >>> from optimtx.transforms.optimizers import sgd
        >>> tx = sam(sgd(0.1), sgd(1.0))
        >>> p = {"w": torch.zeros(1)}
        >>> u, state = tx.update({"w": torch.ones(1)}, tx.init(p), p)  # ascent: +1
        >>> u, tx.update({"w": torch.full((1,), 3.0)}, state, {"w": torch.ones(1)})[0]  # back, then -0.1 * 3
        ({'w': tensor([1.])}, {'w': tensor([-1.3000])})
    """
    for name, tx in (("optimizer", optimizer), ("adv_optimizer", adv_optimizer)):
        if not isinstance(tx, GradientTransformation):
            raise TypeError(f"sam needs a GradientTransformation as {name}, got {tx!r}.")
    sync_period = check_int_at_least("sync_period", sync_period, 1)
    check_bool("reset_state", reset_state)
    if check_bool("opaque_mode", opaque_mode):
        raise ValueError("opaque_mode=True is not offered (it calls a grad_fn inside update); use opaque_mode=False.")
    if batch_axis_name is not None:
        raise ValueError(f"batch_axis_name={batch_axis_name!r} names a JAX pmap axis; pass None.")

    def init(params: Params) -> SAMState:
        state = SAMState(zero_counter(params), optimizer.init(params), adv_optimizer.init(params), copy_tree(params))
        return state

    def update(updates: Updates, state: SAMState, params: Params | None = None, **extra: Any) -> tuple[Tree, SAMState]:
        check_state(state, SAMState, "sam")
        params = require_params(params, "sam")
        first, last = state.steps_since_sync == 0, state.steps_since_sync == sync_period - 1
        adv_updates, adv_state = adv_optimizer.update(updates, state.adv_state, params, **extra)
        opt_updates, opt_state = optimizer.update(updates, state.opt_state, state.cache, **extra)
        ps, cache = matched_leaves(params, state.cache, "params"), leaves(state.cache)
        back = torch._foreach_add(torch._foreach_sub(cache, ps), matched_leaves(opt_updates, state.cache))
        ascent = torch._foreach_neg(matched_leaves(adv_updates, state.cache))
        out = select(last, tuple(back), tuple(ascent))
        restart = adv_optimizer.init(params) if reset_state else state.adv_state
        new_state = SAMState(
            (state.steps_since_sync + 1) % sync_period,
            select(last, opt_state, state.opt_state),
            select(last, restart, adv_state),
            rebuild(updates, list(select(first, tuple(ps), tuple(cache)))),
        )
        return rebuild(updates, list(out)), new_state

    return GradientTransformation(init, update)
