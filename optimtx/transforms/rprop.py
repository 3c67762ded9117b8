"""Resilient backpropagation: ``torch.optim.Rprop`` as a pure transform."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.hyperparameter_rules import check_etas, check_step_sizes
from optimtx.core.inplace import with_step_
from optimtx.core.state_tree import begin_update, zero_counter
from optimtx.core.tree import check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_non_negative
from optimtx.transforms._inplace_rules import rprop_step
from optimtx.transforms.kernels import _per_tensor, add, add_scaled, mul
from optimtx.transforms.optimizers import Hyper, _negate

__all__ = ["ScaleByRpropState", "rprop", "scale_by_rprop"]


class ScaleByRpropState(NamedTuple):
    """State of [`scale_by_rprop`][optimtx.scale_by_rprop].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        prev: the previous (masked) gradient of each parameter (torch's ``prev``).
        step_size: the per-element step size of each parameter (torch's ``step_size``); before the
            first update it holds ``lr`` at ``init``, and the first update starts from the ``lr`` it is
            given then instead (torch fills the step sizes with the group's ``lr`` at the first step).
    """

    count: Tensor  # type: ignore[assignment]  # (shadows tuple.count, like the other states)
    prev: dict[str, Tensor]
    step_size: dict[str, Tensor]


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


def _first_sizes(sizes: list[Tensor], lr: float | Tensor, count: Tensor) -> list[Tensor]:
    """The step sizes to start this update from: ``lr`` everywhere at the first update, else ``sizes``.

    Arithmetic on a 0/1 weight instead of a branch (no host sync): ``sizes * (1 - first) + lr * first``.
    """
    first = (count == 0).to(torch.float64)  # 0 or 1, exact in any dtype; lr * first keeps lr's precision
    return add(mul(sizes, 1 - first), lr * first)


def _where_changed(sign: list[Tensor], new: list[Tensor], old: list[Tensor]) -> list[Tensor]:
    """``new`` where ``sign != 0``, else ``old`` (both finite), as exact 0/1-weighted sums (no host sync)."""
    changed = list(torch._foreach_abs(sign))  # 0 or 1
    unchanged = list(torch._foreach_neg(changed))
    torch._foreach_add_(unchanged, 1.0)
    return list(torch._foreach_add(torch._foreach_mul(new, changed), torch._foreach_mul(old, unchanged)))


def scale_by_rprop(
    lr: float | Tensor = 1e-2,
    etas: tuple[Hyper, Hyper] = (0.5, 1.2),
    step_sizes: tuple[Hyper, Hyper] = (1e-6, 50),
    *,
    optax_form: bool = False,
) -> GradientTransformation:
    """``torch.optim.Rprop``'s whole step, ``-sign(g) * step_size``, with per-element adaptive step sizes.

    Step sizes start at ``lr`` as it is at the first update (a value set with
    [`set_hyperparams`][optimtx.set_hyperparams] or a param group before then counts, as torch
    reads the group's ``lr`` at its first step); later changes of ``lr`` have no effect. Each step,
    where ``g * prev > 0`` the step size grows by ``etas[1]``, where it is ``< 0`` it shrinks by
    ``etas[0]`` and the gradient is taken as 0 (no move, and no sign change next time); the step
    size is then clamped to ``step_sizes``. The choices are arithmetic on the sign (no
    ``torch.where`` per tensor, no host sync).

    ``optax_form=True`` is ``optax.scale_by_rprop``'s variant (negated): each step returns the
    *previous* step's move ``-sign(prev) * previous step size`` (so the first update is 0), zeroed
    where the gradient's sign flipped now; the signs are compared with that previous move rather
    than the previous gradient; and a step size is only clamped when it changes (where
    ``g * prev == 0`` it is kept as it is, even outside ``step_sizes``). The step sizes evolve as above.

    Args:
        lr: the initial step size (>= 0); only its value at the first update matters, as in torch.
        etas: (decrease, increase) factors, ``0 < etas[0] < 1 < etas[1]``.
        step_sizes: (minimum, maximum) step size.
        optax_form: optax's variant (see above) instead of torch's.

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
    check_bool("optax_form", optax_form)
    minus, plus = check_etas(etas)
    low, high = check_step_sizes(step_sizes)

    def init(params: Params) -> ScaleByRpropState:
        check_params(params)
        sizes = {k: _initial_step_size(v, lr) for k, v in params.items()}
        return ScaleByRpropState(count=zero_counter(params), prev=zeros_like(params), step_size=sizes)

    def update(
        updates: Updates, state: ScaleByRpropState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByRpropState]:
        grads = begin_update(
            update, updates, state, params, extra, kind=ScaleByRpropState, who="scale_by_rprop", like="prev"
        )
        if isinstance(grads, tuple):  # complex tensors (rerun on real views) or an empty tree: the result
            return grads
        sizes = _first_sizes(leaves(state.step_size), lr, state.count)
        moved = (
            list(torch._foreach_mul(torch._foreach_sign(leaves(state.prev)), sizes)) if optax_form else []
        )  # last move, + sign
        sign = list(torch._foreach_mul(grads, moved if optax_form else leaves(state.prev)))
        torch._foreach_sign_(sign)  # in {-1, 0, 1}; fresh, and mul's backward needs only its inputs
        grew = torch._foreach_clamp_min(sign, 0.0)  # 1 where the sign held
        flipped = torch._foreach_clamp_max(sign, 0.0)  # -1 where it flipped
        # factor = 1 + (plus - 1) * grew + (1 - minus) * flipped: plus, minus or 1.
        factor = add_scaled(mul(list(grew), plus - 1), list(flipped), 1 - minus)
        torch._foreach_add_(factor, 1.0)  # fresh, and add's backward needs nothing
        step_size = _clamp(list(torch._foreach_mul(sizes, factor)), low, high)
        if optax_form:  # keep the unchanged sizes unclamped: size * changed + old * (1 - changed), exact
            step_size = _where_changed(sign, step_size, sizes)
        kept = list(torch._foreach_add(flipped, 1.0))  # 0 where the sign flipped, else 1
        masked = list(torch._foreach_mul(grads, kept))
        out = (
            torch._foreach_mul(moved, kept)
            if optax_form
            else torch._foreach_mul(torch._foreach_sign(masked), step_size)
        )
        torch._foreach_neg_(out)
        new_state = ScaleByRpropState(
            state.count + 1, prev=rebuild(updates, masked), step_size=rebuild(updates, step_size)
        )
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


def rprop(
    lr: Hyper = 1e-2,
    etas: tuple[Hyper, Hyper] = (0.5, 1.2),
    step_sizes: tuple[Hyper, Hyper] = (1e-6, 50),
    maximize: bool = False,
) -> GradientTransformation:
    """``torch.optim.Rprop``: the sign of the gradient times adaptive per-element step sizes.

    ``lr`` is the initial step size (its value at the first update counts: later changes to it have
    no effect, as in torch, so it cannot be a schedule). ``maximize=True`` negates the gradient first.
    Its in-place step (for owners of the state, such as [`TransformOptimizer`][optimtx.TransformOptimizer])
    runs torch's foreach Rprop kernel.

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
    tx = chain(*_negate(maximize), scale_by_rprop(lr, etas, step_sizes))
    return with_step_(tx, rprop_step(ScaleByRpropState, etas, step_sizes, maximize)(lr))
