"""Rules that divide by the *previous* step's second moment: ADOPT and ACProp.

Keeping the current gradient out of its own denominator is what both papers use to
converge without Adam's dependence on ``b2``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view, wide_float, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_bool, check_non_negative, check_state_dtype, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, real_grads, step_factor
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import add, decay_add_square, lerp, mul, to_dtype, to_dtypes_of
from optimtx.transforms.mixture_of_emas import _decayed
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = [
    "ScaleByAcpropState",
    "ScaleByAdoptState",
    "acprop",
    "adopt",
    "quarter_power",
    "scale_by_acprop",
    "scale_by_adopt",
]


class ScaleByAdoptState(NamedTuple):
    """State of `scale_by_adopt` (optax keeps it in a ``ScaleByAdamState``; same fields).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: momentum of the normalised (and clipped) gradients, in ``mu_dtype``.
        nu: second moment (the first step sets it to ``g**2``).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def quarter_power(count: Tensor) -> Tensor:
    """ADOPT's default clip bound ``count ** 0.25``, computed in float64 (float32 where the device has no float64).

    Example:
        >>> quarter_power(torch.tensor(16))
        tensor(2., dtype=torch.float64)
    """
    return count.to(wide_float(count.device)) ** 0.25


def scale_by_adopt(
    b1: Hyper = 0.9,
    b2: Hyper = 0.9999,
    eps: Hyper = 1e-6,
    mu_dtype: torch.dtype | str | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[Tensor], Any] = quarter_power,
) -> GradientTransformation:
    """Rescale updates as ADOPT: normalise by the previous second moment, then take the momentum.

    At step ``t`` (from 0): ``u = clip(g / max(sqrt(v), eps), clip_value_fn(t))`` with the ``v`` of the
    previous step, ``m = lerp(m, u, 1 - b1)``, ``v = lerp(v, g**2, 1 - b2)``; the first step only
    sets ``v = g**2`` (and outputs 0). ``nesterov`` outputs ``lerp(m, u, 1 - b1)`` once more.

    Args:
        b1: decay of the momentum, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: floor of ``sqrt(v)`` (>= 0).
        mu_dtype: dtype the momentum is stored in; ``None``: the parameters' dtype.
        nesterov: Nesterov's form of the momentum.
        use_clipping: clip the normalised gradient to ``[-c, c]``, ``c = clip_value_fn(t)``.
        clip_value_fn: the clip bound as a function of the step count (default ``t ** 0.25``).

    References:
        Taniguchi et al., 2024, *ADOPT: Modified Adam Can Converge with Any b2* (arXiv:2411.02853);
        optax: ``optax.contrib.scale_by_adopt``.

    Example:
        >>> tx = scale_by_adopt(b1=0.0)
        >>> state = tx.init({"w": torch.zeros(2)})
        >>> u, state = tx.update({"w": torch.tensor([2.0, -1.0])}, state)  # the first step only measures g**2
        >>> u, tx.update({"w": torch.tensor([2.0, -1.0])}, state)[0]
        ({'w': tensor([0., 0.])}, {'w': tensor([ 1., -1.])})
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)
    check_bool("nesterov", nesterov)
    check_bool("use_clipping", use_clipping)
    if not callable(clip_value_fn):
        raise TypeError(f"clip_value_fn must be a callable of the step count, got {clip_value_fn!r}.")

    def init(params: Params) -> ScaleByAdoptState:
        check_params(params)
        return ScaleByAdoptState(zero_counter(params), zeros_like(params, dtype=mu_dtype), zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdoptState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdoptState]:
        grads = real_grads(updates, state, ScaleByAdoptState, "nu", "scale_by_adopt")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        if not grads:
            return {}, state._replace(count=state.count + 1)
        first = step_factor((state.count == 0).to(torch.float64), grads)
        b1_, b2_ = b1 + (1 - b1) * first, b2 * (1 - first)  # the first step keeps m and replaces v
        nu = decay_add_square(leaves(state.nu), grads, b2_, 1 - b2_)
        normalised = list(torch._foreach_div(grads, _at_least(list(torch._foreach_pow(leaves(state.nu), 0.5)), eps)))
        if use_clipping:
            bound = clip_value_fn(state.count)
            normalised = [torch.clamp(u, -bound, bound).to(u.dtype) for u in normalised]
        mu = lerp(to_dtypes_of(leaves(state.mu), grads), normalised, 1 - b1_)
        out = lerp(mu, normalised, 1 - b1_) if nesterov else mu
        new_state = ScaleByAdoptState(state.count + 1, rebuild(updates, to_dtype(mu, mu_dtype)), rebuild(updates, nu))
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def _at_least(xs: list[Tensor], floor: Hyper) -> list[Tensor]:
    if isinstance(floor, Tensor):
        return [torch.maximum(x, floor.to(x.dtype)) for x in xs]
    return list(torch._foreach_clamp_min(xs, floor))


def adopt(
    lr: float | Tensor | Schedule = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.9999),
    eps: Hyper = 1e-6,
    mu_dtype: torch.dtype | str | None = None,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[Tensor], Any] = quarter_power,
) -> GradientTransformation:
    """ADOPT: [`scale_by_adopt`][optimtx.scale_by_adopt], then ``-lr``.

    Example:
        >>> tx = adopt(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]  # the first step moves nothing
        {'w': tensor([-0.])}
    """
    b1, b2 = check_betas(betas)
    block = scale_by_adopt(
        b1, b2, eps, mu_dtype, nesterov=nesterov, use_clipping=use_clipping, clip_value_fn=clip_value_fn
    )
    return chain(block, scale_by_learning_rate(lr))


class ScaleByAcpropState(NamedTuple):
    """State of `scale_by_acprop` (optax keeps it in a ``ScaleByBeliefState``; same fields).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment of the gradients.
        nu: second moment of the prediction error ``g - mu`` (plus ``eps_root`` each step).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def scale_by_acprop(
    b1: Hyper = 0.9, b2: Hyper = 0.999, eps: Hyper = 1e-16, eps_root: Hyper = 1e-16
) -> GradientTransformation:
    """Rescale updates as ACProp: ``g / (sqrt(s_hat) + eps)`` with the *previous* belief moment ``s``.

    ``s = b2 * s + (1 - b2) * (g - m_prev)**2 + eps_root`` is AdaBelief's moment, but each step
    divides by the one before it (bias-corrected; 1 at the first step). The output uses the raw
    gradient, not the momentum (optax's form).

    References:
        Zhuang et al., 2021, *Momentum Centering and Asynchronous Update for Adaptive Gradient
        Methods* (arXiv:2110.05454); optax: ``optax.contrib.scale_by_acprop``.

    Example:
        >>> tx = scale_by_acprop()
        >>> tx.update({"w": torch.tensor([2.0, -0.5])}, tx.init({"w": torch.zeros(2)}))[0]
        {'w': tensor([ 2.0000, -0.5000])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_non_negative("eps_root", eps_root)

    def init(params: Params) -> ScaleByAcpropState:
        check_params(params)
        return ScaleByAcpropState(zero_counter(params), zeros_like(params), zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAcpropState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAcpropState]:
        grads = real_grads(updates, state, ScaleByAcpropState, "mu", "scale_by_acprop")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        if not grads:
            return {}, state._replace(count=state.count + 1)
        mu = lerp(leaves(state.mu), grads, 1 - b1)
        error = list(torch._foreach_sub(grads, leaves(state.mu)))
        nu = add(decay_add_square(leaves(state.nu), error, b2, 1 - b2), eps_root)
        first = (state.count == 0).to(torch.int64)
        correction = step_factor(1 / bias_correction(b2, state.count + first), grads)
        # Step 0 divides by sqrt(1): the stored moment is 0 then, so shifting it by 1 is exact.
        previous = add(mul(leaves(state.nu), correction), step_factor(first.to(torch.float64), grads))
        out = torch._foreach_div(grads, add(list(torch._foreach_pow(previous, 0.5)), eps))
        return rebuild(updates, out), ScaleByAcpropState(state.count + 1, rebuild(updates, mu), rebuild(updates, nu))

    return GradientTransformation(init, update)


def acprop(
    lr: float | Tensor | Schedule = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-16,
    eps_root: Hyper = 1e-16,
    weight_decay: Hyper = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """ACProp with decoupled weight decay: [`scale_by_acprop`][optimtx.scale_by_acprop], decay, ``-lr``.

    Example:
        >>> tx = acprop(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.3000])}
    """
    b1, b2 = check_betas(betas)
    return _decayed(scale_by_acprop(b1, b2, eps, eps_root), weight_decay, mask, lr)
