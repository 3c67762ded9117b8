"""The zoom line search (strong Wolfe conditions), in optax's form, as a transform reading the loss.

Nocedal & Wright's algorithms 3.5 and 3.6 with Hager & Zhang's approximate decrease test, as
optax runs them: first the step grows until an interval holding an acceptable step is found,
then the interval is narrowed by cubic, quadratic or bisection steps. Each iteration evaluates
the loss and its gradient once. The loop always runs ``max_linesearch_steps`` times, every
iteration after the search has ended being masked, so the graph does not depend on the data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, select, wide_float
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_choice, check_non_negative, check_non_negative_int, check_positive
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._moment_rules import vdot
from optimtx.transforms.kernels import add_scaled, mul
from optimtx.transforms.line_search import _extras, value_and_grad_of
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScaleByZoomLinesearchState", "ZoomLinesearchInfo", "scale_by_zoom_linesearch"]


class ZoomLinesearchInfo(NamedTuple):
    """What the last search did: its iterations and final decrease and curvature errors."""

    num_linesearch_steps: Tensor
    decrease_error: Tensor
    curvature_error: Tensor


class ScaleByZoomLinesearchState(NamedTuple):
    """State of `scale_by_zoom_linesearch` (optax's field names).

    Attributes:
        learning_rate: the step size accepted last.
        value: the loss at the accepted point.
        grad: the gradient there (what ``value_and_grad_from_state`` reuses in optax).
        info: a [`ZoomLinesearchInfo`][optimtx.transforms.zoom_line_search.ZoomLinesearchInfo].
    """

    learning_rate: Tensor
    value: Tensor
    grad: dict[str, Tensor]
    info: ZoomLinesearchInfo


class _Search(NamedTuple):
    """The search's scalars (0-d tensors) and the gradients it keeps (tuples, one tensor per parameter)."""

    count: Tensor  # type: ignore[assignment]  # optax's field name; shadows tuple.count on purpose
    stepsize: Tensor
    value: Tensor
    slope: Tensor
    decrease_error: Tensor
    curvature_error: Tensor
    interval_found: Tensor
    done: Tensor
    failed: Tensor
    low: Tensor
    value_low: Tensor
    slope_low: Tensor
    high: Tensor
    value_high: Tensor
    slope_high: Tensor
    cubic_ref: Tensor
    value_cubic_ref: Tensor
    safe_stepsize: Tensor
    safe_value: Tensor
    grad: tuple[Tensor, ...]
    safe_grad: tuple[Tensor, ...]


def _cubic_minimum(a: Tensor, fa: Tensor, fpa: Tensor, b: Tensor, fb: Tensor, c: Tensor, fc: Tensor) -> Tensor:
    """The minimiser of the cubic through ``(a, fa)`` with slope ``fpa``, ``(b, fb)`` and ``(c, fc)`` (NaN if none)."""
    db, dc = b - a, c - a
    denominator = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    big_a = (dc**2 * rb - db**2 * rc) / denominator
    big_b = (-(dc**3) * rb + db**3 * rc) / denominator
    return a + (-big_b + torch.sqrt(big_b * big_b - 3.0 * big_a * fpa)) / (3.0 * big_a)


def _quadratic_minimum(a: Tensor, fa: Tensor, fpa: Tensor, b: Tensor, fb: Tensor) -> Tensor:
    """The minimiser of the quadratic through ``(a, fa)`` with slope ``fpa`` and ``(b, fb)``."""
    db = b - a
    return a - fpa / (2.0 * ((fb - fa - fpa * db) / db**2))


def _middle(s: _Search, threshold: Any) -> tuple[Tensor, Tensor]:
    """The zoom phase's next trial (cubic, else quadratic, else bisection) and whether the interval is too small."""
    delta = (s.high - s.low).abs()
    left, right = torch.minimum(s.high, s.low), torch.maximum(s.high, s.low)
    cubic = _cubic_minimum(s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref)
    use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
    quad = _quadratic_minimum(s.low, s.value_low, s.slope_low, s.high, s.value_high)
    use_quad = ~use_cubic & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
    middle = torch.where(use_cubic, cubic, s.cubic_ref)
    middle = torch.where(use_quad, quad, middle)
    return torch.where(~use_cubic & ~use_quad, (s.low + s.high) / 2.0, middle), delta <= threshold


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: float | Tensor | None = None,
    tol: float | Tensor = 0.0,
    increase_factor: float | Tensor = 2.0,
    slope_rtol: float | Tensor = 1e-4,
    curv_rtol: float | Tensor = 0.9,
    approx_dec_rtol: float | Tensor | None = 1e-6,
    stepsize_precision: float | Tensor = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformation:
    """Scale the update by a step size meeting the strong Wolfe conditions, found by optax's zoom search.

    Sufficient decrease ``f(x + t u) <= f(x) + slope_rtol * t * <u, g>`` (or Hager & Zhang's
    approximate form, within ``approx_dec_rtol``) and small curvature
    ``|<u, g(x + t u)>| <= curv_rtol * |<u, g>|``, up to ``tol``. The first trial is 1
    (``initial_guess_strategy='one'``) or the previous step size (``'keep'``). If no step meets both
    within ``max_linesearch_steps`` evaluations, the best step with sufficient decrease is taken.
    ``update`` needs ``params`` and the extras ``value``, ``grad`` and ``value_fn``.

    Complex parameters are refused at ``init``, as by
    [`scale_by_backtracking_linesearch`][optimtx.scale_by_backtracking_linesearch].

    Args:
        max_linesearch_steps: how many loss evaluations at most (>= 0).
        max_learning_rate: the largest step size tried (``None``: no bound).
        tol: slack of both conditions.
        increase_factor: growth of the step while no interval is found.
        slope_rtol: the decrease condition's fraction of the linear decrease.
        curv_rtol: the curvature condition's fraction (``inf`` turns it off).
        approx_dec_rtol: tolerance of the approximate decrease test (``None``: exact test only).
        stepsize_precision: the interval length below which the search gives up.
        initial_guess_strategy: ``'one'`` or ``'keep'``.
        verbose: accepted for optax compatibility; optimtx logs nothing per step.

    References:
        Nocedal & Wright, *Numerical Optimization*, algorithms 3.5 and 3.6; Hager & Zhang, 2006,
        *Algorithm 851: CG_DESCENT*; optax: ``optax.scale_by_zoom_linesearch``.

    Example:
        >>> tx = scale_by_zoom_linesearch(max_linesearch_steps=10)
        >>> loss = lambda p: ((p["w"] - 3.0) ** 2).sum()
        >>> p = {"w": torch.zeros(1, dtype=torch.float64)}
        >>> g = {"w": 2 * (p["w"] - 3.0)}
        >>> tx.update({"w": -g["w"]}, tx.init(p), p, value=loss(p), grad=g, value_fn=loss)[0]  # the exact minimiser
        {'w': tensor([3.], dtype=torch.float64)}
    """
    steps = check_non_negative_int("max_linesearch_steps", max_linesearch_steps)
    if max_learning_rate is not None:
        check_positive("max_learning_rate", max_learning_rate, allow_inf=True)
    for name, value in (("tol", tol), ("slope_rtol", slope_rtol), ("stepsize_precision", stepsize_precision)):
        check_non_negative(name, value)
    check_non_negative("curv_rtol", curv_rtol, allow_inf=True)
    check_positive("increase_factor", increase_factor)
    if approx_dec_rtol is not None:
        check_non_negative("approx_dec_rtol", approx_dec_rtol)
    check_choice("initial_guess_strategy", initial_guess_strategy, ("one", "keep"))
    check_bool("verbose", verbose)

    def decrease_error(t: Tensor, value: Tensor, slope: Tensor, value0: Tensor, slope0: Tensor) -> Tensor:
        error = value - value0 - slope_rtol * t * slope0
        if approx_dec_rtol is not None:
            approx = torch.maximum(
                slope - (2 * slope_rtol - 1.0) * slope0, value - value0 - approx_dec_rtol * value0.abs()
            )
            error = torch.minimum(approx, error)
        error = torch.clamp(error, min=0)
        return torch.where(torch.isnan(error), torch.inf, error)

    def curvature_error(slope: Tensor, slope0: Tensor) -> Tensor:
        error = torch.clamp(slope.abs() - curv_rtol * slope0.abs(), min=0)
        return torch.where(torch.isnan(error), torch.inf, error)

    def init(params: Params) -> ScaleByZoomLinesearchState:
        check_params(params)
        refuse_complex(params, "scale_by_zoom_linesearch")
        device = next(iter(params.values())).device if params else None
        dtype = next(iter(params.values())).dtype if params else torch.get_default_dtype()
        one, inf = (torch.tensor(v, dtype=dtype, device=device) for v in (1.0, float("inf")))
        info = ZoomLinesearchInfo(torch.zeros((), dtype=torch.int64, device=device), inf.clone(), inf.clone())
        return ScaleByZoomLinesearchState(one, inf.clone(), zeros_like(params), info)

    def update(
        updates: Updates, state: ScaleByZoomLinesearchState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByZoomLinesearchState]:
        check_state(state, ScaleByZoomLinesearchState, "scale_by_zoom_linesearch")
        params = require_params(params, "scale_by_zoom_linesearch")
        value, grad, value_fn, fn_kwargs = _extras(extra, "scale_by_zoom_linesearch")
        us, ps = matched_leaves(updates, params), leaves(params)
        grads = tuple(matched_leaves(grad, params, "grad"))
        wide = wide_float(state.value.device)
        value0 = value.to(wide)
        slope0 = vdot(us, list(grads)).to(wide)
        guess = torch.ones_like(value0) if initial_guess_strategy == "one" else state.learning_rate.to(wide)
        s = _start(value0, slope0, grads)

        def on_line(t: Tensor) -> tuple[Tensor, tuple[Tensor, ...], Tensor]:
            point = rebuild(params, add_scaled(ps, us, t))
            v, g = value_and_grad_of(value_fn, point, fn_kwargs)
            g_list = matched_leaves(g, params, "grad")
            return v.to(wide), tuple(g_list), vdot(g_list, us).to(wide)

        for _ in range(max(steps, 1)):
            trial, reached = _next_search_step(s, guess, increase_factor, max_learning_rate)
            middle, too_small = _middle(s, stepsize_precision)
            t = torch.where(s.interval_found, middle, trial)
            v, g, slope = on_line(t)
            dec, curv = decrease_error(t, v, slope, value0, slope0), curvature_error(slope, slope0)
            searched = _after_search(s, t, reached, v, g, slope, dec, curv, tol, steps)
            zoomed = _after_zoom(s, t, too_small, v, g, slope, dec, curv, tol, steps)
            new = select(s.interval_found, zoomed, searched)
            new = select(new.failed, _safe_step(new), new)
            s = select(~(s.done | s.failed), new, s)
        lr = s.stepsize.to(state.learning_rate.dtype)
        like = state.info.decrease_error.dtype  # states keep the dtypes init gave them
        info = ZoomLinesearchInfo(s.count, s.decrease_error.to(like), s.curvature_error.to(like))
        new_state = ScaleByZoomLinesearchState(lr, s.value.to(state.value.dtype), rebuild(params, list(s.grad)), info)
        return rebuild(updates, mul(us, lr)), new_state

    return GradientTransformation(init, update)


def _start(value0: Tensor, slope0: Tensor, grads: tuple[Tensor, ...]) -> _Search:
    zero, inf = torch.zeros_like(value0), torch.full_like(value0, torch.inf)
    false = torch.zeros((), dtype=torch.bool, device=value0.device)
    count = torch.zeros((), dtype=torch.int64, device=value0.device)
    return _Search(
        count,
        zero,
        value0,
        slope0,
        inf,
        inf,
        false,
        false,
        false,
        zero,
        value0,
        slope0,
        zero,
        value0,
        slope0,
        zero,
        value0,
        zero,
        value0,
        grads,
        grads,
    )


def _next_search_step(s: _Search, guess: Tensor, increase: Any, max_lr: Any) -> tuple[Tensor, Tensor]:
    trial = torch.where(s.count == 0, guess, increase * s.stepsize)
    if max_lr is None:
        return trial, torch.zeros_like(s.done)
    return torch.clamp(trial, max=max_lr), trial >= max_lr


def _safe(s: _Search, dec: Tensor, t: Tensor, v: Tensor, g: tuple[Tensor, ...], pick: Tensor) -> tuple[Any, ...]:
    """The safe step (the best one with sufficient decrease), replaced by ``t`` where ``pick`` holds."""
    return select(pick, (t, v, g), (s.safe_stepsize, s.safe_value, s.safe_grad))


def _after_search(
    s: _Search,
    t: Tensor,
    reached: Tensor,
    v: Tensor,
    g: tuple[Tensor, ...],
    slope: Tensor,
    dec: Tensor,
    curv: Tensor,
    tol: Any,
    steps: int,
) -> _Search:
    error = torch.maximum(dec, curv)
    safe_t, safe_v, safe_g = _safe(s, dec, t, v, g, dec <= tol)
    high_to_new = (dec > 0.0) | (v >= s.value) & (s.count > 0)
    low_to_new = (slope >= 0.0) & ~high_to_new
    low, value_low, slope_low, high, value_high, slope_high = select(
        low_to_new, (t, v, slope, s.stepsize, s.value, s.slope), (s.stepsize, s.value, s.slope, t, v, slope)
    )
    found = high_to_new | low_to_new | (error <= tol)
    done = (error <= tol) | reached & ~found
    failed = (s.count + 1 >= steps) & ~done
    return _Search(
        s.count + 1,
        t,
        v,
        slope,
        dec,
        curv,
        found,
        done,
        failed,
        low,
        value_low,
        slope_low,
        high,
        value_high,
        slope_high,
        low,
        value_low,
        safe_t,
        safe_v,
        g,
        safe_g,
    )


def _after_zoom(
    s: _Search,
    t: Tensor,
    too_small: Tensor,
    v: Tensor,
    g: tuple[Tensor, ...],
    slope: Tensor,
    dec: Tensor,
    curv: Tensor,
    tol: Any,
    steps: int,
) -> _Search:
    error = torch.maximum(dec, curv)
    safe_t, safe_v, safe_g = _safe(s, dec, t, v, g, (dec <= tol) & (v < s.safe_value))
    done = error <= tol
    high_to_middle = (dec > 0.0) | (v >= s.value_low)
    high_to_low = (slope * (s.high - s.low) >= 0.0) & ~high_to_middle
    high = select(high_to_middle, (t, v, slope), (s.high, s.value_high, s.slope_high))
    high = select(high_to_low, (s.low, s.value_low, s.slope_low), high)
    low = select(~high_to_middle, (t, v, slope), (s.low, s.value_low, s.slope_low))
    cubic = select(high_to_middle | high_to_low, (s.high, s.value_high), (s.low, s.value_low))
    failed = ((s.count + 1 >= steps) | too_small & (safe_t > 0.0)) & ~done
    (low_t, low_v, low_s), (high_t, high_v, high_s), (cubic_t, cubic_v) = low, high, cubic
    return _Search(
        s.count + 1,
        t,
        v,
        slope,
        dec,
        curv,
        s.interval_found,
        done,
        failed,
        low_t,
        low_v,
        low_s,
        high_t,
        high_v,
        high_s,
        cubic_t,
        cubic_v,
        safe_t,
        safe_v,
        g,
        safe_g,
    )


def _safe_step(s: _Search) -> _Search:
    """After a failure: the safe step if there is one (or if the last trial left the domain), else the last trial."""
    use_safe = (s.safe_stepsize > 0.0) | torch.isinf(s.decrease_error)
    stepsize, value, grad = select(
        use_safe, (s.safe_stepsize, s.safe_value, s.safe_grad), (s.stepsize, s.value, s.grad)
    )
    return s._replace(stepsize=stepsize, value=value, grad=grad)
