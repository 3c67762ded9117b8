"""Rectified Adam: ``torch.optim.RAdam`` as a pure transform."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.inplace import with_step_
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_finite, check_non_negative, check_unit_interval
from optimtx.transforms._inplace_rules import radam_nadam_step
from optimtx.transforms.adam import _first_moment_step, _step_scalar, bias_correction, checked_grads
from optimtx.transforms.kernels import add_, add_scaled, decay_add_square, mul
from optimtx.transforms.optimizers import Hyper, _betas, _decay, _negate
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleByRadamState", "radam", "scale_by_radam"]


class ScaleByRadamState(NamedTuple):
    """State of [`scale_by_radam`][optimtx.scale_by_radam].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        mu: first moment (``exp_avg``) of each parameter.
        nu: second moment (``exp_avg_sq``) of each parameter.
    """

    count: Tensor  # type: ignore[assignment]  # (shadows tuple.count, like the other states)
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def _rectification(
    b2: float | Tensor, count: Tensor, threshold: float | Tensor = 5.0, inclusive: bool = False
) -> tuple[Tensor, Tensor]:
    """``(use_adaptive, rect)`` for step ``count``: whether the variance is tractable (``rho_t > 5``) and its factor."""
    t = count.to(torch.float64)
    bc2 = bias_correction(b2, count)
    rho_inf = 2 / (1 - torch.as_tensor(b2, dtype=torch.float64)) - 1
    rho_t = rho_inf - 2 * t * b2**t / bc2
    use = rho_t >= threshold if inclusive else rho_t > threshold
    ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    # Where the term is not used its formula may be 0/0 or negative: select a harmless 1 before the root.
    rect = torch.where(use, ratio, torch.ones_like(ratio)).sqrt()
    return use, rect


def scale_by_radam(
    b1: float | Tensor = 0.9,
    b2: float | Tensor = 0.999,
    eps: float | Tensor = 1e-8,
    *,
    threshold: float | Tensor = 5.0,
    eps_after_correction: bool = False,
    eps_root: float | Tensor = 0.0,
    nesterov: bool = False,
) -> GradientTransformation:
    """Rescale updates by RAdam's rectified, bias-corrected moments, as ``torch.optim.RAdam`` does.

    With ``m``, ``v`` Adam's moments at step ``t``, ``rho_inf = 2 / (1 - b2) - 1`` and
    ``rho_t = rho_inf - 2 t b2**t / (1 - b2**t)``: while ``rho_t <= 5`` the output is the
    bias-corrected momentum ``m / (1 - b1**t)``; afterwards it is multiplied by
    ``rect_t * sqrt(1 - b2**t) / (sqrt(v) + eps)``, with ``rect_t`` the variance rectification
    of Liu et al. The switch is a ``torch.where`` on the step count (no host sync).

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added to ``sqrt(v)`` (>= 0).
        threshold: the adaptive step starts once ``rho_t`` passes it (torch: 5).
        eps_after_correction: optax's form: ``rect_t * m_hat / (sqrt(v / (1 - b2**t) + eps_root) + eps)``, switched on
            once ``rho_t >= threshold`` (torch adds ``eps`` to ``sqrt(v)`` before the bias correction).
        eps_root: added inside the square root in optax's form (>= 0).
        nesterov: optax's Nesterov form: ``m_hat = b1 * m / (1 - b1**(t+1)) + (1 - b1) * g / (1 - b1**t)``.

    Example:
        >>> tx = scale_by_radam()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # early steps: plain bias-corrected momentum
        {'w': tensor([ 2.0000, -0.5000])}

    References:
        Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond"; ``torch.optim.RAdam``;
        ``optax.scale_by_radam``.
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_finite("threshold", threshold)
    check_bool("eps_after_correction", eps_after_correction)
    check_non_negative("eps_root", eps_root)
    check_bool("nesterov", nesterov)
    variant = (threshold, eps_after_correction, eps_root, nesterov)
    return _radam_transform(b1, b2, eps, None, variant)


def _nesterov_numerator(mu: list[Tensor], grads: list[Tensor], b1: Hyper, count: Tensor) -> list[Tensor]:
    """``b1 * m * bc1(t) / bc1(t + 1) + (1 - b1) * g``: optax's Nesterov ``m_hat`` times ``bc1(t)``."""
    weight = b1 * bias_correction(b1, count) / bias_correction(b1, count + 1)
    return add_scaled(mul(mu, _step_scalar(weight, mu)), grads, 1 - b1)


def _radam_transform(
    b1: Hyper, b2: Hyper, eps: Hyper, lr: Any, variant: tuple[Any, bool, Any, bool] = (5.0, False, 0.0, False)
) -> GradientTransformation:
    """`scale_by_radam`, times ``-lr`` when ``lr`` is given (a number, tensor or schedule at the count).

    Folding the learning rate into RAdam's per-step factor saves the separate scaling pass.
    """

    def init(params: Params) -> ScaleByRadamState:
        return ScaleByRadamState(count=zero_counter(params), mu=zeros_like(params), nu=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByRadamState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByRadamState]:
        grads = checked_grads(updates, state, ScaleByRadamState, "scale_by_radam")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        grads, count, mu = _first_moment_step(grads, state, b1)
        if not grads:
            return {}, state._replace(count=count)
        nu = decay_add_square(leaves(state.nu), grads, b2, 1 - b2)
        threshold, after, eps_root, nesterov = variant
        use, rect = _rectification(b2, count, threshold, inclusive=after)
        if after:  # optax: denominator sqrt(v / bc2 + eps_root) + eps while adaptive, else 1; scale rect / bc1.
            hat = mul(nu, _step_scalar(1 / bias_correction(b2, count), nu))
            add_(hat, eps_root)
            denominator = list(torch._foreach_pow(hat, 0.5))
            rescale = rect
        else:  # torch: denominator sqrt(v) + eps while adaptive, else 1; scale rect * sqrt(bc2) / bc1.
            denominator = list(torch._foreach_pow(nu, 0.5))  # not sqrt: pow's backward does not keep its output
            rescale = rect * bias_correction(b2, count).sqrt()
        add_(denominator, _step_scalar(torch.as_tensor(eps, dtype=torch.float64), nu))
        # Selected, not multiplied by 0: while not adaptive an inf second moment must not turn 0 * inf into nan.
        denominator = [torch.where(use.to(d.device), d, 1.0) for d in denominator]
        factor = torch.where(use, rescale, 1.0) / bias_correction(b1, count)
        if lr is not None:
            factor = factor * -torch.as_tensor(lr(state.count) if callable(lr) else lr, dtype=torch.float64)
        numerator = _nesterov_numerator(mu, grads, b1, count) if nesterov else mu
        out = list(torch._foreach_div(numerator, denominator))  # fresh; div's backward needs only its inputs
        torch._foreach_mul_(out, _step_scalar(factor, out))
        return rebuild(updates, out), ScaleByRadamState(count=count, mu=rebuild(updates, mu), nu=rebuild(updates, nu))

    return GradientTransformation(init, update)


def radam(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.RAdam``: (coupled L2 or decoupled) decay, the rectified Adam direction, then ``-lr``.

    ``decoupled_weight_decay=True`` gives torch's ``param *= 1 - lr * weight_decay`` (AdamW-style);
    otherwise ``weight_decay * param`` is added to the gradient. ``maximize`` negates the gradient first.

    Example:
        >>> tx = radam(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]  # -lr * the bias-corrected momentum
        {'w': tensor([-0.5000])}

    References:
        Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond"; ``torch.optim.RAdam``;
        ``optax.radam``.
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    check_non_negative("eps", eps)
    decay = _decay(weight_decay)
    decoupled = check_bool("decoupled_weight_decay", decoupled_weight_decay)
    if decoupled:
        tx = chain(*_negate(maximize), scale_by_radam(b1, b2, eps), *decay, scale_by_learning_rate(lr))
    else:
        tx = chain(*_negate(maximize), *decay, _radam_transform(b1, b2, eps, lr))
    step = radam_nadam_step(ScaleByRadamState, b1, b2, eps, weight_decay, decoupled, maximize)
    return with_step_(tx, step(lr))
