"""Adafactor's one update rule: factored second moments, in torch's and in optax's variant.

Shazeer & Stern's estimator is implemented once (``_factored_moment`` and ``_precondition``): a tensor
that is factored keeps the running means of ``g * g + epsilon`` over each of two dimensions and
estimates the moment as ``row * col / mean(row)``; other tensors keep the whole moment. The two
variants are options of it: [`adafactor`][optimtx.adafactor] is ``torch.optim.Adafactor`` (the last two
dimensions of every >= 2-d tensor, ``eps1`` as a floor of the estimate, relative step size and RMS
clipping), [`scale_by_factored_rms`][optimtx.scale_by_factored_rms] is optax's (the two largest
dimensions, from ``min_dim_size_to_factor`` on, ``epsilon`` added to ``g * g``; optax's ``adafactor``
chains the clipping and scaling blocks after it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.hyperparameter_rules import check_at_least_one, check_at_most_zero
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_leaves, check_params, check_same_keys, leaves, matched_leaves, rebuild
from optimtx.core.validation import (
    check_bool,
    check_non_negative,
    check_non_negative_int,
    check_unit_interval,
)
from optimtx.transforms.kernels import add_scaled, lerp, loop_invariant, mul
from optimtx.transforms.optimizers import Hyper, _negate
from optimtx.transforms.weight_decay import require_params

__all__ = ["AdafactorState", "FactoredState", "adafactor", "decay_rate_pow", "factored_dims", "scale_by_factored_rms"]


class AdafactorState(NamedTuple):
    """State of [`adafactor`][optimtx.adafactor].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        row_var: for each tensor with >= 2 dims, the mean of ``g * g`` over its last dim, averaged over
            steps (shape ``(..., rows, 1)``), torch's ``row_var``.
        col_var: for the same tensors, the mean over the second-to-last dim (shape ``(..., 1, cols)``).
        variance: for 0-d and 1-d tensors, the running average of ``g * g`` (torch's ``variance``).
    """

    count: Tensor  # type: ignore[assignment]  # (shadows tuple.count, like the other states)
    row_var: dict[str, Tensor]
    col_var: dict[str, Tensor]
    variance: dict[str, Tensor]

    @staticmethod
    def hyperparameter_rules() -> dict[str, Callable[[str, Any], Any]]:
        """How ``set_hyperparams`` checks names that other factories check differently."""
        return {"eps": lambda name, value: _check_eps(value)}


def _norms(xs: list[Tensor]) -> Tensor:
    """The 2-norm of each tensor, stacked (batched unless autograd must flow through them)."""
    if torch.is_grad_enabled() and any(x.requires_grad for x in xs):
        return torch.stack([torch.linalg.vector_norm(x) for x in xs])  # _foreach_norm has no backward
    return torch.stack([n.to(xs[0].dtype) for n in torch._foreach_norm(xs)])


def _check_eps(eps: Any) -> tuple[Any, Any]:
    if not isinstance(eps, Sequence) or isinstance(eps, str) or len(eps) != 2:
        raise ValueError(f"Invalid eps: {eps!r}. It must be a pair (eps1 or None, eps2) of numbers >= 0.")
    if eps[0] is not None:
        check_non_negative("eps[0]", eps[0])
    check_non_negative("eps[1]", eps[1])
    return eps[0], eps[1]


def _check_hyperparameters(lr: Any, beta2_decay: Any, d: Any, weight_decay: Any) -> None:
    check_non_negative("lr", lr, schedule=True)
    check_at_most_zero("beta2_decay", beta2_decay)
    check_at_least_one("d", d)
    check_non_negative("weight_decay", weight_decay)


def adafactor(
    lr: Hyper = 1e-2,
    beta2_decay: Hyper = -0.8,
    eps: tuple[Hyper | None, Hyper] = (None, 1e-3),
    d: Hyper = 1.0,
    weight_decay: Hyper = 0.0,
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.Adafactor``: relative step sizes and factored second moments, no momentum.

    At step ``t`` the second moment decays by ``1 - t ** beta2_decay``. A tensor with two or more
    dims keeps only row and column means of ``g * g`` (memory ``rows + cols`` per matrix) and
    estimates ``v = row_var @ col_var / mean(row_var)``; others keep ``v`` whole. The direction
    ``u = g / sqrt(max(v, eps1**2))`` is divided by ``max(1, rms(u) / d)`` and scaled by
    ``max(eps2, rms(p)) * min(lr, 1 / sqrt(t))``; ``weight_decay`` subtracts ``lr * weight_decay * p``
    (decoupled), ``maximize`` negates the gradient first. ``eps1=None`` means the parameter dtype's
    machine epsilon. ``update`` needs ``params``.

    The factored statistics and the per-tensor norms are per-matrix work (a loop over the >= 2-d
    tensors, as in torch's foreach implementation); the elementwise part runs batched. There is no
    first moment, so there is no ``mu_dtype`` to choose: the factored state is already tiny.

    Args:
        lr: the cap of the relative step size (a number, 0-d tensor or schedule), torch's ``lr``.
        beta2_decay: exponent of the second-moment decay (<= 0).
        eps: ``(eps1, eps2)``: the floor of ``v`` (its square is used) and of ``rms(p)``.
        d: clipping threshold of the update's RMS (>= 1).
        weight_decay: decoupled decay coefficient (>= 0).
        maximize: ascend instead of descend.

    Example:
        >>> tx = adafactor(lr=0.1)
        >>> p = {"w": torch.ones(2, 2)}
        >>> tx.update({"w": torch.full((2, 2), 3.0)}, tx.init(p), p)[0]  # -rms(p) * min(lr, 1) * sign(g)
        {'w': tensor([[-0.1000, -0.1000],
                [-0.1000, -0.1000]])}

    References:
        Shazeer and Stern, 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost";
        ``torch.optim.Adafactor``; ``optax.adafactor``.
    """
    _check_hyperparameters(lr, beta2_decay, d, weight_decay)
    eps1, eps2 = _check_eps(eps)
    return chain(*_negate(maximize), _scale_by_adafactor(lr, beta2_decay, eps1, eps2, d, weight_decay))


def _scale_by_adafactor(
    lr: Hyper, beta2_decay: Hyper, eps1: Hyper | None, eps2: Hyper, d: Hyper, weight_decay: Hyper
) -> GradientTransformation:
    def init(params: Params) -> AdafactorState:
        check_params(params)
        _refuse_complex(params)
        row, col, variance = {}, {}, {}
        for k, p in params.items():
            if p.ndim > 1:
                row[k] = torch.zeros_like(p).mean(dim=-1, keepdim=True)
                col[k] = torch.zeros_like(p).mean(dim=-2, keepdim=True)
            else:
                variance[k] = torch.zeros_like(p)
        return AdafactorState(zero_counter(params), row, col, variance)

    def update(
        updates: Updates, state: AdafactorState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], AdafactorState]:
        del extra
        check_state(state, AdafactorState, "adafactor")
        params = require_params(params, "adafactor")
        _check_params_fit(params, state)
        updates = rebuild(params, matched_leaves(updates, params))  # by name and shape, in the params' dtypes
        count = state.count + 1
        if not updates:
            return {}, state._replace(count=count)
        t = count.to(torch.float64)
        decay = loop_invariant(t**beta2_decay)  # 1 - beta2_t
        rate = torch.as_tensor(lr(state.count) if callable(lr) else lr, dtype=torch.float64, device=t.device)
        row, col, variance, estimate = _second_moments(updates, state, decay, eps1)
        grads, ps = leaves(updates), leaves(params)
        floors = [(torch.finfo(p.dtype).eps if eps1 is None else eps1) for p in ps]
        direction = _precondition(grads, estimate, floors)
        coefficient = _coefficients(ps, direction, rate, t, eps2, d)
        scaled = torch._foreach_mul(direction, list(coefficient.unbind()))
        out = [o if o.dtype == g.dtype else o.to(g.dtype) for o, g in zip(scaled, grads, strict=True)]
        if not (isinstance(weight_decay, (int, float)) and weight_decay == 0):
            out = add_scaled(out, ps, -rate * weight_decay)
        return rebuild(updates, out), AdafactorState(count, row, col, variance)

    return GradientTransformation(init, update)


def _refuse_complex(params: Params) -> None:
    for key, p in params.items():
        if p.is_complex():
            raise TypeError(
                f"params[{key!r}] is complex ({p.dtype}); adafactor does not support complex parameters "
                "(neither does torch.optim.Adafactor). Optimize its real view (torch.view_as_real) instead."
            )


def _check_params_fit(params: Params, state: AdafactorState) -> None:
    """Raise unless ``params`` are the tree ``init`` saw: the same names, shapes and device (metadata only)."""
    check_params(params)
    _refuse_complex(params)
    known = list(state.row_var) + list(state.variance)
    if len(known) != len(params) or any(k not in params for k in known):
        missing = [k for k in known if k not in params]
        unexpected = [k for k in params if k not in state.row_var and k not in state.variance]
        raise ValueError(
            f"params do not match the tree given to init(): missing {missing}, unexpected {unexpected}. "
            "Pass the parameters init() saw."
        )
    for key, p in params.items():
        if key in state.variance:
            ok = state.variance[key].shape == p.shape
            ref = state.variance[key]
        else:
            ref = state.row_var[key]
            ok = p.ndim > 1 and ref.shape == (*p.shape[:-1], 1) and state.col_var[key].shape[-1] == p.shape[-1]
        if not ok:
            raise ValueError(
                f"params[{key!r}] has shape {tuple(p.shape)}, which does not fit the state init() built for it "
                f"(statistics of shape {tuple(ref.shape)}). Pass the parameters init() saw."
            )
        if ref.device != p.device:
            raise ValueError(f"params[{key!r}] is on {p.device}, but its state is on {ref.device}.")


def _mean_square(g: Tensor, dim: int, epsilon: Hyper = 0.0) -> Tensor:
    """``(g * g + epsilon).mean(dim, keepdim=True)`` without a ``g``-sized temporary, as torch computes it."""
    out = torch.linalg.vector_norm(g, dim=dim, keepdim=True).square() / g.size(dim)
    return out if isinstance(epsilon, (int, float)) and epsilon == 0 else out + epsilon


def _average(old: Tensor, new: Tensor, coefficient: Tensor, optax_form: bool) -> Tensor:
    """The running mean's step: torch's ``lerp(old, new, weight)``, or optax's ``rate * old + (1 - rate) * new``.

    The two agree up to rounding for a decay in [0, 1]; kept apart so that each variant matches its
    reference at the edges too (optax's form gives NaN where its decay is infinite, e.g. before ``step_offset``).
    """
    coefficient = coefficient.to(old.dtype)
    if optax_form:
        return coefficient * old + (1 - coefficient) * new
    return torch.lerp(old, new, coefficient)


def _factored_moment(
    g: Tensor,
    row: Tensor,
    col: Tensor,
    dims: tuple[int, int],
    coefficient: Tensor,
    epsilon: Hyper,
    floor: Hyper | None,
    optax_form: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """New row and column means (``keepdim`` shapes) and the moment estimate ``row * col / mean(row)``.

    ``dims`` is ``(d1, d0)``: ``row`` is the mean over ``d0``, ``col`` the mean over ``d1``; each moves
    toward this step's mean of ``g * g + epsilon`` (see ``_average`` for ``coefficient``). ``floor``
    bounds the mean of ``row`` from below (torch's ``eps1``; ``None``: no bound, as optax).
    """
    d1, d0 = dims
    row = _average(row, _mean_square(g, d0, epsilon), coefficient, optax_form)
    col = _average(col, _mean_square(g, d1, epsilon), coefficient, optax_form)
    mean = row.mean(dim=d1, keepdim=True)
    return row, col, row * col / (mean if floor is None else mean.clamp(min=floor))


def _whole_moments(
    moments: list[Tensor], grads: list[Tensor], coefficient: Tensor, epsilon: Hyper, optax_form: bool = False
) -> list[Tensor]:
    """The unfactored moments moved toward ``g * g + epsilon`` (one batched pass; see ``_average``)."""
    if not grads:
        return []
    squares = list(torch._foreach_mul(grads, grads))
    if not (isinstance(epsilon, (int, float)) and epsilon == 0):
        torch._foreach_add_(squares, epsilon)
    if optax_form:
        return add_scaled(mul(moments, coefficient), squares, 1 - coefficient)
    return lerp(moments, squares, coefficient)


def _precondition(grads: list[Tensor], estimates: list[Tensor], floors: list[Any] | None) -> list[Tensor]:
    """``g / sqrt(max(v, floor**2))`` per tensor (no floor when ``floors`` is ``None``)."""
    if floors is not None:  # fresh buffers, and maximum's backward needs only its inputs (the root follows)
        estimates = list(torch._foreach_maximum(estimates, [f * f for f in floors]))
    return list(torch._foreach_mul(torch._foreach_rsqrt(estimates), grads))


def _second_moments(
    updates: Updates, state: AdafactorState, decay: Tensor, eps1: Hyper | None
) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor], list[Tensor]]:
    """New row/col/variance states, and the second-moment estimate of each tensor (in key order).

    The 0-d and 1-d tensors are updated in one batched pass; each matrix needs its own row and
    column reductions and outer product (over its last two dimensions, as torch).
    """
    vector_keys = [k for k in updates if k not in state.row_var]
    new = _whole_moments([state.variance[k] for k in vector_keys], [updates[k] for k in vector_keys], decay, 0.0)
    variance = dict(zip(vector_keys, new, strict=True))
    row, col, estimate = {}, {}, []
    for k, g in updates.items():
        if k in variance:
            estimate.append(variance[k])
            continue
        floor = torch.finfo(g.dtype).eps if eps1 is None else eps1
        row[k], col[k], v = _factored_moment(g, state.row_var[k], state.col_var[k], (-2, -1), decay, 0.0, floor)
        estimate.append(v)
    return row, col, variance, estimate


def _coefficients(ps: list[Tensor], direction: list[Tensor], rate: Tensor, t: Tensor, eps2: Hyper, d: Hyper) -> Tensor:
    """``-max(eps2, rms(p)) * min(lr, 1 / sqrt(t)) / max(1, rms(u) / d)`` for each tensor (float64)."""
    sizes = torch.tensor([math.sqrt(p.numel()) for p in ps], dtype=torch.float64, device=t.device)
    relative = torch.minimum(rate, t.rsqrt())
    # fmax, not clamp: torch takes Python's max(floor, norm), which is the floor when the norm is nan (an inf
    # gradient makes inf * rsqrt(inf) = nan): only that entry turns nan, the rest of the tensor still steps.
    floor = torch.as_tensor(eps2, dtype=torch.float64, device=t.device)
    scale = torch.fmax(_norms(ps).to(torch.float64) / sizes, floor) * relative
    clip = torch.fmax(_norms(direction).to(torch.float64) / (sizes * d), torch.ones_like(floor))
    return loop_invariant(-scale / clip)


class FactoredState(NamedTuple):
    """State of `scale_by_factored_rms`.

    Attributes:
        count: how many updates were made (int64 0-d).
        v_row: per tensor, the moment's mean over its largest dimension (factored tensors; else a 1-entry zero).
        v_col: per tensor, the mean over its second-largest dimension (factored tensors; else a 1-entry zero).
        v: per tensor, the whole moment (unfactored tensors); for a factored tensor an empty ``(0, *shape)``
            tensor that records its shape, so a transposed update is refused.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    v_row: dict[str, Tensor]
    v_col: dict[str, Tensor]
    v: dict[str, Tensor]


def factored_dims(shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """``(second_largest, largest)`` dimensions to factor over, or ``None`` to keep the whole moment.

    Example:
        >>> factored_dims((256, 512), True, 128), factored_dims((3, 512), True, 128)
        ((0, 1), None)
    """
    if not factored or len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda d: shape[d])  # stable, as numpy's argsort
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return order[-2], order[-1]


def _init_entry(key: str, p: Tensor, dims: tuple[int, int] | None) -> tuple[Tensor, Tensor, Tensor]:
    if p.is_complex():
        raise TypeError(
            f"params[{key!r}] is complex ({p.dtype}); scale_by_factored_rms does not support complex parameters "
            "(which dimensions are factored would depend on the real view)."
        )
    one = torch.zeros(1, dtype=p.dtype, device=p.device)
    if dims is None:
        return one, one.clone(), torch.zeros_like(p)
    d1, d0 = dims
    return torch.zeros_like(p).mean(dim=d0), torch.zeros_like(p).mean(dim=d1), p.new_zeros((0, *p.shape))


def _check_entry(key: str, g: Tensor, dims: tuple[int, int] | None, state: FactoredState) -> None:
    """``g``'s shape against the state built for it (the whole moment, or its two means)."""
    recorded = tuple(state.v[key].shape)
    want = recorded if dims is None else recorded[1:]
    if want != tuple(g.shape) or (dims is not None and recorded[:1] != (0,)) or not g.is_floating_point():
        raise ValueError(
            f"updates[{key!r}] has shape {tuple(g.shape)} and dtype {g.dtype}, which do not match the state "
            "scale_by_factored_rms built at init; build the state with init(params) for these parameters."
        )


def decay_rate_pow(step: Tensor, exponent: float | Tensor = 0.8) -> Tensor:
    """The moment's decay at ``step`` (from 0): ``1 - (step + 1) ** -exponent`` (optax's ``_decay_rate_pow``).

    Example:
        >>> decay_rate_pow(torch.tensor(0.0)), decay_rate_pow(torch.tensor(3.0), 0.5)
        (tensor(0.), tensor(0.5000))
    """
    return 1.0 - (step + 1.0) ** (-exponent)


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float | Tensor = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float | Tensor = 1e-30,
    decay_rate_fn: Any = decay_rate_pow,
) -> GradientTransformation:
    """Divide updates by the root of a (factored) moving mean of ``g * g + epsilon``, as optax's Adafactor.

    At step ``t`` (from 0, minus ``step_offset``) the mean decays by ``1 - (t + 1) ** -decay_rate``.

    Args:
        factored: factor the moment of tensors with two or more large dimensions.
        decay_rate: the exponent of the decay schedule, in [0, 1].
        step_offset: subtracted from the step count in the schedule (>= 0).
        min_dim_size_to_factor: the smallest second-largest dimension that is factored (>= 0).
        epsilon: added to ``g * g`` (>= 0).
        decay_rate_fn: ``(step, decay_rate) -> decay`` (a float64 0-d step tensor), `decay_rate_pow` by default.

    References:
        Shazeer & Stern, 2018, *Adafactor: Adaptive Learning Rates with Sublinear Memory Cost*.
        optax: ``optax.scale_by_factored_rms``.

    Example:
        >>> tx = scale_by_factored_rms(min_dim_size_to_factor=2)
        >>> g = {"w": torch.full((2, 3), 2.0)}
        >>> tx.update(g, tx.init(g))[0]["w"][0]  # g / sqrt(g * g), up to rounding
        tensor([1.0000, 1.0000, 1.0000])
    """
    check_bool("factored", factored)
    check_unit_interval("decay_rate", decay_rate, closed_right=True)
    check_non_negative_int("step_offset", step_offset)
    check_non_negative_int("min_dim_size_to_factor", min_dim_size_to_factor)
    check_non_negative("epsilon", epsilon)
    if not callable(decay_rate_fn):
        raise TypeError(f"decay_rate_fn must be a callable (step, decay_rate) -> decay, got {decay_rate_fn!r}.")

    def dims_of(p: Tensor) -> tuple[int, int] | None:
        return factored_dims(tuple(p.shape), factored, min_dim_size_to_factor)

    def init(params: Params) -> FactoredState:
        check_params(params)
        entries = {k: _init_entry(k, p, dims_of(p)) for k, p in params.items()}
        rows, cols, whole = ({k: e[i] for k, e in entries.items()} for i in range(3))
        return FactoredState(zero_counter(params), rows, cols, whole)

    def update(
        updates: Updates, state: FactoredState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, FactoredState]:
        check_state(state, FactoredState, "scale_by_factored_rms")
        check_leaves(updates)
        check_same_keys(state.v, updates, "updates")
        rate = torch.as_tensor(decay_rate_fn((state.count - step_offset).to(torch.float64), decay_rate))
        for k, g in updates.items():
            _check_entry(k, g, dims_of(g), state)
        grads = {k: g.to(state.v_row[k].dtype) for k, g in updates.items()}
        whole_keys = [k for k, g in grads.items() if dims_of(g) is None]
        whole = dict(state.v)
        rates = {g.device: rate.to(g.device) for g in grads.values()}
        for device, device_rate in rates.items():  # a 0-d coefficient per device: one batch per device
            keys = [k for k in whole_keys if grads[k].device == device]
            new = _whole_moments([state.v[k] for k in keys], [grads[k] for k in keys], device_rate, epsilon, True)
            whole.update(zip(keys, new, strict=True))
        rows, cols, estimates = dict(state.v_row), dict(state.v_col), []
        for k, g in grads.items():
            dims = dims_of(g)
            if dims is None:
                estimates.append(whole[k])
                continue
            d1, d0 = dims
            row, col, v = _factored_moment(
                g,
                state.v_row[k].unsqueeze(d0),
                state.v_col[k].unsqueeze(d1),
                dims,
                rates[g.device],
                epsilon,
                None,
                True,
            )
            rows[k], cols[k] = row.squeeze(d0), col.squeeze(d1)
            estimates.append(v)
        out = _precondition(list(grads.values()), estimates, None)
        return rebuild(updates, out), FactoredState(state.count + 1, rows, cols, whole)

    return GradientTransformation(init, update)
