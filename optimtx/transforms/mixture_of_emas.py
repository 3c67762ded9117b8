"""AdEMAMix: Adam plus a slow, long-memory moving average of the gradients (and its simplified form)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import (
    check_betas,
    check_finite,
    check_non_negative,
    check_state_dtype,
    check_unit_interval,
)
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, at_step, debiased, real_grads, root_plus
from optimtx.transforms.kernels import add_scaled, decay_add_square, lerp, to_dtype, to_dtypes_of
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights

__all__ = [
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ademamix",
    "scale_by_ademamix",
    "scale_by_simplified_ademamix",
    "simplified_ademamix",
]


class ScaleByAdemamixState(NamedTuple):
    """State of `scale_by_ademamix` (optax's field names).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        count_m2: the step count the ``b3`` and ``alpha`` schedules read (int64 0-d tensor).
        m1: fast moving average of the gradients.
        m2: slow moving average of the gradients (not bias-corrected).
        nu: second moment.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    count_m2: Tensor
    m1: dict[str, Tensor]
    m2: dict[str, Tensor]
    nu: dict[str, Tensor]


def _check(b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_non_negative("eps_root", eps_root)


def scale_by_ademamix(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    b3: Hyper | Schedule = 0.9999,
    alpha: Hyper | Schedule = 6.0,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Rescale updates by AdEMAMix: ``(m1_hat + alpha * m2) / (sqrt(nu_hat + eps_root) + eps)``.

    ``m1`` and ``nu`` are Adam's moments (bias-corrected); ``m2 = lerp(m2, g, 1 - b3)`` is a slow
    average that is not corrected. ``b3`` and ``alpha`` may be schedules of the step count
    (the paper warms both up).

    Args:
        b1: decay of the fast average, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        b3: decay of the slow average (number or schedule).
        alpha: weight of the slow average (number or schedule).
        eps: added outside the square root (>= 0).
        eps_root: added inside the square root (>= 0).
        mu_dtype: dtype the three moments are stored in; ``None``: the parameters' dtype.

    References:
        Pagliardini et al., 2024, *The AdEMAMix Optimizer* (arXiv:2409.03137);
        optax: ``optax.contrib.scale_by_ademamix``.

    Example:
        >>> tx = scale_by_ademamix(alpha=0.0)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # Adam's first step when alpha is 0
        {'w': tensor([ 1., -1.])}
    """
    _check(b1, b2, eps, eps_root)
    if not callable(b3):
        check_unit_interval("b3", b3)
    if not callable(alpha):
        check_finite("alpha", alpha)  # any finite weight (5-8 is usual); NaN or inf would poison every update
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)

    def init(params: Params) -> ScaleByAdemamixState:
        check_params(params)
        moments = (zeros_like(params, dtype=mu_dtype) for _ in range(3))
        return ScaleByAdemamixState(zero_counter(params), zero_counter(params), *moments)

    def update(
        updates: Updates, state: ScaleByAdemamixState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdemamixState]:
        grads = real_grads(
            updates, state, ScaleByAdemamixState, "m1", "scale_by_ademamix", keep_dtype=mu_dtype is not None
        )
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        count, count_m2 = state.count + 1, state.count_m2 + 1
        if not grads:
            return {}, state._replace(count=count, count_m2=count_m2)
        c_b3, c_alpha = at_step(b3, state.count_m2), at_step(alpha, state.count_m2)
        m1 = lerp(to_dtypes_of(leaves(state.m1), grads), grads, 1 - b1)
        m2 = lerp(to_dtypes_of(leaves(state.m2), grads), grads, 1 - c_b3)
        nu = decay_add_square(to_dtypes_of(leaves(state.nu), grads), grads, b2, 1 - b2)
        numerator = add_scaled(debiased(m1, b1, count), m2, c_alpha)
        out = torch._foreach_div(numerator, root_plus(debiased(nu, b2, count), eps_root, eps))
        stored = (rebuild(updates, to_dtype(x, mu_dtype)) for x in (m1, m2, nu))
        return rebuild(updates, out), ScaleByAdemamixState(count, count_m2, *stored)

    return GradientTransformation(init, update)


def _decayed(block: GradientTransformation, weight_decay: Hyper, mask: Any, lr: Any) -> GradientTransformation:
    check_non_negative("weight_decay", weight_decay)
    decay = [add_decayed_weights(weight_decay, mask)] if is_present(weight_decay) else []
    return chain(block, *decay, scale_by_learning_rate(lr))


def ademamix(
    lr: float | Tensor | Schedule = 1e-3,
    betas: tuple[Hyper, Hyper, Hyper | Schedule] = (0.9, 0.999, 0.9999),
    alpha: Hyper | Schedule = 5.0,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
    weight_decay: Hyper = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """AdEMAMix with decoupled weight decay: [`scale_by_ademamix`][optimtx.scale_by_ademamix], decay, ``-lr``.

    Example:
        >>> tx = ademamix(0.1, alpha=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    b1, b2, b3 = check_betas(betas, count=3)
    return _decayed(scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype), weight_decay, mask, lr)


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """State of `scale_by_simplified_ademamix` (optax's field names).

    Attributes:
        t: how many updates were made (int64 0-d tensor).
        m: the accumulated (undamped) momentum ``g + b1 * m``.
        n: second moment.
    """

    t: Tensor
    m: dict[str, Tensor]
    n: dict[str, Tensor]


def scale_by_simplified_ademamix(
    b1: Hyper = 0.99, b2: Hyper = 0.95, alpha: Hyper | Schedule = 0.0, eps: Hyper = 1e-8, eps_root: Hyper = 0.0
) -> GradientTransformation:
    """Rescale updates by simplified AdEMAMix: ``(m + alpha * g) / (sqrt(n_hat + eps_root) + eps)``.

    ``m = g + b1 * m`` (a sum, not an average), ``n = lerp(n, g**2, 1 - b2)`` bias-corrected.

    References:
        Morwani et al., 2024, *Connections between Schedule-Free Optimizers, AdEMAMix, and
        Accelerated SGD Variants* (arXiv:2502.02431); optax: ``optax.contrib.scale_by_simplified_ademamix``.

    Example:
        >>> tx = scale_by_simplified_ademamix(eps=0.0)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 1., -1.])}
    """
    _check(b1, b2, eps, eps_root)

    if not callable(alpha):
        check_finite("alpha", alpha)  # any finite weight; NaN or inf would poison every update

    def init(params: Params) -> ScaleBySimplifiedAdEMAMixState:
        check_params(params)
        return ScaleBySimplifiedAdEMAMixState(zero_counter(params), zeros_like(params), zeros_like(params))

    def update(
        updates: Updates, state: ScaleBySimplifiedAdEMAMixState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleBySimplifiedAdEMAMixState]:
        grads = real_grads(updates, state, ScaleBySimplifiedAdEMAMixState, "m", "scale_by_simplified_ademamix")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        t = state.t + 1
        if not grads:
            return {}, state._replace(t=t)
        c_alpha = at_step(alpha, state.t)
        m = add_scaled(grads, leaves(state.m), b1)
        n = decay_add_square(leaves(state.n), grads, b2, 1 - b2)
        out = torch._foreach_div(add_scaled(m, grads, c_alpha), root_plus(debiased(n, b2, t), eps_root, eps))
        return rebuild(updates, out), ScaleBySimplifiedAdEMAMixState(t, rebuild(updates, m), rebuild(updates, n))

    return GradientTransformation(init, update)


def simplified_ademamix(
    lr: float | Tensor | Schedule = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.99, 0.95),
    alpha: Hyper | Schedule = 0.0,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """Simplified AdEMAMix: [`scale_by_simplified_ademamix`][optimtx.scale_by_simplified_ademamix], decay, ``-lr``.

    Example:
        >>> tx = simplified_ademamix(0.1, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    b1, b2 = check_betas(betas)
    return _decayed(scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root), weight_decay, mask, lr)
