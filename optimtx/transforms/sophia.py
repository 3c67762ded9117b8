"""Sophia: Adam-like steps preconditioned by a running estimate of the Hessian's diagonal, then clipped."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates, chain
from optimtx.core.state_tree import check_state, select, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import (
    check_betas,
    check_int_at_least,
    check_non_negative,
    check_positive,
    check_state_dtype,
    check_unit_interval,
)
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._moment_rules import Hyper, debiased
from optimtx.transforms.kernels import lerp, mul, to_dtype, to_dtypes_of
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights, require_params

__all__ = ["HutchinsonState", "SophiaState", "hutchinson_estimator_diag_hessian", "scale_by_sophia", "sophia"]


class HutchinsonState(NamedTuple):
    """State of `hutchinson_estimator_diag_hessian`: the seed and how many draws were made (int64)."""

    key: Tensor


def _rademacher(shape: torch.Size, key: Tensor, salt: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Signs +-1 from a counter-based integer hash of ``(key, salt, index)``: pure, no generator, no host read."""
    index = torch.arange(max(1, int(torch.Size(shape).numel())), device=device, dtype=torch.int64)
    x = index * 0x9E3779B1 + key * 0x85EBCA77 + salt * 0xC2B2AE3D
    for shift, factor in ((15, 0x2C1B3C6D), (12, 0x297A2D39), (15, 0x27D4EB2F)):
        x = (x ^ (x >> shift)) * factor & 0x7FFFFFFFFFFF
    bits = (x >> 20) & 1
    return (bits * 2 - 1).to(dtype)[: torch.Size(shape).numel()].reshape(shape)


def hutchinson_estimator_diag_hessian(random_seed: int | None = None) -> GradientTransformation:
    """Estimate the Hessian's diagonal as ``z * (H z)`` with random signs ``z`` (Hutchinson's estimator).

    ``update`` does not read the updates (it still checks them against ``params`` by name and shape) and
    needs ``params`` and ``obj_fn=`` (the loss as a function of a parameter dict, differentiable twice
    by ``torch.func``). Complex parameters are refused at ``init``. The signs come from a counter-based hash
    of ``random_seed`` and the draw number (optax draws them from its JAX key instead, so the two
    estimates differ draw by draw and agree in expectation).

    References:
        Hutchinson, 1989; optax: ``optax.contrib.hutchinson_estimator_diag_hessian``.

    Example:
        >>> tx = hutchinson_estimator_diag_hessian()
        >>> p = {"w": torch.tensor([1.0, 2.0])}
        >>> loss = lambda q: (torch.tensor([3.0, 5.0]) * q["w"] ** 2).sum()  # a diagonal Hessian: exact
        >>> tx.update(p, tx.init(p), p, obj_fn=loss)[0]
        {'w': tensor([ 6., 10.])}
    """
    seed = 0 if random_seed is None else random_seed
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"random_seed must be an int seed (optimtx draws without JAX keys), got {random_seed!r}.")

    def init(params: Params) -> HutchinsonState:
        check_params(params)
        refuse_complex(params, "hutchinson_estimator_diag_hessian")
        return HutchinsonState(zero_counter(params) + seed * 1000003)

    def update(
        updates: Updates, state: HutchinsonState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, HutchinsonState]:
        check_state(state, HutchinsonState, "hutchinson_estimator_diag_hessian")
        params = dict(require_params(params, "hutchinson_estimator_diag_hessian"))
        matched_leaves(updates, params)  # not read (the estimate replaces them), but checked by name and shape
        obj_fn = extra.get("obj_fn")
        if obj_fn is None:
            raise TypeError("hutchinson_estimator_diag_hessian needs the loss: update(..., obj_fn=loss_fn).")
        signs = {k: _rademacher(p.shape, state.key, i, p.device, p.dtype) for i, (k, p) in enumerate(params.items())}
        hvp = torch.func.jvp(torch.func.grad(obj_fn), (params,), (signs,))[1]
        return {k: hvp[k] * signs[k] for k in params}, HutchinsonState(state.key + 1)

    return GradientTransformation(init, update)


class SophiaState(NamedTuple):
    """State of `scale_by_sophia` (optax's field names).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment (stored in ``mu_dtype``).
        nu: moving average of the Hessian-diagonal estimates.
        hessian_fn_state: the estimator's state.
    """

    count: Tensor  # type: ignore[assignment]  # optax's field name; shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    hessian_fn_state: State


def scale_by_sophia(
    b1: Hyper = 0.965,
    b2: Hyper = 0.99,
    eps: Hyper = 1e-8,
    gamma: Hyper = 0.01,
    clip_threshold: Hyper | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation | None = None,
    mu_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Rescale updates as Sophia: ``clip(m_hat / max(gamma * h, eps), clip_threshold)``.

    ``h`` is a moving average (decay ``b2``) of ``hessian_diagonal_fn``'s estimates, refreshed every
    ``update_interval`` steps (the estimator runs every step and its result is kept only on those
    steps, so the step's work does not depend on the data). Extra ``update`` keywords (e.g.
    ``obj_fn=``) go to the estimator; ``update`` needs ``params``. Complex parameters are refused at
    ``init``: the estimator calls ``obj_fn`` on the parameters, which a real view would change.

    References:
        Liu et al., 2024, *Sophia: A Scalable Stochastic Second-order Optimizer* (ICLR);
        optax: ``optax.contrib.sophia``.

    Example:
        >>> tx = scale_by_sophia()
        >>> p = {"w": torch.tensor([1.0, 2.0])}
        >>> loss = lambda q: (q["w"] ** 2).sum()
        >>> tx.update({"w": torch.tensor([0.5, -0.5])}, tx.init(p), p, obj_fn=loss)[0]  # h is 0 yet: clipped
        {'w': tensor([ 1., -1.])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_positive("eps", eps)
    check_non_negative("gamma", gamma)
    if clip_threshold is not None:
        check_positive("clip_threshold", clip_threshold)
    update_interval = check_int_at_least("update_interval", update_interval, 1)
    estimator = hutchinson_estimator_diag_hessian() if hessian_diagonal_fn is None else hessian_diagonal_fn
    if not isinstance(estimator, GradientTransformation):
        raise TypeError(f"hessian_diagonal_fn must be a GradientTransformation, got {hessian_diagonal_fn!r}.")
    dtype = check_state_dtype("mu_dtype", mu_dtype)

    def init(params: Params) -> SophiaState:
        check_params(params)
        refuse_complex(params, "scale_by_sophia")  # its Hessian estimate calls obj_fn on the parameters
        return SophiaState(
            zero_counter(params), zeros_like(params, dtype=dtype), zeros_like(params), estimator.init(params)
        )

    def update(
        updates: Updates, state: SophiaState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, SophiaState]:
        check_state(state, SophiaState, "scale_by_sophia")
        params = require_params(params, "scale_by_sophia")
        grads = matched_leaves(updates, state.nu)
        count = state.count + 1
        mu = lerp(to_dtypes_of(leaves(state.mu), grads), grads, 1 - b1) if grads else []
        out = torch._foreach_div(debiased(mu, b1, count), _floor(mul(leaves(state.nu), gamma), eps)) if grads else []
        if clip_threshold is not None and grads:
            out = [_clip(u, clip_threshold) for u in out]
        estimate, estimator_state = estimator.update(updates, state.hessian_fn_state, params, **extra)
        refresh = state.count % update_interval == 0
        nu = lerp(leaves(state.nu), matched_leaves(estimate, state.nu), 1 - b2) if grads else []
        new_nu, new_estimator_state = select(
            refresh, (rebuild(updates, nu), estimator_state), (state.nu, state.hessian_fn_state)
        )
        new_state = SophiaState(count, rebuild(updates, to_dtype(mu, dtype)), new_nu, new_estimator_state)
        return rebuild(updates, list(out)), new_state

    return GradientTransformation(init, update)


def _clip(u: Tensor, bound: Hyper) -> Tensor:
    if isinstance(bound, Tensor):
        return torch.clamp(u, -bound.to(u.dtype), bound.to(u.dtype))
    return torch.clamp(u, -bound, bound)


def _floor(xs: list[Tensor], floor: Hyper) -> list[Tensor]:
    if isinstance(floor, Tensor):
        return [torch.maximum(x, floor.to(x.dtype)) for x in xs]
    return list(torch._foreach_clamp_min(xs, floor))


def sophia(
    lr: Any = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.965, 0.99),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 1e-4,
    weight_decay_mask: Any | None = None,
    gamma: Hyper = 0.01,
    clip_threshold: Hyper | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation | None = None,
    mu_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Sophia with decoupled weight decay: [`scale_by_sophia`][optimtx.scale_by_sophia], decay, ``-lr``.

    Example:
        >>> tx = sophia(0.1, weight_decay=0.0)
        >>> p = {"w": torch.tensor([1.0])}
        >>> tx.update({"w": torch.tensor([0.5])}, tx.init(p), p, obj_fn=lambda q: (q["w"] ** 2).sum())[0]
        {'w': tensor([-0.1000])}
    """
    b1, b2 = check_betas(betas)
    block = scale_by_sophia(b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn, mu_dtype)
    decay = [add_decayed_weights(weight_decay, weight_decay_mask)] if is_present(weight_decay) else []
    return chain(block, *decay, scale_by_learning_rate(lr))
