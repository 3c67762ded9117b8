"""MADGRAD: momentumized, adaptive dual averaging (Defazio & Jelassi, 2021)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, has_complex, on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_non_negative, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, at_step, step_factor
from optimtx.transforms.kernels import add, add_scaled, decay_add_square, lerp
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.weight_decay import add_decayed_weights, require_params

__all__ = ["MadgradState", "madgrad", "scale_by_madgrad"]


class MadgradState(NamedTuple):
    """State of `scale_by_madgrad` (optax's field names).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        grad_sum_sq: the weighted sum of squared gradients.
        s: the weighted sum of gradients.
        x0: the initial parameters.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    grad_sum_sq: dict[str, Tensor]
    s: dict[str, Tensor]
    x0: dict[str, Tensor]


def scale_by_madgrad(
    lr: float | Tensor | Schedule = 1e-2, momentum: Hyper = 0.9, eps: Hyper = 1e-6
) -> GradientTransformation:
    """MADGRAD's whole step (the learning rate is part of the rule): the output moves ``p`` to ``x_{k+1}``.

    With ``lam = (lr + eps) * sqrt(k + 1)``: ``S = S + lam * g**2``, ``s = s + lam * g``,
    ``z = x0 - s / (cbrt(S) + eps)`` and ``x_{k+1} = (1 - momentum) * z + momentum * p``.
    ``update`` needs ``params``. ``sqrt(k + 1)`` is taken in float32, as optax does.

    Args:
        lr: learning rate (number, 0-d tensor or schedule of the step count).
        momentum: weight of the current parameters in the average, in [0, 1).
        eps: added to the learning rate and to the denominator (>= 0).

    References:
        Defazio & Jelassi, 2021, *Adaptivity without Compromise* (arXiv:2101.11075);
        optax: ``optax.contrib.scale_by_madgrad``.

    Example:
        >>> tx = scale_by_madgrad(1.0, momentum=0.0, eps=0.0)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([8.0])}, tx.init(p), p)[0]  # -8 / cbrt(64)
        {'w': tensor([-2.])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_unit_interval("momentum", momentum)
    check_non_negative("eps", eps)

    def init(params: Params) -> MadgradState:
        check_params(params)
        return MadgradState(zero_counter(params), zeros_like(params), zeros_like(params), copy_tree(params))

    def update(
        updates: Updates, state: MadgradState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MadgradState]:
        check_state(state, MadgradState, "scale_by_madgrad")
        gs = matched_leaves(updates, state.s)
        ps = matched_leaves(require_params(params, "scale_by_madgrad"), state.s, "params")
        if has_complex(gs):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        if not gs:
            return {}, state._replace(count=state.count + 1)
        # optax takes sqrt(k + 1) of its int32 count in float32, and so the weight ``lam`` (with a number
        # ``lr``); the same rounding here keeps the two trajectories equal to float64 precision.
        steps = (state.count + 1).to(torch.float32).sqrt()
        lam = step_factor((at_step(lr, state.count) + eps) * steps, gs)
        grad_sum_sq = decay_add_square(leaves(state.grad_sum_sq), gs, 1.0, lam)
        s = add_scaled(leaves(state.s), gs, lam)
        sigma = add(list(torch._foreach_pow(grad_sum_sq, 1 / 3)), eps)
        z = torch._foreach_sub(leaves(state.x0), torch._foreach_div(s, sigma))
        out = torch._foreach_sub(lerp(list(z), ps, momentum), ps)
        new_state = MadgradState(state.count + 1, rebuild(updates, grad_sum_sq), rebuild(updates, s), state.x0)
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def madgrad(
    lr: float | Tensor | Schedule = 1e-2, momentum: Hyper = 0.9, weight_decay: Hyper = 0.0, eps: Hyper = 1e-6
) -> GradientTransformation:
    """MADGRAD: coupled weight decay (added to the gradient), then [`scale_by_madgrad`][optimtx.scale_by_madgrad].

    Example:
        >>> tx = madgrad(1.0, momentum=0.0, eps=0.0)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([8.0])}, tx.init(p), p)[0]
        {'w': tensor([-2.])}
    """
    check_non_negative("weight_decay", weight_decay)
    decay = [add_decayed_weights(weight_decay)] if is_present(weight_decay) else []
    return chain(*decay, scale_by_madgrad(lr, momentum, eps))
