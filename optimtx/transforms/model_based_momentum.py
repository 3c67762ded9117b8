"""MoMo: momentum steps whose size comes from a model of the loss (needs the loss value each step)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, has_complex, on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_bool, check_finite, check_non_negative, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, at_step, scalar_state, squared_norm, step_factor, vdot
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import add, add_scaled, decay_add_square, lerp, mul
from optimtx.transforms.polyak import loss_value
from optimtx.transforms.weight_decay import require_params

__all__ = ["MomoAdamState", "MomoState", "momo", "momo_adam"]

# optax compares against float64's machine epsilon (``jnp.finfo(float).eps``) whatever the dtype.
_TINY = torch.finfo(torch.float64).eps


class MomoState(NamedTuple):
    """State of `momo` (optax's field names).

    Attributes:
        exp_avg: momentum of the gradients.
        barf: moving average of the loss values (0-d).
        gamma: moving average of ``<g, p>`` (0-d).
        lb: the current lower bound of the loss (0-d).
        count: how many updates were made (int64 0-d tensor).
    """

    exp_avg: dict[str, Tensor]
    barf: Tensor
    gamma: Tensor
    lb: Tensor
    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose


class MomoAdamState(NamedTuple):
    """State of `momo_adam` (optax's field names): `MomoState` plus Adam's second moment."""

    exp_avg: dict[str, Tensor]
    exp_avg_sq: dict[str, Tensor]
    barf: Tensor
    gamma: Tensor
    lb: Tensor
    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose


def _check(lr: Any, lower_bound: Any, weight_decay: Any, adapt_lower_bound: Any) -> None:
    check_non_negative("lr", lr, schedule=True)
    check_finite("lower_bound", lower_bound)
    check_non_negative("weight_decay", weight_decay)
    check_bool("adapt_lower_bound", adapt_lower_bound)


def _inputs(updates: Updates, state: Any, params: Params | None, extra: dict[str, Any], who: str) -> Any:
    value = loss_value(extra, who)
    gs = matched_leaves(updates, state.exp_avg)
    ps = matched_leaves(require_params(params, who), state.exp_avg, "params")
    return value.to(state.barf.dtype), gs, ps


def _step_size(
    alpha: Any, wd: Any, barf: Tensor, gamma: Tensor, iprod: Tensor, norm: Tensor, lb: Tensor, cap_at: Any
) -> Tensor:
    """``min(cap_at, max((1 + alpha wd)(barf - lb - gamma) + iprod, 0) / norm)``, 0 where ``norm`` is ~0."""
    t1 = torch.clamp((1 + alpha * wd) * (barf - lb - gamma) + iprod, min=0) / norm
    t1 = torch.where(norm <= _TINY, torch.zeros_like(t1), t1)
    return torch.clamp(t1, max=cap_at.to(t1.dtype) if isinstance(cap_at, Tensor) else cap_at)


def _decayed_step(direction: list[Tensor], ps: list[Tensor], tau: Tensor, alpha: Any, wd: Any) -> list[Tensor]:
    """``-(alpha wd) / (1 + alpha wd) * p - tau * direction``."""
    return add_scaled(mul(direction, -tau), ps, -(alpha * wd) / (1 + alpha * wd))


def momo(
    lr: float | Tensor | Schedule = 1.0,
    beta: Hyper = 0.9,
    lower_bound: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """MoMo: SGD with momentum whose step is capped by a Polyak-type step from a model of the loss.

    A whole optimizer (the output is the step). ``update`` needs ``params`` and the loss as
    ``value=`` (a 0-d tensor). ``lower_bound`` is a lower bound of the loss (0 for
    non-negative losses); ``adapt_lower_bound`` raises it online.

    References:
        Schaipp et al., 2024, *MoMo: Momentum Models for Adaptive Learning Rates* (ICML);
        optax: ``optax.contrib.momo``.

    Example:
        >>> tx = momo(lr=0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p, value=torch.tensor(1.0))[0]
        {'w': tensor([-0.2000])}
    """
    _check(lr, lower_bound, weight_decay, adapt_lower_bound)
    check_unit_interval("beta", beta)

    def init(params: Params) -> MomoState:
        check_params(params)
        zero = scalar_state(0.0, params)
        return MomoState(
            zeros_like(params), zero, zero.clone(), scalar_state(lower_bound, params), zero_counter(params)
        )

    def update(
        updates: Updates, state: MomoState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MomoState]:
        check_state(state, MomoState, "momo")
        value, gs, ps = _inputs(updates, state, params, extra, "momo")
        if has_complex(gs):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        if not gs:
            return {}, state._replace(count=state.count + 1)
        bt = beta * (state.count > 0).to(state.barf.dtype)
        barf = bt * state.barf + (1 - bt) * value
        exp_avg = lerp(leaves(state.exp_avg), gs, step_factor(1 - bt, gs))
        dtype = state.barf.dtype
        gamma = (bt * state.gamma + (1 - bt) * vdot(gs, ps)).to(dtype)
        norm, iprod = squared_norm(exp_avg).to(dtype), vdot(exp_avg, ps).to(dtype)
        alpha = at_step(lr, state.count)
        lb = state.lb
        if adapt_lower_bound:
            cap = (1 + alpha * weight_decay) * (barf - gamma) + iprod
            lowered = torch.clamp(cap / (2 * (1 + alpha * weight_decay)), min=lower_bound)
            lb = torch.where(cap < (1 + alpha * weight_decay) * state.lb, lowered, state.lb)
        tau = _step_size(alpha, weight_decay, barf, gamma, iprod, norm, lb, alpha)
        out = _decayed_step(exp_avg, ps, tau, alpha, weight_decay)
        if adapt_lower_bound:
            lb = torch.clamp(barf + iprod - gamma - 0.5 * tau * norm, min=lower_bound)
        new_state = MomoState(rebuild(updates, exp_avg), barf, gamma, lb.to(dtype), state.count + 1)
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def momo_adam(
    lr: float | Tensor | Schedule = 1e-2,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    lower_bound: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """MoMo-Adam: MoMo's model-based step on Adam's preconditioned momentum.

    A whole optimizer (the output is the step). ``update`` needs ``params`` and the loss as ``value=``.

    References:
        Schaipp et al., 2024, *MoMo* (ICML); optax: ``optax.contrib.momo_adam``.

    Example:
        >>> tx = momo_adam(lr=0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p, value=torch.tensor(1.0))[0]
        {'w': tensor([-0.1000])}
    """
    _check(lr, lower_bound, weight_decay, adapt_lower_bound)
    b1, b2 = check_betas(betas)
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)

    def init(params: Params) -> MomoAdamState:
        check_params(params)
        zero = scalar_state(0.0, params)
        lb = scalar_state(lower_bound, params)
        return MomoAdamState(zeros_like(params), zeros_like(params), zero, zero.clone(), lb, zero_counter(params))

    def update(
        updates: Updates, state: MomoAdamState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MomoAdamState]:
        check_state(state, MomoAdamState, "momo_adam")
        value, gs, ps = _inputs(updates, state, params, extra, "momo_adam")
        if has_complex(gs):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not gs:
            return {}, state._replace(count=count)
        dtype = state.barf.dtype
        barf = b1 * state.barf + (1 - b1) * value
        exp_avg = lerp(leaves(state.exp_avg), gs, 1 - b1)
        exp_avg_sq = decay_add_square(leaves(state.exp_avg_sq), gs, b2, 1 - b2)
        bc2 = bias_correction(b2, count).to(dtype)
        precond = add(list(torch._foreach_pow(mul(exp_avg_sq, step_factor(1 / bc2, gs)), 0.5)), eps)
        weighted = list(torch._foreach_div(exp_avg, precond))
        norm = vdot(exp_avg, weighted).to(dtype)
        gamma = (b1 * state.gamma + (1 - b1) * vdot(gs, ps)).to(dtype)
        iprod = vdot(exp_avg, ps).to(dtype)
        alpha = at_step(lr, state.count)
        bc1 = bias_correction(b1, count).to(dtype)
        decay = 1 + alpha * weight_decay
        lb = state.lb
        if adapt_lower_bound:
            cap = decay * (barf - gamma) + iprod
            lowered = torch.clamp(cap / (2 * bc1 * decay), min=lower_bound)
            lb = torch.where(cap < decay * bc1 * state.lb, lowered, state.lb)
        tau = _step_size(alpha, weight_decay, barf, gamma, iprod, norm, bc1 * lb, alpha / bc1)
        out = _decayed_step(weighted, ps, tau, alpha, weight_decay)
        if adapt_lower_bound:
            lb = torch.clamp((barf + iprod - gamma - 0.5 * tau * norm) / bc1, min=lower_bound)
        trees = rebuild(updates, exp_avg), rebuild(updates, exp_avg_sq)
        return rebuild(updates, out), MomoAdamState(*trees, barf, gamma, lb.to(dtype), count)

    return GradientTransformation(init, update)
