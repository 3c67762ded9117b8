"""Optimistic gradient descent: extrapolate with the previous gradient (for min-max problems)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view
from optimtx.core.tree import Tree, check_params, rebuild, zeros_like
from optimtx.core.validation import check_finite
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, real_grads
from optimtx.transforms.kernels import mul
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleByOptimisticGradientState", "optimistic_gradient_descent", "scale_by_optimistic_gradient"]


class ScaleByOptimisticGradientState(NamedTuple):
    """State of `scale_by_optimistic_gradient` (optax's field names).

    Attributes:
        is_initial_step: whether no update was made yet (bool 0-d tensor).
        previous_gradient: the gradient of the previous step.
    """

    is_initial_step: Tensor
    previous_gradient: dict[str, Tensor]


def scale_by_optimistic_gradient(alpha: Hyper = 1.0, beta: Hyper = 1.0) -> GradientTransformation:
    """Output ``(alpha + beta) * g_t - beta * g_{t-1}`` (``g_{t-1} = g_t`` at the first step: ``alpha * g``).

    Args:
        alpha: weight of the current gradient.
        beta: weight of the optimistic correction ``g_t - g_{t-1}``.

    References:
        Daskalakis et al., 2018, *Training GANs with Optimism*; optax: ``optax.scale_by_optimistic_gradient``.

    Example:
        >>> tx = scale_by_optimistic_gradient()
        >>> state = tx.init({"w": torch.zeros(1)})
        >>> u, state = tx.update({"w": torch.tensor([1.0])}, state)
        >>> u, tx.update({"w": torch.tensor([3.0])}, state)[0]  # alpha * g, then 2 * 3 - 1
        ({'w': tensor([1.])}, {'w': tensor([5.])})
    """
    check_finite("alpha", alpha)
    check_finite("beta", beta)

    def init(params: Params) -> ScaleByOptimisticGradientState:
        check_params(params)
        device = next(iter(params.values())).device if params else None
        return ScaleByOptimisticGradientState(torch.ones((), dtype=torch.bool, device=device), zeros_like(params))

    def update(
        updates: Updates, state: ScaleByOptimisticGradientState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByOptimisticGradientState]:
        grads = real_grads(
            updates, state, ScaleByOptimisticGradientState, "previous_gradient", "scale_by_optimistic_gradient"
        )
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        done = torch.zeros_like(state.is_initial_step)
        if not grads:
            return {}, state._replace(is_initial_step=done)
        # The first step weighs g by alpha alone (no branch on the flag); the stored previous gradient is 0 then.
        first = state.is_initial_step.to(torch.promote_types(grads[0].dtype, torch.float32))
        now = (alpha + beta) - beta * first
        out = torch._foreach_sub(mul(grads, now), mul(list(state.previous_gradient.values()), beta))
        return rebuild(updates, out), ScaleByOptimisticGradientState(done, rebuild(updates, grads))

    return GradientTransformation(init, update)


def optimistic_gradient_descent(
    lr: float | Tensor | Schedule = 1e-3, alpha: Hyper = 1.0, beta: Hyper = 1.0
) -> GradientTransformation:
    """Optimistic descent: [`scale_by_optimistic_gradient`][optimtx.scale_by_optimistic_gradient].

    Example:
        >>> tx = optimistic_gradient_descent(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.2000])}
    """
    return chain(scale_by_optimistic_gradient(alpha, beta), scale_by_learning_rate(lr))
