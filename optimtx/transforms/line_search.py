"""Line searches that rescale an update using the loss: backtracking (Armijo) in optax's form.

The search reads three ``update`` extras, as optax's does: ``value`` (the loss at the current
parameters, a 0-d tensor), ``grad`` (its gradient, a dict of tensors) and ``value_fn`` (the loss
as a function of a parameter dict; extra keywords it accepts are passed on to it). The loop runs a
fixed number of times, each trial masked once the condition holds, so the number of iterations
never depends on the data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, select
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_non_negative, check_non_negative_int, check_positive
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._moment_rules import vdot
from optimtx.transforms.kernels import add_scaled, mul
from optimtx.transforms.polyak import loss_value
from optimtx.transforms.weight_decay import require_params

__all__ = [
    "BacktrackingLinesearchInfo",
    "ScaleByBacktrackingLinesearchState",
    "scale_by_backtracking_linesearch",
    "split_value_fn_kwargs",
    "value_and_grad_of",
]


class BacktrackingLinesearchInfo(NamedTuple):
    """What the last search did: how many trials it made and the decrease error it ended with."""

    num_linesearch_steps: Tensor
    decrease_error: Tensor


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of `scale_by_backtracking_linesearch` (optax's field names).

    Attributes:
        learning_rate: the step size accepted last (the next search starts from it, increased).
        value: the loss at the accepted point.
        grad: the gradient there, with ``store_grad=True`` (``None`` otherwise).
        info: a [`BacktrackingLinesearchInfo`][optimtx.transforms.line_search.BacktrackingLinesearchInfo].
    """

    learning_rate: Tensor
    value: Tensor
    grad: dict[str, Tensor] | None
    info: BacktrackingLinesearchInfo


def split_value_fn_kwargs(value_fn: Callable[..., Any], extra: dict[str, Any], who: str) -> dict[str, Any]:
    """The extras ``value_fn`` accepts by name; any other extra is refused (optax's rule).

    Example:
        >>> split_value_fn_kwargs(lambda p, batch: 0.0, {"batch": 1}, "search")
        {'batch': 1}
    """
    names = inspect.signature(value_fn).parameters
    taken = {k: v for k, v in extra.items() if k in names}
    left = sorted(set(extra) - set(taken))
    if left:
        raise TypeError(
            f"{who} got extra keyword arguments {left} that value_fn does not accept; pass only those it takes."
        )
    return taken


def value_and_grad_of(
    value_fn: Callable[..., Tensor], params: dict[str, Tensor], kwargs: dict[str, Any]
) -> tuple[Tensor, dict[str, Tensor]]:
    """``value_fn(params, **kwargs)`` and its gradient with respect to ``params`` (by autograd)."""
    with torch.enable_grad():
        inputs = {k: v.detach().requires_grad_() for k, v in params.items()}
        value = value_fn(inputs, **kwargs)
        grads = torch.autograd.grad(value, list(inputs.values()), allow_unused=True)
    filled = [torch.zeros_like(p) if g is None else g for p, g in zip(inputs.values(), grads, strict=True)]
    return value.detach(), rebuild(params, filled)


def _extras(extra: dict[str, Any], who: str) -> tuple[Tensor, Any, Callable[..., Any], dict[str, Any]]:
    for name in ("grad", "value_fn"):
        if name not in extra:
            raise TypeError(f"{who} needs update(..., value=loss, grad=grads, value_fn=loss_fn); {name}= is missing.")
    rest = {k: v for k, v in extra.items() if k not in ("value", "grad", "value_fn")}
    value_fn = extra["value_fn"]
    return loss_value(extra, who), extra["grad"], value_fn, split_value_fn_kwargs(value_fn, rest, who)


def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: float | Tensor = 1e-4,
    decrease_factor: float | Tensor = 0.8,
    increase_factor: float | Tensor = 1.5,
    max_learning_rate: float | Tensor = 1.0,
    atol: float | Tensor = 0.0,
    rtol: float | Tensor = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformation:
    """Scale the update by the first step size ``eta`` that decreases the loss enough (Armijo's condition).

    Starting from ``min(increase_factor * eta_prev, max_learning_rate)``, ``eta`` is multiplied by
    ``decrease_factor`` until ``f(x + eta u) <= (1 + rtol) f(x) + eta * slope_rtol * <u, grad> + atol``,
    at most ``max_backtracking_steps`` times; a step that only reaches non-finite values becomes 0.
    ``update`` needs ``params`` and the extras ``value``, ``grad`` and ``value_fn``.

    Complex parameters are refused at ``init``: ``value_fn`` is evaluated at trial parameters and
    the slope is a real inner product, which this search does not define for complex tensors.

    Args:
        max_backtracking_steps: the most reductions of the step size (>= 0).
        slope_rtol: the fraction of the linear decrease required (>= 0).
        decrease_factor: the reduction of each trial, in (0, 1].
        increase_factor: how much the previous step size grows before the search.
        max_learning_rate: the largest step size tried.
        atol: absolute slack of the decrease condition.
        rtol: relative slack of the decrease condition.
        store_grad: keep the gradient at the accepted point in the state.
        verbose: accepted for optax compatibility; optimtx logs nothing per step.

    References:
        Nocedal & Wright, *Numerical Optimization* (2006), algorithm 3.1;
        optax: ``optax.scale_by_backtracking_linesearch``.

    Example:
        >>> tx = scale_by_backtracking_linesearch(max_backtracking_steps=15)
        >>> loss = lambda p: (p["w"] ** 2).sum()
        >>> p = {"w": torch.tensor([1.0])}
        >>> g = {"w": 2 * p["w"]}
        >>> tx.update({"w": -g["w"]}, tx.init(p), p, value=loss(p), grad=g, value_fn=loss)[0]  # eta 1 fails, 0.8 holds
        {'w': tensor([-1.6000])}
    """
    steps = check_non_negative_int("max_backtracking_steps", max_backtracking_steps)
    check_non_negative("slope_rtol", slope_rtol)
    check_positive("decrease_factor", decrease_factor)
    check_positive("increase_factor", increase_factor)
    check_positive("max_learning_rate", max_learning_rate)
    check_non_negative("atol", atol)
    check_non_negative("rtol", rtol)
    check_bool("store_grad", store_grad)
    check_bool("verbose", verbose)

    def init(params: Params) -> ScaleByBacktrackingLinesearchState:
        check_params(params)
        refuse_complex(params, "scale_by_backtracking_linesearch")
        device = next(iter(params.values())).device if params else None
        dtype = next(iter(params.values())).dtype if params else torch.get_default_dtype()
        one, inf = (torch.tensor(v, dtype=dtype, device=device) for v in (1.0, float("inf")))
        info = BacktrackingLinesearchInfo(torch.zeros((), dtype=torch.int64, device=device), inf.clone())
        return ScaleByBacktrackingLinesearchState(one, inf, zeros_like(params) if store_grad else None, info)

    def _decrease_error(eta: Tensor, slope: Tensor, value: Tensor, new_value: Tensor) -> Tensor:
        error = new_value - (1.0 + rtol) * value - eta * slope_rtol * slope
        return torch.clamp(torch.where(torch.isnan(error), torch.inf, error), min=0)

    def update(
        updates: Updates, state: ScaleByBacktrackingLinesearchState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByBacktrackingLinesearchState]:
        check_state(state, ScaleByBacktrackingLinesearchState, "scale_by_backtracking_linesearch")
        params = require_params(params, "scale_by_backtracking_linesearch")
        value, grad, value_fn, fn_kwargs = _extras(extra, "scale_by_backtracking_linesearch")
        us, ps = matched_leaves(updates, params), leaves(params)
        dtype = state.value.dtype
        slope = vdot(us, matched_leaves(grad, params, "grad")).to(dtype)
        eta = torch.clamp(increase_factor * state.learning_rate, max=max_learning_rate)
        new_value, error = value.to(dtype), torch.full_like(eta, torch.inf)
        new_grad = zeros_like(params)
        trials = torch.zeros((), dtype=torch.int64, device=eta.device)
        for i in range(steps + 1):
            active = error > atol
            tried = eta * decrease_factor if i > 0 else eta
            point = rebuild(params, add_scaled(ps, us, tried))
            if store_grad:
                tried_value, tried_grad = value_and_grad_of(value_fn, point, fn_kwargs)
            else:
                tried_value, tried_grad = value_fn(point, **fn_kwargs), new_grad
            tried_error = _decrease_error(tried, slope, value.to(dtype), tried_value.to(dtype))
            eta, new_value, error = select(active, (tried, tried_value.to(dtype), tried_error), (eta, new_value, error))
            new_grad = select(active, tried_grad, new_grad)
            trials = trials + active.to(torch.int64)
        accepted = torch.where(torch.isinf(error), torch.zeros_like(eta), eta)
        info = BacktrackingLinesearchInfo(trials, error)
        new_state = ScaleByBacktrackingLinesearchState(accepted, new_value, new_grad if store_grad else None, info)
        return rebuild(updates, mul(us, accepted)), new_state

    return GradientTransformation(init, update)
