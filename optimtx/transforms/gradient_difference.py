"""Adan: Nesterov-style adaptive momentum over the gradient and its step-to-step difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_non_negative, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, debiased, real_grads, root_plus
from optimtx.transforms.kernels import add_scaled, decay_add_square, lerp, mul
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights

__all__ = ["ScaleByAdanState", "adan", "scale_by_adan"]


class ScaleByAdanState(NamedTuple):
    """State of `scale_by_adan` (optax's field names).

    Attributes:
        m: moving average of the gradients.
        v: moving average of the gradient differences ``g_t - g_{t-1}``.
        n: moving average of ``(g_t + (1 - b2) * (g_t - g_{t-1}))**2``.
        g: the previous gradient.
        t: how many updates were made (int64 0-d tensor).
    """

    m: dict[str, Tensor]
    v: dict[str, Tensor]
    n: dict[str, Tensor]
    g: dict[str, Tensor]
    t: Tensor


def scale_by_adan(
    b1: Hyper = 0.98, b2: Hyper = 0.92, b3: Hyper = 0.99, eps: Hyper = 1e-8, eps_root: Hyper = 0.0
) -> GradientTransformation:
    """Rescale updates by Adan's three moments (Algorithm 1 of the paper, as optax computes it).

    With ``d = g_t - g_{t-1}`` (0 at the first step): ``m = lerp(m, g, 1 - b1)``,
    ``v = lerp(v, d, 1 - b2)``, ``n = lerp(n, (g + (1 - b2) d)**2, 1 - b3)``; the output is
    ``(m_hat + (1 - b2) v_hat) / (sqrt(n_hat + eps_root) + eps)``, every moment bias-corrected.

    Args:
        b1: decay of the gradient average, in [0, 1).
        b2: decay of the difference average, in [0, 1).
        b3: decay of the squared term, in [0, 1).
        eps: added outside the square root (>= 0).
        eps_root: added inside the square root (>= 0).

    References:
        Xie et al., 2022, *Adan: Adaptive Nesterov Momentum Algorithm* (arXiv:2208.06677);
        optax: ``optax.scale_by_adan``.

    Example:
        >>> tx = scale_by_adan()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]["w"].sign()
        tensor([ 1., -1.])
    """
    for name, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        check_unit_interval(name, value)
    check_non_negative("eps", eps)
    check_non_negative("eps_root", eps_root)

    def init(params: Params) -> ScaleByAdanState:
        check_params(params)
        return ScaleByAdanState(
            zeros_like(params), zeros_like(params), zeros_like(params), zeros_like(params), zero_counter(params)
        )

    def update(
        updates: Updates, state: ScaleByAdanState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdanState]:
        grads = real_grads(updates, state, ScaleByAdanState, "m", "scale_by_adan")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        t = state.t + 1
        if not grads:
            return {}, state._replace(t=t)
        # The first step has no previous gradient: the difference is 0 (a mask, not a branch).
        diff = mul(list(torch._foreach_sub(grads, leaves(state.g))), (state.t > 0).to(torch.float32))
        m = lerp(leaves(state.m), grads, 1 - b1)
        v = lerp(leaves(state.v), diff, 1 - b2)
        n = decay_add_square(leaves(state.n), add_scaled(grads, diff, 1 - b2), b3, 1 - b3)
        direction = add_scaled(debiased(m, b1, t), debiased(v, b2, t), 1 - b2)
        out = torch._foreach_div(direction, root_plus(debiased(n, b3, t), eps_root, eps))
        m_, v_, n_, g_ = (rebuild(updates, x) for x in (m, v, n, grads))
        return rebuild(updates, out), ScaleByAdanState(m_, v_, n_, g_, t)

    return GradientTransformation(init, update)


def adan(
    lr: float | Tensor | Schedule = 1e-3,
    betas: Sequence[Hyper] = (0.98, 0.92, 0.99),
    eps: Hyper = 1e-8,
    eps_root: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    mask: Mapping[str, bool] | Any | None = None,
) -> GradientTransformation:
    """Adan with decoupled weight decay: [`scale_by_adan`][optimtx.scale_by_adan], decay, ``-lr``.

    Args:
        lr: learning rate (number, 0-d tensor or schedule).
        betas: ``(b1, b2, b3)``, each in [0, 1).
        eps: added outside the square root.
        eps_root: added inside the square root.
        weight_decay: decoupled weight decay (multiplied by ``lr`` too).
        mask: which parameters decay (dict name -> bool or callable of the params).

    Example:
        >>> tx = adan(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]["w"] < 0
        tensor([True])
    """
    if not isinstance(betas, Sequence) or len(betas) != 3:
        raise ValueError(f"betas must be three decay rates (b1, b2, b3), got {betas!r}.")
    b1, b2, b3 = check_betas(betas, count=3)
    decay = [add_decayed_weights(weight_decay, mask)] if is_present(weight_decay) else []
    return chain(scale_by_adan(b1, b2, b3, eps, eps_root), *decay, scale_by_learning_rate(lr))
