"""Fromage: trust-ratio steps that also shrink the parameters by ``1 / sqrt(1 + lr**2)`` (Bernstein et al., 2020)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_non_negative
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import at_step, step_factor
from optimtx.transforms.kernels import add_scaled, mul
from optimtx.transforms.trust_ratio import scale_by_trust_ratio
from optimtx.transforms.weight_decay import require_params

__all__ = ["FromageState", "fromage"]


class FromageState(NamedTuple):
    """State of `fromage`'s step: the step count its learning-rate schedule reads (int64 0-d)."""

    count: Tensor  # type: ignore[assignment]  # public field name; shadows tuple.count on purpose


def _fromage_step(lr: float | Tensor | Schedule) -> GradientTransformation:
    """``-lr * m * u + (m - 1) * p`` with ``m = 1 / sqrt(1 + lr**2)``: the step and the shrink, in optax's order."""

    def init(params: Params) -> FromageState:
        check_params(params)
        return FromageState(zero_counter(params))

    def update(
        updates: Updates, state: FromageState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, FromageState]:
        check_state(state, FromageState, "fromage")
        params = require_params(params, "fromage")
        us, ps = matched_leaves(updates, params), leaves(params)
        if not us:
            return {}, FromageState(state.count + 1)
        value = at_step(lr, state.count)
        device = state.count.device
        rate = (
            value.to(torch.float64)
            if isinstance(value, Tensor)
            else torch.full((), value, dtype=torch.float64, device=device)
        )
        shrink = 1 / torch.sqrt(1 + rate**2)
        out = add_scaled(mul(us, step_factor(-rate * shrink, us)), ps, step_factor(shrink - 1, us))
        return rebuild(updates, out), FromageState(state.count + 1)

    return GradientTransformation(init, update)


def fromage(lr: float | Tensor | Schedule = 1e-2, min_norm: float | Tensor = 1e-6) -> GradientTransformation:
    """Fromage: scale by the trust ratio ``||p|| / ||u||`` (norms at least ``min_norm``), take ``-lr``, and
    multiply the new parameters by ``1 / sqrt(1 + lr**2)`` so their norms do not grow.

    ``update`` needs ``params``; ``lr`` may be a schedule of the step count.

    References:
        Bernstein et al., 2020, *On the distance between two neural networks and the stability of
        learning* (NeurIPS); optax: ``optax.fromage``.

    Example:
        >>> tx = fromage(lr=1.0, min_norm=0.0)
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> u, _ = tx.update({"w": torch.tensor([0.6, 0.8])}, tx.init(p), p)
        >>> (p["w"] + u["w"]) * 2**0.5  # p - lr * ||p|| g / ||g||, then / sqrt(2)
        tensor([0., 0.])
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("min_norm", min_norm)
    return chain(scale_by_trust_ratio(min_norm=min_norm), _fromage_step(lr))
