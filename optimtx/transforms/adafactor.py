"""Adafactor as ``torch.optim.Adafactor`` runs it: factored second moments for matrices, no first moment."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import check_params, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_at_least_one, check_at_most_zero, check_non_negative
from optimtx.transforms.kernels import add_scaled, lerp, loop_invariant
from optimtx.transforms.optimizers import Hyper, _negate
from optimtx.transforms.weight_decay import require_params

__all__ = ["AdafactorState", "adafactor"]


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
        # Fresh buffers, and maximum's backward needs only its inputs (eps1 is squared: the root follows).
        estimate = list(torch._foreach_maximum(estimate, [f * f for f in floors]))  # type: ignore[misc]
        direction = list(torch._foreach_mul(torch._foreach_rsqrt(estimate), grads))
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


def _mean_square(g: Tensor, dim: int) -> Tensor:
    """``(g * g).mean(dim, keepdim=True)`` without a ``g``-sized temporary, as torch computes it."""
    return torch.linalg.vector_norm(g, dim=dim, keepdim=True).square() / g.size(dim)


def _second_moments(
    updates: Updates, state: AdafactorState, decay: Tensor, eps1: Hyper | None
) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor], list[Tensor]]:
    """New row/col/variance states, and the second-moment estimate of each tensor (in key order).

    The 0-d and 1-d tensors are updated in one batched pass; each matrix needs its own row and
    column reductions and outer product.
    """
    vector_keys = [k for k in updates if k not in state.row_var]
    vectors = [updates[k] for k in vector_keys]
    squares = list(torch._foreach_mul(vectors, vectors)) if vectors else []
    new_variances = lerp([state.variance[k] for k in vector_keys], squares, decay) if vectors else []
    variance = dict(zip(vector_keys, new_variances, strict=True))
    row, col, estimate = {}, {}, []
    for k, g in updates.items():
        if k in variance:
            estimate.append(variance[k])
            continue
        floor = torch.finfo(g.dtype).eps if eps1 is None else eps1
        weight = decay.to(g.dtype)
        row[k] = torch.lerp(state.row_var[k], _mean_square(g, -1), weight)
        col[k] = torch.lerp(state.col_var[k], _mean_square(g, -2), weight)
        estimate.append(row[k] @ col[k] / row[k].mean(dim=-2, keepdim=True).clamp(min=floor))
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
