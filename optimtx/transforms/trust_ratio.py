"""Layer-wise trust ratios, and the two optimizers built on them: LAMB and LARS (as optax composes them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, chain, checked_empty_init
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import check_params, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_bool, check_non_negative
from optimtx.transforms.adam import scale_by_adam
from optimtx.transforms.kernels import add_scaled, loop_invariant
from optimtx.transforms.momentum import check_nesterov, trace
from optimtx.transforms.optimizers import Hyper, _betas, _decay, is_present
from optimtx.transforms.scaling import ScaleByLearningRateState
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScheduledDecayState", "lamb", "lars", "scale_by_trust_ratio", "tensor_norms"]


def tensor_norms(xs: list[Tensor]) -> Tensor:
    """The 2-norm of each tensor, stacked into one float32 (or wider) vector.

    One batched kernel, except when autograd needs to flow through the norms
    (``_foreach_norm`` has no backward).

    Example:
        >>> tensor_norms([torch.tensor([3.0, 4.0]), torch.tensor(2.0)])
        tensor([5., 2.])
    """
    if torch.is_grad_enabled() and any(x.requires_grad for x in xs):
        norms = [torch.linalg.vector_norm(x) for x in xs]
    else:
        norms = list(torch._foreach_norm(xs))
    dtype = torch.float32
    for n in norms:
        dtype = torch.promote_types(dtype, n.dtype)
    return torch.stack([n.to(xs[0].device, dtype) for n in norms])


def scale_by_trust_ratio(
    trust_coefficient: Hyper = 1.0, eps: Hyper = 0.0, min_norm: Hyper = 0.0
) -> GradientTransformation:
    """Scale each tensor's update by ``trust_coefficient * ||param|| / (||update|| + eps)``.

    Where either norm is 0 the update is kept as it is (ratio 1), as in optax's
    ``scale_by_trust_ratio``. Norms are taken over each whole tensor, and raised to at
    least ``min_norm`` first (optax's ``safe_norm``).

    Args:
        trust_coefficient: multiplies the ratio (>= 0); LARS uses ``1e-3``, LAMB ``1``.
        eps: added to the update norm in the denominator (>= 0).
        min_norm: the smallest norm either side uses (>= 0).

    References:
        optax: ``optax.scale_by_trust_ratio``. You et al., "Large Batch Training of
        Convolutional Networks" (2017), https://arxiv.org/abs/1708.03888.

    Example:
        >>> tx = scale_by_trust_ratio()
        >>> p = {"w": torch.tensor([3.0, 4.0])}  # norm 5
        >>> tx.update({"w": torch.tensor([0.0, 0.5])}, tx.init(p), p)[0]  # update norm 0.5: ratio 10
        {'w': tensor([0., 5.])}
    """
    check_non_negative("trust_coefficient", trust_coefficient)
    check_non_negative("eps", eps)
    check_non_negative("min_norm", min_norm)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmptyState]:
        del extra
        check_state(state, EmptyState, "scale_by_trust_ratio")
        us, ps = _matched(updates, params, "scale_by_trust_ratio")
        if not us:
            return {}, state
        return rebuild(updates, _scaled(us, _trust_ratios(us, ps, trust_coefficient, eps, min_norm))), state

    return GradientTransformation(checked_empty_init, update)


def _matched(updates: Updates, params: Params | None, who: str) -> tuple[list[Tensor], list[Tensor]]:
    """The update and parameter tensors, matched by name and shape (updates in the parameters' dtypes)."""
    params = require_params(params, who)
    check_params(params)
    return matched_leaves(updates, params), leaves(params)


def _trust_ratios(
    us: list[Tensor], ps: list[Tensor], trust_coefficient: Hyper, eps: Hyper, min_norm: Hyper = 0.0
) -> Tensor:
    """The per-tensor ratios ``trust_coefficient * ||p|| / (||u|| + eps)`` (1 where a norm is 0), stacked."""
    param_norm, update_norm = tensor_norms(ps), tensor_norms(us)
    if isinstance(min_norm, Tensor) or min_norm != 0:
        param_norm, update_norm = torch.clamp(param_norm, min=min_norm), torch.clamp(update_norm, min=min_norm)
    ratio = trust_coefficient * param_norm / (update_norm + eps)
    return torch.where((param_norm == 0) | (update_norm == 0), torch.ones_like(ratio), ratio)


def _scaled(us: list[Tensor], factors: Tensor) -> list[Tensor]:
    """Each tensor times its entry of the stacked ``factors``, as one batched multiply."""
    return list(torch._foreach_mul(us, [f.to(u.dtype) for f, u in zip(factors.unbind(0), us, strict=True)]))


def _trust_ratio_then_lr(
    lr: Hyper | Callable[[Tensor], Any], trust_coefficient: Hyper, eps: Hyper
) -> GradientTransformation:
    """``scale_by_trust_ratio(trust_coefficient, eps)`` then ``scale_by_learning_rate(lr)``, as one multiply.

    Same state as ``scale_by_learning_rate`` (a step counter only for a schedule).
    """

    def init(params: Params) -> Any:
        check_params(params)
        return ScaleByLearningRateState(count=zero_counter(params)) if callable(lr) else EmptyState()

    def update(
        updates: Updates, state: Any, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], Any]:
        del extra
        check_state(state, ScaleByLearningRateState if callable(lr) else EmptyState, "the trust ratio")
        us, ps = _matched(updates, params, "the trust ratio")
        new_state = ScaleByLearningRateState(count=state.count + 1) if callable(lr) else state
        if not us:
            return {}, new_state
        rate = lr(state.count) if callable(lr) else lr
        rate = loop_invariant(rate) if isinstance(rate, Tensor) else rate
        ratios = _trust_ratios(us, ps, trust_coefficient, eps)
        return rebuild(updates, _scaled(us, ratios * -rate)), new_state

    return GradientTransformation(init, update)


def lamb(
    lr: Hyper = 1e-3, betas: tuple[Hyper, Hyper] = (0.9, 0.999), eps: Hyper = 1e-6, weight_decay: Hyper = 0.0
) -> GradientTransformation:
    """LAMB: Adam's direction plus decoupled decay, rescaled per tensor by the trust ratio, then ``-lr``.

    Equal to ``optax.lamb(lr, b1, b2, eps, weight_decay=weight_decay)`` (with
    ``eps_root=0``): ``r = adam(g) + weight_decay * p`` (``eps`` added after the square
    root of the bias-corrected second moment), and the update is ``-lr * ||p|| / ||r|| * r``
    per tensor (``-lr * r`` where either norm is 0).

    Args:
        lr: learning rate (>= 0), a number, a 0-d tensor or a schedule of the step count.
        betas: Adam's ``(b1, b2)``, each in [0, 1).
        eps: added to the denominator of Adam's direction (>= 0).
        weight_decay: decoupled weight decay, added before the trust ratio (>= 0); a number, a
            0-d tensor or a schedule of the step count (as optax takes it).

    References:
        You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes"
        (2020), https://arxiv.org/abs/1904.00962. optax: ``optax.lamb``.

    Example:
        >>> tx = lamb(0.1)
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update({"w": torch.tensor([1.0, 1.0])}, tx.init(p), p)[0]  # -0.1 * 5 / sqrt(2) per element
        {'w': tensor([-0.3536, -0.3536])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("eps", eps)
    check_non_negative("weight_decay", weight_decay, schedule=True)
    b1, b2 = _betas(betas)
    decay = [_scheduled_decay(weight_decay)] if callable(weight_decay) else _decay(weight_decay)
    return chain(scale_by_adam(b1, b2, eps), *decay, _trust_ratio_then_lr(lr, 1.0, 0.0))


class ScheduledDecayState(NamedTuple):
    """State of the decay step of [`lamb`][optimtx.lamb] when ``weight_decay`` is a schedule.

    Attributes:
        step_count: updates made (int64 0-d); the schedule is evaluated at it, from 0.
    """

    step_count: Tensor


def _scheduled_decay(schedule: Callable[[Tensor], Any]) -> GradientTransformation:
    """``updates + schedule(t) * params`` at step ``t`` (optax's ``add_decayed_weights`` with a schedule)."""

    def init(params: Params) -> ScheduledDecayState:
        return ScheduledDecayState(step_count=zero_counter(params))

    def update(
        updates: Updates, state: ScheduledDecayState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScheduledDecayState]:
        del extra
        check_state(state, ScheduledDecayState, "lamb's scheduled weight decay")
        us, ps = _matched(updates, params, "lamb")
        new_state = ScheduledDecayState(step_count=state.step_count + 1)
        if not us:
            return {}, new_state
        rate = schedule(state.step_count)
        rate = loop_invariant(rate) if isinstance(rate, Tensor) else rate
        return rebuild(updates, add_scaled(us, ps, rate)), new_state

    return GradientTransformation(init, update)


def lars(
    lr: Hyper,
    momentum: Hyper = 0.9,
    weight_decay: Hyper = 0.0,
    trust_coefficient: Hyper = 1e-3,
    eps: Hyper = 0.0,
    nesterov: bool = False,
) -> GradientTransformation:
    """LARS: decay, trust ratio, ``-lr``, then momentum, in optax's order.

    Equal to ``optax.lars(lr, weight_decay, trust_coefficient=..., eps=..., momentum=...,
    nesterov=...)``: the update direction ``g + weight_decay * p`` is rescaled per tensor
    by ``trust_coefficient * ||p|| / (||g + weight_decay * p|| + eps)``, multiplied by
    ``-lr``, and only then accumulated in the momentum buffer (so a scheduled ``lr``
    enters the buffer, as in optax, unlike torch's SGD).

    Args:
        lr: learning rate (>= 0), a number, a 0-d tensor or a schedule of the step count.
        momentum: momentum factor (>= 0); 0 turns momentum off.
        weight_decay: L2 decay added to the gradient before the trust ratio (>= 0).
        trust_coefficient: multiplies the trust ratio (>= 0).
        eps: added to the norm of the update in the ratio's denominator (>= 0).
        nesterov: Nesterov momentum (needs ``momentum > 0``).

    References:
        You et al., "Large Batch Training of Convolutional Networks" (2017),
        https://arxiv.org/abs/1708.03888. optax: ``optax.lars``.

    Example:
        >>> tx = lars(1.0, momentum=0.0, trust_coefficient=0.1)
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update({"w": torch.tensor([1.0, 2.0])}, tx.init(p), p)[0]  # -1 * 0.1 * 5 / sqrt(5) * g
        {'w': tensor([-0.2236, -0.4472])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("momentum", momentum)
    check_bool("nesterov", nesterov)
    check_nesterov(momentum, 0.0, nesterov)
    check_non_negative("trust_coefficient", trust_coefficient)
    check_non_negative("eps", eps)
    blocks = [*_decay(weight_decay), _trust_ratio_then_lr(lr, trust_coefficient, eps)]
    if is_present(momentum):
        blocks.append(trace(momentum, nesterov=nesterov))
    return chain(*blocks)
