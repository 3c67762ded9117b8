"""Scaling by accumulated squared gradients: the cores of ``RMSprop`` and ``Adagrad``."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import begin_update
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_non_negative, check_unit_interval
from optimtx.transforms._moment_rules import filled
from optimtx.transforms.kernels import add, decay_add_square, lerp

__all__ = ["ScaleByAdagradState", "ScaleByRmsState", "scale_by_adagrad", "scale_by_rms"]


class ScaleByRmsState(NamedTuple):
    """State of [`scale_by_rms`][optimtx.scale_by_rms].

    Attributes:
        nu: running average of squared gradients (torch's ``square_avg``).
        mu: with ``centered``, running average of gradients (``grad_avg``); else ``{}``.
    """

    nu: dict[str, Tensor]
    mu: dict[str, Tensor]


class ScaleByAdagradState(NamedTuple):
    """State of [`scale_by_adagrad`][optimtx.scale_by_adagrad].

    Attributes:
        sum: the sum of squared gradients of each parameter (torch's ``sum``).
    """

    sum: dict[str, Tensor]


def scale_by_rms(
    alpha: float | Tensor = 0.99,
    eps: float | Tensor = 1e-8,
    centered: bool = False,
    *,
    eps_in_sqrt: bool = False,
    initial_scale: float | Tensor = 0.0,
) -> GradientTransformation:
    """Divide updates by the root mean square of past gradients, as ``torch.optim.RMSprop``.

    ``v = alpha * v + (1 - alpha) * g * g``; the output is ``g / (sqrt(v) + eps)``, or with
    ``centered`` ``g / (sqrt(v - m * m) + eps)`` where ``m = lerp(m, g, 1 - alpha)``. Unlike
    optax's ``scale_by_rms``, ``eps`` is added outside the square root, as torch does.

    Args:
        alpha: smoothing constant (>= 0).
        eps: added to the denominator (>= 0).
        centered: normalise by the estimated variance instead of the second moment.
        eps_in_sqrt: add ``eps`` inside the square root, ``g / sqrt(v + eps)``, as optax's ``scale_by_rms`` and
            ``scale_by_stddev`` do by default.
        initial_scale: the value ``v`` starts at (>= 0; optax's ``initial_scale``).

    References:
        Hinton, lecture 6e (RMSprop).
        torch: ``torch.optim.RMSprop``; optax: ``optax.scale_by_rms`` / ``optax.scale_by_stddev``.

    Example:
        >>> tx = scale_by_rms(alpha=0.75, eps=0.0)
        >>> g = {"w": torch.tensor([2.0])}
        >>> tx.update(g, tx.init(g))[0]  # 2 / sqrt(0.25 * 4)
        {'w': tensor([2.])}
    """
    check_unit_interval("alpha", alpha, closed_right=True)
    check_non_negative("eps", eps)
    check_bool("centered", centered)
    check_bool("eps_in_sqrt", eps_in_sqrt)
    check_non_negative("initial_scale", initial_scale)

    def init(params: Params) -> ScaleByRmsState:
        check_params(params)
        nu = {k: filled(v, initial_scale) for k, v in params.items()} if is_set(initial_scale) else zeros_like(params)
        return ScaleByRmsState(nu=nu, mu=zeros_like(params) if centered else {})

    def update(
        updates: Updates, state: ScaleByRmsState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByRmsState]:
        grads = begin_update(update, updates, state, params, extra, kind=ScaleByRmsState, who="scale_by_rms", like="nu")
        if isinstance(grads, tuple):  # complex tensors (rerun on real views) or an empty tree: the result
            return grads
        nu = decay_add_square(leaves(state.nu), grads, alpha, 1 - alpha)
        if centered:
            mu = lerp(leaves(state.mu), grads, 1 - alpha)
            variance = list(torch._foreach_addcmul(nu, mu, mu, value=-1))
        else:
            mu, variance = [], nu
        if eps_in_sqrt:
            out = torch._foreach_div(grads, torch._foreach_sqrt(add(variance, eps)))
        else:
            out = torch._foreach_div(grads, add(list(torch._foreach_sqrt(variance)), eps))
        new_state = ScaleByRmsState(nu=rebuild(updates, nu), mu=rebuild(updates, mu) if centered else {})
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def is_set(value: float | Tensor) -> bool:
    """Whether an optional starting value differs from 0 (a tensor always counts).

    Example:
        >>> is_set(0.0), is_set(0.5), is_set(torch.tensor(0.0))
        (False, True, True)
    """
    return isinstance(value, Tensor) or value != 0


def scale_by_adagrad(
    initial_accumulator_value: float | Tensor = 0.0, eps: float | Tensor = 1e-10, *, eps_in_sqrt: bool = False
) -> GradientTransformation:
    """Divide updates by the root of the summed squared gradients, as ``torch.optim.Adagrad``.

    ``s = s + g * g`` (``s`` starts at ``initial_accumulator_value``); the output is
    ``g / (sqrt(s) + eps)``, or with ``eps_in_sqrt`` optax's ``scale_by_rss`` form
    ``g / sqrt(s + eps)`` (0 where ``s`` is 0). Adagrad's ``lr_decay`` belongs to the learning
    rate, see [`optimtx.adagrad`][optimtx.adagrad].

    References:
        Duchi, Hazan & Singer, 2011.
        torch: ``torch.optim.Adagrad``; optax: ``optax.scale_by_rss``.

    Example:
        >>> tx = scale_by_adagrad(initial_accumulator_value=5.0, eps=0.0)
        >>> g = {"w": torch.tensor([2.0])}
        >>> tx.update(g, tx.init(g))[0]  # 2 / sqrt(5 + 4)
        {'w': tensor([0.6667])}
    """
    check_non_negative("initial_accumulator_value", initial_accumulator_value)
    check_non_negative("eps", eps)
    check_bool("eps_in_sqrt", eps_in_sqrt)

    def init(params: Params) -> ScaleByAdagradState:
        check_params(params)
        sums = {k: filled(v, initial_accumulator_value) for k, v in params.items()}
        return ScaleByAdagradState(sum=sums)

    def update(
        updates: Updates, state: ScaleByAdagradState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdagradState]:
        grads = begin_update(
            update, updates, state, params, extra, kind=ScaleByAdagradState, who="scale_by_adagrad", like="sum"
        )
        if isinstance(grads, tuple):  # complex tensors (rerun on real views) or an empty tree: the result
            return grads
        sums = torch._foreach_addcmul(leaves(state.sum), grads, grads)
        if eps_in_sqrt:
            scaled = torch._foreach_div(grads, torch._foreach_sqrt(add(list(sums), eps)))
            out = [torch.where(s > 0, u, torch.zeros_like(u)) for s, u in zip(sums, scaled, strict=True)]
        else:
            out = list(torch._foreach_div(grads, add(list(torch._foreach_sqrt(sums)), eps)))
        return rebuild(updates, out), ScaleByAdagradState(sum=rebuild(updates, sums))

    return GradientTransformation(init, update)
