"""Sign-based descent: signSGD and Signum (the sign of a momentum)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, chain, checked_empty_init
from optimtx.core.state_tree import check_state, has_complex, on_real_view
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_state_dtype, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms._moment_rules import Hyper, real_grads
from optimtx.transforms.kernels import lerp, to_dtype, to_dtypes_of
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["SignumState", "scale_by_sign", "scale_by_signum_momentum", "sign_sgd", "signum"]


def scale_by_sign() -> GradientTransformation:
    """Replace every update by its sign (``-1``, ``0`` or ``1``; NaN stays NaN).

    A complex update is taken as its real view (torch's convention): the real and imaginary
    parts each become their sign. With ``params``, the updates must match them by name and shape.

    References:
        Bernstein et al., 2018, *signSGD: Compressed Optimisation for Non-Convex Problems*;
        optax: ``optax.scale_by_sign``.

    Example:
        >>> tx = scale_by_sign()
        >>> tx.update({"w": torch.tensor([0.3, -2.0, 0.0])}, tx.init({}))[0]
        {'w': tensor([ 1., -1.,  0.])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, "scale_by_sign")
        us = matched_to_params(updates, params)
        if has_complex(us):  # the sign of each real and imaginary part, as torch's real-view convention
            return on_real_view(update, updates, state, params, extra)
        return rebuild(updates, torch._foreach_sign(us) if us else []), state

    return GradientTransformation(checked_empty_init, update)


def sign_sgd(lr: float | Tensor | Schedule = 1e-3) -> GradientTransformation:
    """signSGD: the sign of each gradient entry times ``-lr``.

    Example:
        >>> tx = sign_sgd(0.1)
        >>> tx.update({"w": torch.tensor([3.0, -0.2])}, tx.init({}))[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    return chain(scale_by_sign(), scale_by_learning_rate(lr))


class SignumState(NamedTuple):
    """State of `signum`'s momentum.

    Attributes:
        ema: the (not bias-corrected) moving average of the gradients, in ``accumulator_dtype``.
    """

    ema: dict[str, Tensor]


def scale_by_signum_momentum(
    beta: Hyper = 0.9, accumulator_dtype: torch.dtype | str | None = None
) -> GradientTransformation:
    """Signum's momentum: ``ema = beta * ema + (1 - beta) * g`` from 0, without bias correction.

    This is optax's ``ema(beta, debias=False)`` as Signum uses it; the output is the new average.

    Example:
        >>> tx = scale_by_signum_momentum(0.5)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([1.])}
    """
    check_unit_interval("beta", beta, closed_right=True)
    dtype = check_state_dtype("accumulator_dtype", accumulator_dtype)

    def init(params: Params) -> SignumState:
        check_params(params)
        return SignumState(ema=zeros_like(params, dtype=dtype))

    def update(
        updates: Updates, state: SignumState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, SignumState]:
        grads = real_grads(updates, state, SignumState, "ema", "signum", keep_dtype=dtype is not None)
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        ema = lerp(to_dtypes_of(leaves(state.ema), grads), grads, 1 - beta) if grads else []
        return rebuild(updates, ema), SignumState(ema=rebuild(updates, to_dtype(ema, dtype)))

    return GradientTransformation(init, update)


def signum(
    lr: float | Tensor | Schedule = 1e-3, beta: Hyper = 0.9, accumulator_dtype: torch.dtype | str | None = None
) -> GradientTransformation:
    """Signum: the sign of a gradient moving average, times ``-lr``.

    Args:
        lr: learning rate (number, 0-d tensor or schedule).
        beta: decay of the moving average, in [0, 1].
        accumulator_dtype: dtype the average is stored in; ``None``: the parameters' dtype.

    References:
        Bernstein et al., 2018, *signSGD*; optax: ``optax.signum``.

    Example:
        >>> tx = signum(0.1)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, -0.2])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    return chain(scale_by_signum_momentum(beta, accumulator_dtype), scale_by_sign(), scale_by_learning_rate(lr))
