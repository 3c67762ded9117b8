"""Resilient backpropagation: ``torch.optim.Rprop`` as a pure transform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import begin_update
from optimtx.core.tree import check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_non_negative, is_number
from optimtx.transforms.kernels import _per_tensor, add_scaled, mul
from optimtx.transforms.optimizers import Hyper, _negate


class ScaleByRpropState(NamedTuple):
    """State of :func:`scale_by_rprop`.

    Attributes:
        prev: the previous (masked) gradient of each parameter (torch's ``prev``).
        step_size: the per-element step size of each parameter (torch's ``step_size``).
    """

    prev: dict[str, Tensor]
    step_size: dict[str, Tensor]


def _pair(name: str, value: Any) -> tuple[Any, Any]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a pair of numbers.")
    return value[0], value[1]


def _check_etas(etas: Any) -> tuple[Any, Any]:
    minus, plus = _pair("etas", etas)
    check_non_negative("etas[0]", minus)
    check_non_negative("etas[1]", plus)
    numbers = not isinstance(minus, Tensor) and not isinstance(plus, Tensor)
    if numbers and not 0.0 < minus < 1.0 < plus:
        raise ValueError(f"Invalid etas: {etas!r}. They must satisfy 0 < etas[0] < 1 < etas[1].")
    return minus, plus


def _clamp(xs: list[Tensor], low: float | Tensor, high: float | Tensor) -> list[Tensor]:
    """Each tensor clamped to ``[low, high]`` (bounds may be 0-d tensors)."""
    out = torch._foreach_maximum(xs, _per_tensor(low, len(xs)) if isinstance(low, Tensor) else low)  # type: ignore[arg-type]
    return list(torch._foreach_minimum(out, _per_tensor(high, len(xs)) if isinstance(high, Tensor) else high))  # type: ignore[arg-type]


def _initial_step_size(p: Tensor, lr: float | Tensor) -> Tensor:
    """``lr`` everywhere, in ``p``'s dtype; for a complex ``p``, ``lr + lr*j``: both parts step, as in torch."""
    if p.is_complex():
        return torch.view_as_complex(
            torch.zeros_like(torch.view_as_real(p), memory_format=torch.contiguous_format).add_(lr)
        )
    return torch.zeros_like(p).add_(lr)  # in place: keeps p's dtype


def scale_by_rprop(
    lr: float | Tensor = 1e-2, etas: tuple[Hyper, Hyper] = (0.5, 1.2), step_sizes: tuple[Hyper, Hyper] = (1e-6, 50)
) -> GradientTransformation:
    """``torch.optim.Rprop``'s whole step, ``-sign(g) * step_size``, with per-element adaptive step sizes.

    Step sizes start at ``lr``. Each step, where ``g * prev > 0`` the step size grows by
    ``etas[1]``, where it is ``< 0`` it shrinks by ``etas[0]`` and the gradient is taken as 0 (no
    move, and no sign change next time); the step size is then clamped to ``step_sizes``. The
    choices are arithmetic on the sign (no ``torch.where`` per tensor, no host sync).

    Args:
        lr: the initial step size (>= 0); only read by ``init``, as in torch.
        etas: (decrease, increase) factors, ``0 < etas[0] < 1 < etas[1]``.
        step_sizes: (minimum, maximum) step size.

    Example:
        >>> tx = scale_by_rprop(lr=0.1)
        >>> g = {"w": torch.tensor([2.0, -1.0])}
        >>> u, state = tx.update(g, tx.init(g))
        >>> u, tx.update(g, state)[0]
        ({'w': tensor([-0.1000,  0.1000])}, {'w': tensor([-0.1200,  0.1200])})

    References:
        Riedmiller and Braun, 1993, "A Direct Adaptive Method for Faster Backpropagation Learning: The RPROP
        Algorithm"; ``torch.optim.Rprop``; ``optax.rprop``.
    """
    check_non_negative("lr", lr)
    minus, plus = _check_etas(etas)
    low, high = _pair("step_sizes", step_sizes)
    check_non_negative("step_sizes[0]", low)
    check_non_negative("step_sizes[1]", high)
    if is_number(low) and is_number(high) and low > high:
        raise ValueError(f"Invalid step_sizes: {step_sizes!r}. The minimum must not exceed the maximum.")

    def init(params: Params) -> ScaleByRpropState:
        check_params(params)
        sizes = {k: _initial_step_size(v, lr) for k, v in params.items()}
        return ScaleByRpropState(prev=zeros_like(params), step_size=sizes)

    def update(
        updates: Updates, state: ScaleByRpropState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByRpropState]:
        grads = begin_update(
            update, updates, state, params, extra, kind=ScaleByRpropState, who="scale_by_rprop", like="prev"
        )
        if isinstance(grads, tuple):  # complex tensors (rerun on real views) or an empty tree: the result
            return grads
        sign = list(torch._foreach_mul(grads, leaves(state.prev)))
        torch._foreach_sign_(sign)  # in {-1, 0, 1}; fresh, and mul's backward needs only its inputs
        grew = torch._foreach_clamp_min(sign, 0.0)  # 1 where the sign held
        flipped = torch._foreach_clamp_max(sign, 0.0)  # -1 where it flipped
        # factor = 1 + (plus - 1) * grew + (1 - minus) * flipped: plus, minus or 1.
        factor = add_scaled(mul(list(grew), plus - 1), list(flipped), 1 - minus)
        torch._foreach_add_(factor, 1.0)  # fresh, and add's backward needs nothing
        step_size = _clamp(list(torch._foreach_mul(leaves(state.step_size), factor)), low, high)
        kept = list(torch._foreach_add(flipped, 1.0))  # 0 where the sign flipped, else 1
        masked = list(torch._foreach_mul(grads, kept))
        out = torch._foreach_mul(torch._foreach_sign(masked), step_size)
        torch._foreach_neg_(out)
        new_state = ScaleByRpropState(prev=rebuild(updates, masked), step_size=rebuild(updates, step_size))
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def rprop(
    lr: Hyper = 1e-2,
    etas: tuple[Hyper, Hyper] = (0.5, 1.2),
    step_sizes: tuple[Hyper, Hyper] = (1e-6, 50),
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.Rprop``: the sign of the gradient times adaptive per-element step sizes.

    ``lr`` is the initial step size (read once, by ``init``: later changes to it have no effect,
    as in torch, so it cannot be a schedule). ``maximize=True`` negates the gradient first.

    Example:
        >>> tx = rprop(lr=0.1)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([2.0, -1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}

    References:
        Riedmiller and Braun, 1993; ``torch.optim.Rprop``; ``optax.rprop``.
    """
    if callable(lr):
        raise TypeError(
            f"rprop's lr must be a number or a 0-d tensor, got the schedule {lr!r}: Rprop only uses lr as the "
            "initial step size, then adapts the step sizes itself."
        )
    return chain(*_negate(maximize), scale_by_rprop(lr, etas, step_sizes))
