"""Adadelta: ``torch.optim.Adadelta`` as a pure transform."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.inplace import with_step_
from optimtx.core.state_tree import begin_update
from optimtx.core.tree import check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_non_negative, check_unit_interval
from optimtx.transforms._inplace_rules import adadelta_step
from optimtx.transforms.kernels import add, decay_add_square
from optimtx.transforms.optimizers import Hyper, _decay, _negate
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleByAdadeltaState", "adadelta", "scale_by_adadelta"]


class ScaleByAdadeltaState(NamedTuple):
    """State of [`scale_by_adadelta`][optimtx.scale_by_adadelta].

    Attributes:
        nu: running average of squared gradients (torch's ``square_avg``).
        delta_nu: running average of squared updates (torch's ``acc_delta``).
    """

    nu: dict[str, Tensor]
    delta_nu: dict[str, Tensor]


def _root(xs: list[Tensor], eps: float | Tensor) -> list[Tensor]:
    """``sqrt(x + eps)`` for each tensor (the sum is fresh, and sqrt's backward keeps only its output)."""
    out = add(xs, eps)
    torch._foreach_sqrt_(out)
    return out


def scale_by_adadelta(rho: float | Tensor = 0.9, eps: float | Tensor = 1e-6) -> GradientTransformation:
    """Rescale updates as ``torch.optim.Adadelta`` does (Zeiler's unit-corrected step).

    ``v = rho * v + (1 - rho) * g * g``; the output is ``delta = sqrt(u + eps) / sqrt(v + eps) * g``,
    after which ``u = rho * u + (1 - rho) * delta * delta``.

    Args:
        rho: decay of both running averages, in [0, 1].
        eps: added inside both square roots (>= 0).

    Example:
        >>> tx = scale_by_adadelta(rho=0.0, eps=1.0)
        >>> g = {"w": torch.tensor([3.0])}
        >>> tx.update(g, tx.init(g))[0]  # sqrt(0 + 1) / sqrt(9 + 1) * 3
        {'w': tensor([0.9487])}

    References:
        Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method"; ``torch.optim.Adadelta``;
        ``optax.scale_by_adadelta``.
    """
    check_unit_interval("rho", rho, closed_right=True)
    check_non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdadeltaState:
        check_params(params)
        return ScaleByAdadeltaState(nu=zeros_like(params), delta_nu=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdadeltaState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByAdadeltaState]:
        grads = begin_update(
            update, updates, state, params, extra, kind=ScaleByAdadeltaState, who="scale_by_adadelta", like="nu"
        )
        if isinstance(grads, tuple):  # complex tensors (rerun on real views) or an empty tree: the result
            return grads
        nu = decay_add_square(leaves(state.nu), grads, rho, 1 - rho)
        ratio = torch._foreach_div(_root(leaves(state.delta_nu), eps), _root(nu, eps))
        delta = torch._foreach_mul(ratio, grads)
        delta_nu = decay_add_square(leaves(state.delta_nu), list(delta), rho, 1 - rho)
        return rebuild(updates, delta), ScaleByAdadeltaState(
            nu=rebuild(updates, nu), delta_nu=rebuild(updates, delta_nu)
        )

    return GradientTransformation(init, update)


def adadelta(
    lr: Hyper = 1.0, rho: Hyper = 0.9, eps: Hyper = 1e-6, weight_decay: Hyper = 0, maximize: bool = False
) -> GradientTransformation:
    """``torch.optim.Adadelta``: L2 decay added to the gradient, Adadelta scaling, then ``-lr``.

    ``maximize=True`` negates the gradient first, as torch does.

    Example:
        >>> tx = adadelta(rho=0.0, eps=1.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.9487])}

    References:
        Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method"; ``torch.optim.Adadelta``; ``optax.adadelta``.
    """
    check_non_negative("lr", lr, schedule=True)
    tx = chain(*_negate(maximize), *_decay(weight_decay), scale_by_adadelta(rho, eps), scale_by_learning_rate(lr))
    return with_step_(tx, adadelta_step(ScaleByAdadeltaState, rho, eps, weight_decay, maximize)(lr))
