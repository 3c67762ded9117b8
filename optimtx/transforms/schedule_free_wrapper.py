"""Schedule-free averaging around any base optimizer (optax.contrib's generic ``schedule_free``).

The interpolation and averaging steps are those of
[`schedule_free_sgd`][optimtx.schedule_free_sgd] and [`schedule_free_adamw`][optimtx.schedule_free_adamw]
(one implementation, in ``optimtx.transforms.schedule_free``); here the base optimizer's update
plays the part of ``-lr * d`` in the ``z`` sequence.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, copy_tree, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_non_negative, check_state_dtype, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, at_step
from optimtx.transforms.schedule_free import (
    ScheduleFreeState,
    _as,
    _averaging,
    _check_interpolation,
    _compute_dtype,
    _refuse_complex,
    _y_and_z_steps,
)
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScheduleFreeWrapperState", "schedule_free_wrapper"]


class ScheduleFreeWrapperState(NamedTuple):
    """State of `schedule_free_wrapper`.

    Attributes:
        schedule_free: the averaging state (``z``, step count, ``lr_max``, weight sum; no ``nu``),
            which [`schedule_free_eval_params`][optimtx.schedule_free_eval_params] reads.
        base_optimizer_state: the wrapped optimizer's state.
    """

    schedule_free: ScheduleFreeState
    base_optimizer_state: State


def schedule_free_wrapper(
    base_optimizer: GradientTransformation,
    lr: Hyper | Schedule,
    b1: Hyper = 0.9,
    weight_lr_power: Hyper = 2.0,
    state_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Make ``base_optimizer`` schedule-free: its updates drive ``z``, the parameters follow the average.

    With ``u`` the base optimizer's update (which includes its own learning rate):
    ``z' = z + u``, ``x' = (1 - c) x + c z'`` and the parameters become ``b1 x' + (1 - b1) z'``,
    where ``c = lr_max**p / sum(lr_max**p)`` averages with the largest ``lr`` seen so far
    (``lr`` may be a schedule of the step count, starting at 1). ``update`` needs ``params``;
    evaluate at [`schedule_free_eval_params`][optimtx.schedule_free_eval_params].
    Complex parameters are refused at ``init``, as by the other schedule-free optimizers (the
    schedulefree reference supports real parameters only): optimize their real views instead.

    Args:
        base_optimizer: the optimizer whose steps are averaged (e.g. ``sgd(1.0)``).
        lr: the learning rate used for the averaging weights (give the base optimizer's).
        b1: interpolation between ``x`` and ``z``, in (0, 1).
        weight_lr_power: the power of ``lr_max`` in the averaging weights (>= 0).
        state_dtype: dtype ``z`` is stored in; ``None``: the parameters' dtype.

    References:
        Defazio et al., 2024, *The Road Less Scheduled* (arXiv:2405.15682);
        optax: ``optax.contrib.schedule_free``.

    Example:
        >>> from optimtx.transforms.optimizers import sgd
        >>> tx = schedule_free_wrapper(sgd(1.0), lr=1.0, b1=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.ones(1)}, tx.init(p), p)[0]  # the first average is z itself
        {'w': tensor([-1.])}
    """
    if not isinstance(base_optimizer, GradientTransformation):
        raise TypeError(f"schedule_free needs a GradientTransformation as base_optimizer, got {base_optimizer!r}.")
    check_non_negative("lr", lr, schedule=True)
    check_unit_interval("b1", b1)
    _check_interpolation("b1", b1)
    check_non_negative("weight_lr_power", weight_lr_power)
    state_dtype = check_state_dtype("state_dtype", state_dtype)

    def init(params: Params) -> ScheduleFreeWrapperState:
        _refuse_complex(params)
        count = zero_counter(params)
        scalar = torch.zeros((), dtype=torch.float64, device=count.device)
        averaging = ScheduleFreeState(
            step_count=count,
            b1=scalar + torch.as_tensor(b1, dtype=torch.float64, device=count.device),
            lr_max=scalar.clone(),
            weight_sum=scalar.clone(),
            z=copy_tree(params, state_dtype),
            nu={},
        )
        return ScheduleFreeWrapperState(averaging, base_optimizer.init(params))

    def update(
        updates: Updates, state: ScheduleFreeWrapperState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScheduleFreeWrapperState]:
        check_state(state, ScheduleFreeWrapperState, "schedule_free")
        params = require_params(params, "schedule_free")
        sf = state.schedule_free
        steps, base_state = base_optimizer.update(updates, state.base_optimizer_state, params, **extra)
        ps = matched_leaves(params, sf.z, "params", keep_dtype=True)
        us = matched_leaves(steps, sf.z, keep_dtype=True)
        lr_now = at_step(lr, sf.step_count + 1)  # optax's schedule-free count starts at 1
        _, lr_max, weight_sum, ck = _averaging(sf, lr_now, 0, weight_lr_power)
        new_sf = sf._replace(step_count=sf.step_count + 1, lr_max=lr_max, weight_sum=weight_sum)
        if not ps:
            return {}, ScheduleFreeWrapperState(new_sf, base_state)
        compute = [_compute_dtype(p.dtype, state_dtype) for p in ps]
        ys, zs, direction = _as(ps, compute), _as(leaves(sf.z), compute), _as(us, compute)
        # The base step u enters as "-lr_k * d" with lr_k = -1: z' = z + u (see _y_and_z_steps).
        minus_one = torch.full((), -1.0, dtype=torch.float64, device=ck.device)
        out, new_z = _y_and_z_steps(zs, ys, direction, minus_one, ck, sf.b1)
        new_sf = new_sf._replace(z=rebuild(updates, _as(new_z, [state_dtype or p.dtype for p in ps])))
        return rebuild(updates, _as(out, [p.dtype for p in ps])), ScheduleFreeWrapperState(new_sf, base_state)

    return GradientTransformation(init, update)
