"""Learning rates from an estimate of the distance to the solution: D-Adaptation, Prodigy, DoG and DoWG.

Each keeps its distance estimate as a 0-d tensor in the state (in the parameters' lowest
float precision, as optax does), so the step size is data, not a Python number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, has_complex, on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_bool, check_choice, check_non_negative, check_positive
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, at_step, scalar_state, squared_norm, vdot
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import add, add_scaled, decay_add_square, mul
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights, require_params

__all__ = [
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "ProdigyState",
    "dadapt_adamw",
    "dog",
    "dowg",
    "prodigy",
    "scale_by_dog",
    "scale_by_dowg",
]


class DAdaptAdamWState(NamedTuple):
    """State of `dadapt_adamw` (optax's field names).

    Attributes:
        exp_avg: first moment, already multiplied by the adapted learning rate.
        exp_avg_sq: second moment.
        grad_sum: the weighted sum of past steps that measures the distance travelled.
        estim_lr: the current distance estimate ``d`` (0-d).
        numerator_weighted: the running numerator of the estimate (0-d).
        count: how many updates were made (int64 0-d tensor).
    """

    exp_avg: dict[str, Tensor]
    exp_avg_sq: dict[str, Tensor]
    grad_sum: dict[str, Tensor]
    estim_lr: Tensor
    numerator_weighted: Tensor
    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose


def _matched_params(
    updates: Updates, params: Params | None, reference: Any, who: str
) -> tuple[list[Tensor], list[Tensor]]:
    params = require_params(params, who)
    return matched_leaves(updates, reference), matched_leaves(params, reference, "params")


def _check_adaptive(lr: Any, betas: Any, eps: Any, estim_lr0: Any, weight_decay: Any) -> tuple[Any, Any]:
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = check_betas(betas)
    check_non_negative("eps", eps)
    check_positive("estim_lr0", estim_lr0)
    check_non_negative("weight_decay", weight_decay)
    return b1, b2


def _l1(xs: list[Tensor], dtype: torch.dtype) -> Tensor:
    return torch.stack([x.abs().sum().to(dtype) for x in xs]).sum()


def _step(
    exp_avg: list[Tensor], denominator: list[Tensor], ps: list[Tensor], scale: Tensor, decay: Any
) -> list[Tensor]:
    """``-decay * scale * p - exp_avg / denominator``: the decoupled decay and the adaptive step, together."""
    out = list(torch._foreach_div(exp_avg, denominator))
    torch._foreach_neg_(out)
    return add_scaled(out, ps, -decay * scale) if isinstance(decay, Tensor) or decay != 0 else out


def dadapt_adamw(
    lr: float | Tensor | Schedule = 1.0,
    betas: Sequence[Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
) -> GradientTransformation:
    """AdamW whose step size ``d`` is learned by D-Adaptation (a whole optimizer: the output is the step).

    ``lr`` multiplies the adapted rate (keep it at 1, or use it as a schedule). ``d`` starts at
    ``estim_lr0`` and only grows. ``update`` needs ``params``.

    References:
        Defazio & Mishchenko, 2023, *Learning-Rate-Free Learning by D-Adaptation* (ICML);
        optax: ``optax.contrib.dadapt_adamw``.

    Example:
        >>> tx = dadapt_adamw()
        >>> p = {"w": torch.ones(2)}
        >>> state = tx.init(p)
        >>> for _ in range(3):
        ...     u, state = tx.update({"w": torch.tensor([1.0, -1.0])}, state, p)
        >>> bool(state.estim_lr > 1e-6)  # the distance estimate grew
        True
    """
    b1, b2 = _check_adaptive(lr, betas, eps, estim_lr0, weight_decay)
    sb2 = b2**0.5

    def init(params: Params) -> DAdaptAdamWState:
        check_params(params)
        ea, eas, gs = (zeros_like(params) for _ in range(3))
        return DAdaptAdamWState(
            ea, eas, gs, scalar_state(estim_lr0, params), scalar_state(0.0, params), zero_counter(params)
        )

    def update(
        updates: Updates, state: DAdaptAdamWState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, DAdaptAdamWState]:
        check_state(state, DAdaptAdamWState, "dadapt_adamw")
        grads, ps = _matched_params(updates, params, state.exp_avg, "dadapt_adamw")
        if has_complex(grads):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        dtype = state.estim_lr.dtype
        correction = bias_correction(b2, count).sqrt() / bias_correction(b1, count)
        dlr = (state.estim_lr * at_step(lr, state.count) * correction).to(dtype)
        old_root = add(list(torch._foreach_pow(leaves(state.exp_avg_sq), 0.5)), eps)
        numerator_acum = vdot(grads, list(torch._foreach_div(leaves(state.grad_sum), old_root)))
        scaled = mul(grads, dlr)
        exp_avg = add_scaled(mul(leaves(state.exp_avg), b1), scaled, 1 - b1)
        exp_avg_sq = decay_add_square(leaves(state.exp_avg_sq), grads, b2, 1 - b2)
        grad_sum = add_scaled(mul(leaves(state.grad_sum), sb2), scaled, 1 - sb2)
        numerator = (sb2 * state.numerator_weighted + (1 - sb2) * dlr * numerator_acum).to(dtype)
        estimate = numerator / ((1 - sb2) * _l1(grad_sum, numerator_acum.dtype))
        estim_lr = torch.maximum(state.estim_lr, estimate.to(dtype))
        root = add(list(torch._foreach_pow(exp_avg_sq, 0.5)), eps)
        out = _step(exp_avg, root, ps, dlr, weight_decay)
        trees = (rebuild(updates, x) for x in (exp_avg, exp_avg_sq, grad_sum))
        ea, eas, gs = trees
        return rebuild(updates, out), DAdaptAdamWState(ea, eas, gs, estim_lr, numerator, count)

    return GradientTransformation(init, update)


class ProdigyState(NamedTuple):
    """State of `prodigy` (optax's field names).

    Attributes:
        exp_avg: first moment of ``d * g``.
        exp_avg_sq: second moment of ``d * g``.
        grad_sum: the weighted sum of past steps (the estimate's denominator).
        params0: the initial parameters.
        estim_lr: the current distance estimate ``d`` (0-d).
        numerator_weighted: the running numerator of the estimate (0-d).
        count: how many updates were made (int64 0-d tensor).
    """

    exp_avg: dict[str, Tensor]
    exp_avg_sq: dict[str, Tensor]
    grad_sum: dict[str, Tensor]
    params0: dict[str, Tensor]
    estim_lr: Tensor
    numerator_weighted: Tensor
    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose


def prodigy(
    lr: float | Tensor | Schedule = 1.0,
    betas: Sequence[Hyper] = (0.9, 0.999),
    beta3: Hyper | None = None,
    eps: Hyper = 1e-8,
    estim_lr0: Hyper = 1e-6,
    estim_lr_coef: Hyper = 1.0,
    weight_decay: Hyper = 0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformation:
    """Prodigy: Adam on ``d * g`` with ``d`` estimated from the distance to the initial parameters.

    A whole optimizer (the output is the step); ``update`` needs ``params``. ``beta3`` defaults
    to ``sqrt(b2)``; ``safeguard_warmup`` leaves the schedule out of the estimate's denominator.

    References:
        Mishchenko & Defazio, 2024, *Prodigy: An Expeditiously Adaptive Parameter-Free Learner*
        (ICML); optax: ``optax.contrib.prodigy``.

    Example:
        >>> tx = prodigy()
        >>> p = {"w": torch.ones(2)}
        >>> state = tx.init(p)
        >>> for _ in range(3):
        ...     u, state = tx.update({"w": torch.tensor([1.0, -1.0])}, state, p)
        ...     p = {"w": p["w"] + u["w"]}
        >>> state.count, bool((u["w"] * torch.tensor([1.0, -1.0]) < 0).all())  # steps against the gradient
        (tensor(3), True)
    """
    b1, b2 = _check_adaptive(lr, betas, eps, estim_lr0, weight_decay)
    b3 = b2**0.5 if beta3 is None else beta3
    check_non_negative("beta3", b3)
    check_positive("estim_lr_coef", estim_lr_coef)
    check_bool("safeguard_warmup", safeguard_warmup)

    def init(params: Params) -> ProdigyState:
        check_params(params)
        ea, eas, gs = (zeros_like(params) for _ in range(3))
        d, numerator = scalar_state(estim_lr0, params), scalar_state(0.0, params)
        return ProdigyState(ea, eas, gs, copy_tree(params), d, numerator, zero_counter(params))

    def update(
        updates: Updates, state: ProdigyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ProdigyState]:
        check_state(state, ProdigyState, "prodigy")
        grads, ps = _matched_params(updates, params, state.exp_avg, "prodigy")
        if has_complex(grads):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        d, dtype = state.estim_lr, state.estim_lr.dtype
        correction = bias_correction(b2, count).sqrt() / bias_correction(b1, count)
        dlr = (d * at_step(lr, state.count) * correction).to(dtype)
        dg = mul(grads, d)
        numerator_acum = vdot(grads, list(torch._foreach_sub(leaves(state.params0), ps)))
        exp_avg = add_scaled(mul(leaves(state.exp_avg), b1), dg, 1 - b1)
        exp_avg_sq = decay_add_square(leaves(state.exp_avg_sq), dg, b2, 1 - b2)
        grad_sum = add_scaled(mul(leaves(state.grad_sum), b3), dg, (d if safeguard_warmup else dlr) / estim_lr0)
        numerator = (b3 * state.numerator_weighted + d / estim_lr0 * dlr * numerator_acum).to(dtype)
        estimate = estim_lr_coef * numerator / _l1(grad_sum, numerator_acum.dtype)
        estim_lr = torch.maximum(d, estimate.to(dtype))
        root = add(list(torch._foreach_pow(exp_avg_sq, 0.5)), estim_lr * eps)
        out = _step(mul(exp_avg, dlr), root, ps, dlr, weight_decay)
        trees = (rebuild(updates, x) for x in (exp_avg, exp_avg_sq, grad_sum))
        ea, eas, gs = trees
        return rebuild(updates, out), ProdigyState(ea, eas, gs, state.params0, estim_lr, numerator, count)

    return GradientTransformation(init, update)


class DoGState(NamedTuple):
    """State of `scale_by_dog` (optax's field names).

    Attributes:
        is_init_step: whether no update was made yet (bool 0-d tensor).
        init_params: the initial parameters.
        max_dist: the largest distance from them seen so far (0-d).
        sum_sq_norm_grads: the sum of the squared gradient norms (0-d).
    """

    is_init_step: Tensor
    init_params: dict[str, Tensor]
    max_dist: Tensor
    sum_sq_norm_grads: Tensor


_INIT_STEPS = ("distance", "learning_rate", "heuristic")


def _distance(init_params: dict[str, Tensor], ps: list[Tensor]) -> Tensor:
    return squared_norm(list(torch._foreach_sub(leaves(init_params), ps)))


def scale_by_dog(init_step: tuple[str, Hyper] = ("heuristic", 1e-6), eps: Hyper = 1e-8) -> GradientTransformation:
    """Scale updates by DoG's step ``max_t ||x_t - x_0|| / sqrt(sum_t ||g_t||**2 + eps)``.

    ``init_step`` sets the first step: ``("distance", r)`` starts the distance at ``r``,
    ``("heuristic", c)`` at ``c * (1 + ||x_0||)``, ``("learning_rate", lr)`` uses ``lr`` for the first
    step. Norms are global (over all tensors). ``update`` needs ``params``.

    References:
        Ivgi et al., 2023, *DoG is SGD's Best Friend* (ICML); optax: ``optax.contrib.dog``.

    Example:
        >>> tx = scale_by_dog(("distance", 1.0), eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]  # 1 / 5 of g
        {'w': tensor([0.6000, 0.8000])}
    """
    if not isinstance(init_step, Sequence) or len(init_step) != 2:
        raise ValueError(f"init_step must be a pair (kind, value) with kind in {_INIT_STEPS}, got {init_step!r}.")
    kind, value = init_step
    check_choice("init_step kind", kind, _INIT_STEPS)
    check_non_negative("init_step value", value)
    check_non_negative("eps", eps)

    def init(params: Params) -> DoGState:
        check_params(params)
        start: Any = 0.0
        if kind == "distance":
            start = value
        elif kind == "heuristic":
            start = value * (1 + squared_norm(leaves(params)).sqrt()) if params else value
        device = next(iter(params.values())).device if params else None
        flag = torch.ones((), dtype=torch.bool, device=device)
        return DoGState(flag, copy_tree(params), scalar_state(start, params), scalar_state(0.0, params))

    def update(updates: Updates, state: DoGState, params: Params | None = None, **extra: Any) -> tuple[Tree, DoGState]:
        check_state(state, DoGState, "scale_by_dog")
        grads, ps = _matched_params(updates, params, state.init_params, "scale_by_dog")
        if not grads:
            return {}, state
        dtype = state.max_dist.dtype
        max_dist = torch.maximum(state.max_dist, _distance(state.init_params, ps).sqrt().to(dtype))
        total = state.sum_sq_norm_grads + squared_norm(grads).to(dtype)
        rate = max_dist / (total + eps).sqrt()
        if kind == "learning_rate":
            first = value.to(rate.dtype) if isinstance(value, Tensor) else torch.full_like(rate, value)
            rate = torch.where(state.is_init_step, first, rate)
        new_state = DoGState(torch.zeros_like(state.is_init_step), state.init_params, max_dist, total)
        return rebuild(updates, mul(grads, rate)), new_state

    return GradientTransformation(init, update)


def _decayed_then(
    block: GradientTransformation, weight_decay: Hyper | None, mask: Any, lr: Any
) -> GradientTransformation:
    decay = [] if weight_decay is None else [add_decayed_weights(weight_decay, mask)]
    return chain(*decay, block, scale_by_learning_rate(lr))


def dog(
    lr: float | Tensor | Schedule = 1.0,
    init_step: tuple[str, Hyper] = ("heuristic", 1e-6),
    eps: Hyper = 1e-8,
    weight_decay: Hyper | None = None,
    mask: Any | None = None,
) -> GradientTransformation:
    """DoG: coupled weight decay (if given), [`scale_by_dog`][optimtx.scale_by_dog], then ``-lr``.

    Example:
        >>> tx = dog(init_step=("distance", 1.0), eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.6000, -0.8000])}
    """
    return _decayed_then(scale_by_dog(init_step, eps), weight_decay, mask, lr)


class DoWGState(NamedTuple):
    """State of `scale_by_dowg` (optax's field names).

    Attributes:
        init_params: the initial parameters.
        weighted_sq_norm_grads: the distance-weighted sum of squared gradient norms (0-d).
        estim_sq_dist: the largest squared distance from the initial parameters (0-d).
    """

    init_params: dict[str, Tensor]
    weighted_sq_norm_grads: Tensor
    estim_sq_dist: Tensor


def scale_by_dowg(init_estim_sq_dist: Hyper | None = None, eps: Hyper = 1e-4) -> GradientTransformation:
    """Scale updates by DoWG's step ``r**2 / (sqrt(sum_t r_t**2 ||g_t||**2) + eps)``, ``r`` the largest distance.

    ``init_estim_sq_dist`` is the first squared-distance estimate (default ``eps``). ``update`` needs ``params``.

    References:
        Khaled et al., 2023, *DoWG Unleashed* (NeurIPS); optax: ``optax.contrib.dowg``.

    Example:
        >>> tx = scale_by_dowg(1.0, eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([0.6000, 0.8000])}
    """
    check_non_negative("eps", eps)
    if init_estim_sq_dist is not None:
        check_non_negative("init_estim_sq_dist", init_estim_sq_dist)
    start = eps if init_estim_sq_dist is None else init_estim_sq_dist

    def init(params: Params) -> DoWGState:
        check_params(params)
        return DoWGState(copy_tree(params), scalar_state(0.0, params), scalar_state(start, params))

    def update(
        updates: Updates, state: DoWGState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, DoWGState]:
        check_state(state, DoWGState, "scale_by_dowg")
        grads, ps = _matched_params(updates, params, state.init_params, "scale_by_dowg")
        if not grads:
            return {}, state
        dtype = state.estim_sq_dist.dtype
        estimate = torch.maximum(state.estim_sq_dist, _distance(state.init_params, ps).to(dtype))
        weighted = estimate * squared_norm(grads).to(dtype) + state.weighted_sq_norm_grads
        rate = estimate / (weighted.sqrt() + eps)
        return rebuild(updates, mul(grads, rate)), DoWGState(state.init_params, weighted, estimate)

    return GradientTransformation(init, update)


def dowg(
    lr: float | Tensor | Schedule = 1.0,
    init_estim_sq_dist: Hyper | None = None,
    eps: Hyper = 1e-4,
    weight_decay: Hyper | None = None,
    mask: Any | None = None,
) -> GradientTransformation:
    """DoWG: coupled weight decay (if given), [`scale_by_dowg`][optimtx.scale_by_dowg], then ``-lr``.

    Example:
        >>> tx = dowg(init_estim_sq_dist=1.0, eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.6000, -0.8000])}
    """
    return _decayed_then(scale_by_dowg(init_estim_sq_dist, eps), weight_decay, mask, lr)
