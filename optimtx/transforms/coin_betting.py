"""COCOB: learning-rate-free training by coin betting (Orabona & Tommasi, 2017)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, has_complex, on_real_view
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_non_negative, check_positive
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper
from optimtx.transforms.kernels import add, mul
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights, require_params

__all__ = ["COCOBState", "cocob", "scale_by_cocob"]


class COCOBState(NamedTuple):
    """State of `scale_by_cocob` (optax's field names).

    Attributes:
        init_particles: the initial parameters.
        cumulative_gradients: minus the sum of the gradients.
        scale: the largest ``|g|`` seen (starts at ``eps``).
        subgradients: the sum of ``|g|``.
        reward: the bettor's wealth gained so far (never negative).
    """

    init_particles: dict[str, Tensor]
    cumulative_gradients: dict[str, Tensor]
    scale: dict[str, Tensor]
    subgradients: dict[str, Tensor]
    reward: dict[str, Tensor]


def scale_by_cocob(alpha: Hyper = 100.0, eps: Hyper = 1e-8) -> GradientTransformation:
    """Replace updates by COCOB-Backprop's bet: the step to ``x0 + C / (L * max(G + L, alpha * L)) * (L + R)``.

    Per coordinate: ``L`` is the largest ``|g|``, ``G`` the sum of ``|g|``, ``C`` minus the sum of ``g``
    and ``R`` the reward; the output is the new point minus the current parameters.
    ``update`` needs ``params``.

    Args:
        alpha: bounds the bet early in training (> 0).
        eps: the starting ``L`` (> 0), which keeps the first step finite.

    References:
        Orabona & Tommasi, 2017, *Training Deep Networks without Learning Rates Through Coin Betting*
        (NeurIPS); optax: ``optax.contrib.scale_by_cocob``.

    Example:
        >>> tx = scale_by_cocob()
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([1.0, -2.0])}, tx.init(p), p)[0]  # -g / (alpha * |g|)
        {'w': tensor([-0.0100,  0.0100])}
    """
    check_positive("alpha", alpha)
    check_positive("eps", eps)

    def init(params: Params) -> COCOBState:
        check_params(params)
        scale = rebuild(params, add(leaves(zeros_like(params)), eps))
        return COCOBState(copy_tree(params), zeros_like(params), scale, zeros_like(params), zeros_like(params))

    def update(
        updates: Updates, state: COCOBState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, COCOBState]:
        check_state(state, COCOBState, "scale_by_cocob")
        gs = matched_leaves(updates, state.scale)
        ps = matched_leaves(require_params(params, "scale_by_cocob"), state.scale, "params")
        if has_complex(gs):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        if not gs:
            return {}, state
        magnitude = list(torch._foreach_abs(gs))
        big = list(torch._foreach_maximum(leaves(state.scale), magnitude))
        total = list(torch._foreach_add(leaves(state.subgradients), magnitude))
        moved = torch._foreach_mul(gs, torch._foreach_sub(ps, leaves(state.init_particles)))
        reward = list(torch._foreach_clamp_min(torch._foreach_sub(leaves(state.reward), moved), 0.0))
        cumulative = list(torch._foreach_sub(leaves(state.cumulative_gradients), gs))
        bound = torch._foreach_maximum(torch._foreach_add(total, big), mul(big, alpha))
        bet = torch._foreach_div(cumulative, torch._foreach_mul(big, bound))
        target = torch._foreach_add(
            leaves(state.init_particles), torch._foreach_mul(bet, torch._foreach_add(big, reward))
        )
        out = torch._foreach_sub(target, ps)
        trees = (rebuild(updates, x) for x in (cumulative, big, total, reward))
        c, s, g, r = trees
        return rebuild(updates, out), COCOBState(state.init_particles, c, s, g, r)

    return GradientTransformation(init, update)


def cocob(
    lr: float | Tensor | Schedule = 1.0,
    alpha: Hyper = 100.0,
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """COCOB: coupled decay, gradients scaled by ``lr`` (no sign flip), then [`scale_by_cocob`][optimtx.scale_by_cocob].

    Example:
        >>> tx = cocob()
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.0100])}
    """
    check_non_negative("weight_decay", weight_decay)
    decay = [add_decayed_weights(weight_decay, mask)] if is_present(weight_decay) else []
    return chain(*decay, scale_by_learning_rate(lr, flip_sign=False), scale_by_cocob(alpha, eps))
