"""Mechanic: learns a scale for any base optimizer's steps by online coin betting (Cutkosky et al., 2023)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_int_at_least, check_non_negative, check_positive
from optimtx.transforms._moment_rules import Hyper, scalar_state, squared_norm, step_factor, vdot
from optimtx.transforms.kernels import add_scaled, mul
from optimtx.transforms.weight_decay import require_params

__all__ = ["MechanicState", "mechanize"]


class MechanicState(NamedTuple):
    """State of `mechanize` (optax's field names).

    Attributes:
        base_optimizer_state: the state of the wrapped optimizer.
        count: how many updates were made (int64 0-d tensor).
        r: each bettor's reward (a vector of ``num_betas``).
        m: each bettor's running maximum of ``|h|``.
        v: each bettor's sum of squared ``h``.
        s: each bettor's scale (their sum scales the base steps).
        x0: the reference point (the parameters at the first update).
    """

    base_optimizer_state: State
    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    r: Tensor
    m: Tensor
    v: Tensor
    s: Tensor
    x0: dict[str, Tensor]


def mechanize(
    base_optimizer: GradientTransformation,
    weight_decay: Hyper = 0.01,
    eps: Hyper = 1e-8,
    s_init: Hyper = 1e-6,
    num_betas: int = 6,
) -> GradientTransformation:
    """Wrap ``base_optimizer`` so that its steps are rescaled by Mechanic's learned scale ``sum(s)``.

    The parameters become ``x0 + sum(s) * (sum of the base steps so far)``; ``num_betas`` bettors with
    decays ``1 - 0.1**i`` learn ``s`` from ``h = <g + decay, (x0 - x) / sum(s)>``. ``update`` needs
    ``params`` and passes extra keywords on to the base optimizer.

    Args:
        base_optimizer: the transform whose steps are scaled (e.g. ``adam(1e-3)``).
        weight_decay: Mechanic's own decay term (>= 0).
        eps: numerical floor (>= 0).
        s_init: the bettors' starting scale (> 0).
        num_betas: how many bettors (>= 1).

    References:
        Cutkosky, Defazio & Mehta, 2023, *Mechanic: A Learning Rate Tuner* (NeurIPS);
        optax: ``optax.contrib.mechanize``.

    Example:
        >>> from optimtx.transforms.optimizers import sgd
        >>> tx = mechanize(sgd(1.0))
        >>> p = {"w": torch.ones(2)}
        >>> u, state = tx.update({"w": torch.ones(2)}, tx.init(p), p)
        >>> u["w"].abs().max() < 1e-4  # the first steps are tiny: s starts at s_init
        tensor(True)
    """
    if not isinstance(base_optimizer, GradientTransformation):
        raise TypeError(f"mechanize needs a GradientTransformation as base_optimizer, got {base_optimizer!r}.")
    check_non_negative("weight_decay", weight_decay)
    check_non_negative("eps", eps)
    check_positive("s_init", s_init)
    num_betas = check_int_at_least("num_betas", num_betas, 1)

    def init(params: Params) -> MechanicState:
        check_params(params)
        zeros = scalar_state(0.0, params).expand(num_betas).clone()
        scale = (zeros + s_init).to(zeros.dtype)
        base_state = base_optimizer.init(params)
        return MechanicState(
            base_state, zero_counter(params), zeros, zeros.clone(), zeros.clone(), scale, copy_tree(params)
        )

    def update(
        updates: Updates, state: MechanicState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MechanicState]:
        check_state(state, MechanicState, "mechanize")
        params = require_params(params, "mechanize")
        steps, base_state = base_optimizer.update(updates, state.base_optimizer_state, params, **extra)
        gs, ps = matched_leaves(updates, state.x0), matched_leaves(params, state.x0, "params")
        if not gs:
            return {}, state._replace(base_optimizer_state=base_state, count=state.count + 1)
        first = state.count == 0
        x0 = [torch.where(first, p, x) for p, x in zip(ps, leaves(state.x0), strict=True)]
        dtype = state.s.dtype
        s_sum = state.s.sum()
        decay = weight_decay * s_sum * squared_norm(gs).sqrt().to(dtype) / (squared_norm(ps).sqrt().to(dtype) + eps)
        delta_prev = mul(list(torch._foreach_sub(x0, ps)), step_factor(1 / (s_sum + eps), gs))
        delta = list(torch._foreach_sub(delta_prev, matched_leaves(steps, state.x0)))
        h = vdot(add_scaled(gs, ps, step_factor(decay, gs)), delta_prev).to(dtype)
        betas = 1 - 0.1 ** torch.arange(1, num_betas + 1, dtype=dtype, device=state.s.device)
        m = torch.maximum(betas * state.m, h.abs() + eps)
        v = betas**2 * state.v + h**2
        r = betas * state.r + torch.clamp(h, min=-state.m, max=state.m) * state.s
        wealth = s_init / num_betas * m + torch.clamp(r, min=0)
        s = wealth / (v.sqrt() + eps)
        out = torch._foreach_sub(add_scaled(x0, delta, step_factor(-s.sum(), gs)), ps)
        new_state = MechanicState(base_state, state.count + 1, r, m, v, s, rebuild(updates, x0))
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)
