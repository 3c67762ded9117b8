"""Nesterov-accelerated Adam: ``torch.optim.NAdam`` as a pure transform."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.inplace import with_step_
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_non_negative, check_unit_interval
from optimtx.transforms._inplace_rules import radam_nadam_step
from optimtx.transforms.adam import _first_moment_step, _step_scalar, bias_correction, checked_grads
from optimtx.transforms.kernels import add_, decay_add_square, loop_invariant
from optimtx.transforms.optimizers import Hyper, _betas, _decay, _negate
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleByNadamState", "nadam", "scale_by_nadam"]


class ScaleByNadamState(NamedTuple):
    """State of [`scale_by_nadam`][optimtx.scale_by_nadam].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        mu_product: the product of the momentum schedule so far (float64 0-d), torch's ``mu_product``
            (torch keeps one copy per parameter; they are all equal).
        mu: first moment (``exp_avg``) of each parameter.
        nu: second moment (``exp_avg_sq``) of each parameter.
    """

    count: Tensor  # type: ignore[assignment]  # (shadows tuple.count, like the other states)
    mu_product: Tensor
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def _momentum_schedule(b1: float | Tensor, momentum_decay: float | Tensor, step: Tensor) -> Tensor:
    """Dozat's warming momentum ``b1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))`` (float64)."""
    return b1 * (1.0 - 0.5 * 0.96 ** (step.to(torch.float64) * momentum_decay))


def scale_by_nadam(
    b1: float | Tensor = 0.9,
    b2: float | Tensor = 0.999,
    eps: float | Tensor = 1e-8,
    momentum_decay: float | Tensor = 4e-3,
) -> GradientTransformation:
    """Rescale updates as ``torch.optim.NAdam`` does.

    With Adam's moments ``m``, ``v`` at step ``t``, the momentum schedule
    ``mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))`` and ``P_t = mu_1 * ... * mu_t``,
    the output is ``(c_g * g + c_m * m) / (sqrt(v / (1 - b2**t)) + eps)`` with ``c_g = (1 - mu_t) / (1 - P_t)``
    and ``c_m = mu_{t+1} / (1 - P_t * mu_{t+1})``.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added to the denominator (>= 0).
        momentum_decay: how fast the momentum schedule warms up (>= 0), torch's ``momentum_decay``.

    Example:
        >>> tx = scale_by_nadam(eps=0.0)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # (c_g + 0.1 c_m) * sign(g), c_g + 0.1 c_m a little above 1
        {'w': tensor([ 1.0565, -1.0565])}

    References:
        Dozat, 2016, "Incorporating Nesterov Momentum into Adam"; ``torch.optim.NAdam``; ``optax.nadam``.
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_non_negative("momentum_decay", momentum_decay)
    return _nadam_transform(b1, b2, eps, momentum_decay, None)


def _nadam_transform(b1: Hyper, b2: Hyper, eps: Hyper, momentum_decay: Hyper, lr: Any) -> GradientTransformation:
    """`scale_by_nadam`, times ``-lr`` when ``lr`` is given (a number, tensor or schedule at the count).

    ``c_g * g + c_m * m`` is computed as ``c_g * (g + (c_m / c_g) * m)`` and ``sqrt(v / bc2) + eps`` as
    ``(sqrt(v) + eps * sqrt(bc2)) / sqrt(bc2)``, the scalar factors (and ``-lr``) joining one
    multiplication at the end.
    """

    def init(params: Params) -> ScaleByNadamState:
        count = zero_counter(params)
        one = torch.ones((), dtype=torch.float64, device=count.device)
        return ScaleByNadamState(count=count, mu_product=one, mu=zeros_like(params), nu=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByNadamState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByNadamState]:
        grads = checked_grads(updates, state, ScaleByNadamState, "scale_by_nadam")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        grads, count, mu = _first_moment_step(grads, state, b1)
        mu_t = _momentum_schedule(b1, momentum_decay, count)
        mu_next = _momentum_schedule(b1, momentum_decay, count + 1)
        product = state.mu_product * mu_t
        if not grads:
            return {}, state._replace(count=count, mu_product=product)
        nu = decay_add_square(leaves(state.nu), grads, b2, 1 - b2)
        root_bc2 = bias_correction(b2, count).sqrt()
        denominator = list(torch._foreach_pow(nu, 0.5))  # not sqrt: pow's backward does not keep its output
        add_(denominator, _step_scalar(eps * root_bc2, nu))
        c_g, c_m = (1 - mu_t) / (1 - product), mu_next / (1 - product * mu_next)
        factor = c_g * root_bc2  # c_g > 0: mu_t < 1
        if lr is not None:
            factor = factor * -torch.as_tensor(lr(state.count) if callable(lr) else lr, dtype=torch.float64)
        # g + (c_m / c_g) * m; not _foreach_lerp with tensor weights, which compiles into a slow loop.
        # g + r * m in one pass; then in place on that fresh buffer (addcmul's backward needs no output).
        out = list(torch._foreach_addcmul(grads, mu, _weights(c_m / c_g, mu)))
        torch._foreach_div_(out, denominator)
        torch._foreach_mul_(out, _step_scalar(factor, out))
        new_state = ScaleByNadamState(count, product, rebuild(updates, mu), rebuild(updates, nu))
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def _weights(weight: Tensor, like: list[Tensor]) -> list[Tensor]:
    """A lerp weight per tensor, in that tensor's dtype (one conversion per distinct dtype)."""
    by_dtype = {x.dtype: loop_invariant(weight.to(x.dtype)) for x in like}
    return [by_dtype[x.dtype] for x in like]


def nadam(
    lr: Hyper = 2e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    momentum_decay: Hyper = 4e-3,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.NAdam``: (coupled L2 or decoupled) decay, the NAdam direction, then ``-lr``.

    ``decoupled_weight_decay=True`` is torch's NAdamW (``param *= 1 - lr * weight_decay``);
    otherwise ``weight_decay * param`` is added to the gradient. ``maximize`` negates the gradient first.

    Example:
        >>> tx = nadam(0.1, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1056])}

    References:
        Dozat, 2016, "Incorporating Nesterov Momentum into Adam"; ``torch.optim.NAdam``; ``optax.nadamw``.
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    core = scale_by_nadam(b1, b2, eps, momentum_decay)
    decay = _decay(weight_decay)
    decoupled = check_bool("decoupled_weight_decay", decoupled_weight_decay)
    if decoupled:
        tx = chain(*_negate(maximize), core, *decay, scale_by_learning_rate(lr))
    else:
        tx = chain(*_negate(maximize), *decay, _nadam_transform(b1, b2, eps, momentum_decay, lr))
    step = radam_nadam_step(
        ScaleByNadamState, b1, b2, eps, weight_decay, decoupled, maximize, momentum_decay=momentum_decay
    )
    return with_step_(tx, step(lr))
