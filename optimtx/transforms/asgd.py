"""Averaged SGD: ``torch.optim.ASGD`` as a pure transform, with the running average of the parameters in its state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, find_one, has_complex, on_real_view, zero_counter
from optimtx.core.tree import leaves, matched_leaves, rebuild
from optimtx.core.validation import check_bool, check_non_negative
from optimtx.transforms.kernels import add_scaled, loop_invariant, mul
from optimtx.transforms.optimizers import Hyper, _decay, _negate
from optimtx.transforms.weight_decay import require_params

__all__ = ["AsgdState", "asgd", "asgd_averaged_params", "is_number"]


class AsgdState(NamedTuple):
    """State of [`asgd`][optimtx.asgd].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        eta: the step size of the next update (float64 0-d), torch's ``eta``; before the first update
            the first update uses ``lr`` as it is then (torch reads the group's ``lr`` at the first step).
        mu: the averaging weight of the next update (float64 0-d), torch's ``mu``.
        ax: the running average of each parameter (torch's ``ax``); see
            [`asgd_averaged_params`][optimtx.asgd_averaged_params].
    """

    count: Tensor  # type: ignore[assignment]  # (shadows tuple.count, like the other states)
    eta: Tensor
    mu: Tensor
    ax: dict[str, Tensor]

    @staticmethod
    def hyperparameter_rules() -> dict[str, Callable[[str, Any], Any]]:
        """How ``set_hyperparams`` checks names that other factories check differently."""
        return {"alpha": check_non_negative}


def asgd(
    lr: Hyper = 1e-2,
    lambd: Hyper = 1e-4,
    alpha: Hyper = 0.75,
    t0: Hyper = 1e6,
    weight_decay: Hyper = 0,
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.ASGD``: SGD with a decaying step size and a running average of the parameters.

    The update is ``-eta * (g + lambd * p)`` (``g`` with L2 decay and the sign of ``maximize``
    applied); then the average moves to the new parameters, ``ax += mu * (p_new - ax)``, and the
    next ``eta = lr / (1 + lambd * lr * t) ** alpha`` and ``mu = 1 / max(1, t - t0)``. ``eta`` and
    ``mu`` live in the state as torch keeps them, so a changed ``lr`` (``inject_hyperparams``,
    schedulers) acts from the step after, as in torch. Evaluate with
    [`asgd_averaged_params`][optimtx.asgd_averaged_params].
    ``update`` needs ``params``. Its in-place step (for owners of the state, such as
    [`TransformOptimizer`][optimtx.TransformOptimizer]) runs torch's foreach ASGD kernel.

    Example:
        >>> tx = asgd(lr=0.1, lambd=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> u, state = tx.update({"w": torch.ones(1)}, tx.init(p), p)
        >>> u, asgd_averaged_params(state)
        ({'w': tensor([-0.1000])}, {'w': tensor([0.9000])})

    References:
        Polyak and Juditsky, 1992, "Acceleration of Stochastic Approximation by Averaging"; ``torch.optim.ASGD``.
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("lambd", lambd)
    check_non_negative("alpha", alpha)
    check_non_negative("t0", t0)
    check_bool("maximize", maximize)
    # No in-place step: torch's ASGD kernel reads eta from its own state, so a group's lr at the first step
    # (and float64 eta/mu) would not be honoured; the pure rule is exact there (issue 21, item 1).
    if is_number(weight_decay) and is_number(lambd):
        # One pass: -eta * (±g + (lambd + weight_decay) * p), the same sum torch forms in two.
        check_non_negative("weight_decay", weight_decay)
        return _scale_by_asgd(lr, lambd, alpha, t0, weight_decay, maximize)
    return chain(*_negate(maximize), *_decay(weight_decay), _scale_by_asgd(lr, lambd, alpha, t0, 0.0, False))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _step(
    grads: list[Tensor], ps: list[Tensor], eta: Tensor, lambd: Hyper, weight_decay: Hyper, maximize: bool
) -> list[Tensor]:
    """``-eta * (g + (lambd + weight_decay) * p)`` (``-g`` when maximizing)."""
    sign = -1.0 if maximize else 1.0
    if is_number(lambd) and is_number(weight_decay):
        out = list(torch._foreach_add(grads, ps, alpha=sign * (float(lambd) + float(weight_decay))))  # numbers
        torch._foreach_mul_(out, _weights(-sign * eta, out))  # fresh, and add's backward needs nothing
        return out
    return add_scaled(mul(ps, -lambd * eta), grads, -eta)


def _weights(value: Tensor, like: list[Tensor]) -> list[Tensor]:
    """``value`` once per tensor, in that tensor's dtype (one conversion per distinct dtype)."""
    by_dtype = {x.dtype: loop_invariant(value.to(x.dtype)) for x in like}
    return [by_dtype[x.dtype] for x in like]


def _scale_by_asgd(
    lr: Hyper, lambd: Hyper, alpha: Hyper, t0: Hyper, weight_decay: Hyper, maximize: bool
) -> GradientTransformation:
    def init(params: Params) -> AsgdState:
        count = zero_counter(params)
        first = _value(lr, count)
        return AsgdState(count, first, torch.ones_like(first), {k: torch.zeros_like(v) for k, v in params.items()})

    def update(
        updates: Updates, state: AsgdState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], AsgdState]:
        check_state(state, AsgdState, "asgd")
        grads = matched_leaves(updates, state.ax)
        ps = matched_leaves(require_params(params, "asgd"), state.ax, "params")
        if has_complex(grads):  # torch steps a complex parameter as its real view
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        rate, t = _value(lr, state.count), count.to(torch.float64)
        eta = rate / (1 + lambd * rate * t) ** alpha
        mu = 1 / torch.clamp(t - t0, min=1.0)
        new_state = AsgdState(count, eta, mu, {})
        if not grads:
            return {}, new_state
        # torch sets eta to the group's lr at the first step: a value given before then counts.
        step = _step(grads, ps, torch.where(state.count == 0, rate, state.eta), lambd, weight_decay, maximize)
        moved = torch._foreach_add(ps, step)
        # ax + mu * (moved - ax); not _foreach_lerp with tensor weights, which compiles into a slow loop.
        ax = list(torch._foreach_sub(moved, leaves(state.ax)))
        torch._foreach_mul_(ax, _weights(state.mu, ax))  # fresh, and sub's backward needs nothing
        torch._foreach_add_(ax, leaves(state.ax))
        return rebuild(updates, step), new_state._replace(ax=rebuild(updates, ax))

    return GradientTransformation(init, update)


def _value(lr: Hyper, count: Tensor) -> Tensor:
    """``lr`` (a number, a tensor, or a schedule evaluated at ``count``) as a float64 0-d tensor on count's device."""
    value = lr(count) if callable(lr) else lr
    return torch.as_tensor(value, dtype=torch.float64, device=count.device).clone()


def asgd_averaged_params(state: Any) -> dict[str, Tensor]:
    """The averaged parameters (torch's ``ax``) kept by the one [`asgd`][optimtx.asgd] inside ``state``.

    Evaluate with these weights, as ASGD intends; training continues from the plain parameters.

    Example:
        >>> tx = asgd(lr=0.5, lambd=0.0, t0=0.0)
        >>> p = {"w": torch.zeros(1)}
        >>> _, state = tx.update({"w": torch.ones(1)}, tx.init(p), p)
        >>> asgd_averaged_params(state)
        {'w': tensor([-0.5000])}
    """
    return dict(find_one(state, AsgdState, "asgd(...)").ax)
