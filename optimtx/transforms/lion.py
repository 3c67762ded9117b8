"""The sign-of-interpolated-momentum update of Lion (Chen et al., 2023)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, has_complex, on_real_view
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_choice, check_finite, check_state_dtype, check_unit_interval
from optimtx.transforms.kernels import add_scaled, mul, to_dtype, to_dtypes_of

__all__ = ["ScaleByLionState", "scale_by_lion"]


class ScaleByLionState(NamedTuple):
    """State of [`scale_by_lion`][optimtx.scale_by_lion].

    Attributes:
        mu: the momentum of each parameter (``m`` in the paper).
    """

    mu: dict[str, Tensor]


def _direction(x: list[Tensor], mode: str, smooth_beta: float | Tensor) -> list[Tensor]:
    if mode == "hard":
        return list(torch._foreach_sign(x))
    if mode == "smooth":
        return [torch.tanh(smooth_beta * v) for v in x]
    return [torch.where(v.abs() < 1.0, v, v.sign()) for v in x]  # "refined": linear near 0, the sign beyond 1


def scale_by_lion(
    b1: float | Tensor = 0.9,
    b2: float | Tensor = 0.99,
    mu_dtype: torch.dtype | str | None = None,
    *,
    mode: str = "hard",
    smooth_beta: float | Tensor = 1.0,
) -> GradientTransformation:
    """Replace updates by ``sign(b1 * m + (1 - b1) * g)``, then set ``m = b2 * m + (1 - b2) * g``.

    This is Lion's update direction without the learning rate and weight decay
    (see [`optimtx.lion`][optimtx.lion] for the full optimizer).

    Args:
        b1: interpolation factor for the update direction, in [0, 1).
        b2: decay of the momentum, in [0, 1).
        mu_dtype: dtype the momentum is stored in (e.g. ``torch.bfloat16``); it is computed in the gradients'
            dtype. ``None``: the parameters' dtype.
        mode: how the direction is taken from ``x = b1 * m + (1 - b1) * g``: ``"hard"`` ``sign(x)`` (Lion),
            ``"smooth"`` ``tanh(smooth_beta * x)``, ``"refined"`` ``x`` where ``|x| < 1``, else ``sign(x)``
            (optax's modes).
        smooth_beta: the slope of ``"smooth"``'s ``tanh``.

    References:
        Chen et al., 2023, *Symbolic Discovery of Optimization Algorithms*.
        optax: ``optax.scale_by_lion``.

    Example:
        >>> tx = scale_by_lion()
        >>> g = {"w": torch.tensor([0.3, -2.0, 0.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 1., -1.,  0.])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)
    mode = check_choice("mode", mode, ("hard", "smooth", "refined"))
    check_finite("smooth_beta", smooth_beta)

    def init(params: Params) -> ScaleByLionState:
        check_params(params)
        return ScaleByLionState(mu=zeros_like(params, dtype=mu_dtype))

    def update(
        updates: Updates, state: ScaleByLionState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByLionState]:
        check_state(state, ScaleByLionState, "scale_by_lion")
        grads = matched_leaves(updates, state.mu, keep_dtype=mu_dtype is not None)
        if has_complex(grads):  # the sign of each real and imaginary part, as torch's real-view convention
            return on_real_view(update, updates, state, params, extra)
        mu = to_dtypes_of(leaves(state.mu), grads)
        if not grads:
            return {}, state
        direction = _direction(add_scaled(mul(mu, b1), grads, 1 - b1), mode, smooth_beta)
        new_mu = add_scaled(mul(mu, b2), grads, 1 - b2)
        return rebuild(updates, direction), ScaleByLionState(mu=rebuild(updates, to_dtype(new_mu, mu_dtype)))

    return GradientTransformation(init, update)
