"""Adam's relatives with another second moment: AdaBelief, AMSGrad (optax's form) and Yogi.

Each rule comes as a ``scale_by_*`` block (optax's argument names) and a whole optimizer with
torch's argument names (``lr``, ``betas``); ``optimtx.optax`` exposes optax's aliases over the
same blocks. ``eps`` sits outside the square root and ``eps_root`` inside, as in optax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import (
    check_betas,
    check_bool,
    check_non_negative,
    check_positive,
    check_state_dtype,
    check_unit_interval,
)
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, debiased, filled, first_moment_estimate, real_grads, root_plus
from optimtx.transforms.kernels import add, decay_add_square, lerp, mul, to_dtype, to_dtypes_of
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = [
    "ScaleByAmsgradState",
    "ScaleByBeliefState",
    "ScaleByYogiState",
    "adabelief",
    "amsgrad",
    "scale_by_amsgrad",
    "scale_by_belief",
    "scale_by_yogi",
    "yogi",
]


def _check_moments(b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_non_negative("eps_root", eps_root)


class ScaleByBeliefState(NamedTuple):
    """State of `scale_by_belief`.

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment of each parameter.
        nu: second moment of the prediction error ``g - mu`` (plus ``eps_root`` each step).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def scale_by_belief(
    b1: Hyper = 0.9, b2: Hyper = 0.999, eps: Hyper = 1e-16, eps_root: Hyper = 1e-16, *, nesterov: bool = False
) -> GradientTransformation:
    """Rescale updates by AdaBelief's moments: the "belief" is the variance of ``g`` around its mean.

    ``m = lerp(m, g, 1 - b1)``, ``s = b2 * s + (1 - b2) * (g - m)**2 + eps_root``; the output is
    ``m_hat / (sqrt(s_hat) + eps)`` with both moments bias-corrected (``m_hat`` in Dozat's
    look-ahead form with ``nesterov``).

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the prediction-error moment, in [0, 1).
        eps: added outside the square root (>= 0).
        eps_root: added to the second moment at every step (>= 0).
        nesterov: use Nesterov's look-ahead first moment.

    References:
        Zhuang et al., 2020, *AdaBelief Optimizer* (arXiv:2010.07468); optax: ``optax.scale_by_belief``.

    Example:
        >>> tx = scale_by_belief()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # |g - m| is 0.9 |g| at the first step
        {'w': tensor([ 1.1111, -1.1111])}
    """
    _check_moments(b1, b2, eps, eps_root)
    check_bool("nesterov", nesterov)

    def init(params: Params) -> ScaleByBeliefState:
        check_params(params)
        return ScaleByBeliefState(count=zero_counter(params), mu=zeros_like(params), nu=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByBeliefState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByBeliefState]:
        grads = real_grads(updates, state, ScaleByBeliefState, "mu", "scale_by_belief")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        mu = lerp(leaves(state.mu), grads, 1 - b1)
        nu = add(decay_add_square(leaves(state.nu), list(torch._foreach_sub(grads, mu)), b2, 1 - b2), eps_root)
        direction = torch._foreach_div(
            first_moment_estimate(mu, grads, b1, count, nesterov), root_plus(debiased(nu, b2, count), 0.0, eps)
        )
        return rebuild(updates, direction), ScaleByBeliefState(count, rebuild(updates, mu), rebuild(updates, nu))

    return GradientTransformation(init, update)


def adabelief(
    lr: float | Tensor | Schedule = 1e-3,
    betas: Sequence[Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-16,
    eps_root: Hyper = 1e-16,
    nesterov: bool = False,
) -> GradientTransformation:
    """AdaBelief: [`scale_by_belief`][optimtx.scale_by_belief], then ``-lr``.

    Example:
        >>> tx = adabelief(0.1)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([3.0, -1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1111,  0.1111])}
    """
    b1, b2 = check_betas(betas)
    return chain(scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov), scale_by_learning_rate(lr))


class ScaleByAmsgradState(NamedTuple):
    """State of `scale_by_amsgrad`.

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment of each parameter (stored in ``mu_dtype``).
        nu: second moment of each parameter.
        nu_max: running maximum of the (bias-corrected, by default) second moment.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    nu_max: dict[str, Tensor]


def scale_by_amsgrad(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    """Rescale updates by AMSGrad in optax's form: the maximum is taken of the *corrected* second moment.

    ``v_max = max(v_max, v / (1 - b2**t))`` (``v`` itself with ``bias_correction_nu=False``, the
    paper's form) and the output is ``m_hat / (sqrt(v_max + eps_root) + eps)``. This differs from
    ``torch.optim.Adam(amsgrad=True)`` (see [`scale_by_adam`][optimtx.scale_by_adam]), which takes the
    maximum of the raw moment and corrects it afterwards.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added outside the square root (>= 0).
        eps_root: added inside the square root (>= 0).
        mu_dtype: dtype the first moment is stored in; ``None``: the parameters' dtype.
        bias_correction_mu: bias-correct the first moment.
        bias_correction_nu: bias-correct the second moment before the maximum.

    References:
        Reddi et al., 2018, *On the Convergence of Adam and Beyond*; optax: ``optax.scale_by_amsgrad``.

    Example:
        >>> tx = scale_by_amsgrad()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 1., -1.])}
    """
    _check_moments(b1, b2, eps, eps_root)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)
    check_bool("bias_correction_mu", bias_correction_mu)
    check_bool("bias_correction_nu", bias_correction_nu)

    def init(params: Params) -> ScaleByAmsgradState:
        check_params(params)
        zeros = zeros_like(params)
        return ScaleByAmsgradState(zero_counter(params), zeros_like(params, dtype=mu_dtype), zeros, zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAmsgradState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAmsgradState]:
        grads = real_grads(updates, state, ScaleByAmsgradState, "nu", "scale_by_amsgrad")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        mu = lerp(to_dtypes_of(leaves(state.mu), grads), grads, 1 - b1)
        nu = decay_add_square(leaves(state.nu), grads, b2, 1 - b2)
        nu_max = list(
            torch._foreach_maximum(leaves(state.nu_max), debiased(nu, b2, count) if bias_correction_nu else nu)
        )
        mu_hat = debiased(mu, b1, count) if bias_correction_mu else mu
        direction = torch._foreach_div(mu_hat, root_plus(nu_max, eps_root, eps))
        new_state = ScaleByAmsgradState(
            count, rebuild(updates, to_dtype(mu, mu_dtype)), rebuild(updates, nu), rebuild(updates, nu_max)
        )
        return rebuild(updates, direction), new_state

    return GradientTransformation(init, update)


def amsgrad(
    lr: float | Tensor | Schedule = 1e-3,
    betas: Sequence[Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    """AMSGrad in optax's form: [`scale_by_amsgrad`][optimtx.scale_by_amsgrad], then ``-lr``.

    Example:
        >>> tx = amsgrad(0.1)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([3.0, -1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    b1, b2 = check_betas(betas)
    block = scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu)
    return chain(block, scale_by_learning_rate(lr))


class ScaleByYogiState(NamedTuple):
    """State of `scale_by_yogi` (optax keeps it in a ``ScaleByAdamState``; the fields are the same).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment of each parameter.
        nu: Yogi's additive second moment of each parameter.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def scale_by_yogi(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-3,
    eps_root: Hyper = 0.0,
    initial_accumulator_value: Hyper = 1e-6,
) -> GradientTransformation:
    """Rescale updates by Yogi's moments: the second moment moves additively, by ``sign(v - g**2) * g**2``.

    ``v = v - (1 - b2) * sign(v - g**2) * g**2``; the output is ``m_hat / (sqrt(v_hat + eps_root) + eps)``.
    Both moments start at ``initial_accumulator_value``.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: rate of the second moment, in [0, 1).
        eps: added outside the square root (>= 0).
        eps_root: added inside the square root (>= 0).
        initial_accumulator_value: starting value of both moments (> 0).

    References:
        Zaheer et al., 2018, *Adaptive Methods for Nonconvex Optimization* (NeurIPS); optax: ``optax.scale_by_yogi``.

    Example:
        >>> tx = scale_by_yogi(eps=0.0, initial_accumulator_value=1e-12)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]["w"].sign()
        tensor([ 1., -1.])
    """
    _check_moments(b1, b2, eps, eps_root)
    check_positive("initial_accumulator_value", initial_accumulator_value)

    def init(params: Params) -> ScaleByYogiState:
        check_params(params)
        start = [{k: filled(p, initial_accumulator_value) for k, p in params.items()} for _ in range(2)]
        return ScaleByYogiState(zero_counter(params), *start)

    def update(
        updates: Updates, state: ScaleByYogiState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByYogiState]:
        grads = real_grads(updates, state, ScaleByYogiState, "mu", "scale_by_yogi")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        mu = lerp(leaves(state.mu), grads, 1 - b1)
        squares = list(torch._foreach_mul(grads, grads))
        signs = list(torch._foreach_sign(torch._foreach_sub(leaves(state.nu), squares)))
        nu = list(torch._foreach_sub(leaves(state.nu), list(torch._foreach_mul(mul(signs, 1 - b2), squares))))
        direction = torch._foreach_div(debiased(mu, b1, count), root_plus(debiased(nu, b2, count), eps_root, eps))
        return rebuild(updates, direction), ScaleByYogiState(count, rebuild(updates, mu), rebuild(updates, nu))

    return GradientTransformation(init, update)


def yogi(
    lr: float | Tensor | Schedule = 1e-2, betas: Sequence[Hyper] = (0.9, 0.999), eps: Hyper = 1e-3
) -> GradientTransformation:
    """Yogi: [`scale_by_yogi`][optimtx.scale_by_yogi], then ``-lr``.

    Example:
        >>> tx = yogi(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]["w"] < 0
        tensor([True])
    """
    b1, b2 = check_betas(betas)
    return chain(scale_by_yogi(b1, b2, eps), scale_by_learning_rate(lr))
