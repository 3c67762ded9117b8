"""Dynamic loss scaling with the exact arithmetic of ``torch.amp.GradScaler``.

The loss is multiplied by a scale before ``backward`` so that small float16 gradients
do not underflow. [`scale_by_amp`][optimtx.scale_by_amp] divides the scale back out, skips the step when
any gradient overflowed, and grows or backs off the scale, all on the device.
`unscale_grads` and `next_scale` are the two halves of that arithmetic,
public so the stateful facade computes the very same numbers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, find_one, wide_float, zero_counter
from optimtx.core.tree import Tree, check_leaves, rebuild
from optimtx.core.validation import check_bool, check_loss_scaling_args
from optimtx.transforms.finite import found_nonfinite, guarded_update
from optimtx.transforms.kernels import mul

__all__ = ["ScaleByAmpState", "current_loss_scale", "next_scale", "scale_by_amp", "unscale_grads"]


def unscale_grads(grads: list[Tensor], scale: Tensor) -> tuple[list[Tensor], Tensor]:
    """Divide ``grads`` by ``scale`` and report whether any of them held inf or NaN.

    Bitwise the numbers ``GradScaler.unscale_`` writes into ``.grad`` (the reciprocal is
    taken in float64, then multiplied in float32, or the grads' wider dtype), but out of
    place and differentiable; ``found_inf`` is checked on the scaled inputs.

    Returns:
        the unscaled grads (new tensors, same dtypes) and ``found_inf``: a float32 0-d
        tensor, 1.0 if any element of any grad is not finite, else 0.0.

    Example:
        >>> unscale_grads([torch.tensor([2.0, 4.0])], torch.tensor(2.0))
        ([tensor([1., 2.])], tensor(0.))
    """
    inv_scale = scale.to(wide_float(scale.device)).reciprocal().float()
    found_inf = found_nonfinite(grads)
    if not grads:
        return [], found_inf
    unscaled = mul(grads, inv_scale.to(grads[0].device))
    # A 0-d half grad times the 0-d float32 factor promotes to float32; keep the grad's dtype.
    return [u if u.dtype == g.dtype else u.to(g.dtype) for u, g in zip(unscaled, grads, strict=True)], found_inf


def next_scale(
    scale: Tensor,
    growth_tracker: Tensor,
    found_inf: Tensor,
    growth_factor: float | Tensor,
    backoff_factor: float | Tensor,
    growth_interval: int,
) -> tuple[Tensor, Tensor]:
    """The scale and growth tracker after one step, as ``torch._amp_update_scale_`` sets them.

    On a non-finite step the scale is multiplied by ``backoff_factor`` and the tracker
    reset. Otherwise the tracker counts up; when it reaches ``growth_interval`` the
    scale is multiplied by ``growth_factor`` (kept only if the result is finite) and the
    tracker restarts at 0. Products are rounded from float64 like the kernel's. Out of
    place; dtypes and devices of ``scale`` and ``growth_tracker`` are kept.

    Example:
        >>> next_scale(torch.tensor(8.0), torch.tensor(1), torch.tensor(0.0), 2.0, 0.5, 2)
        (tensor(16.), tensor(0))
        >>> next_scale(torch.tensor(8.0), torch.tensor(1), torch.tensor(1.0), 2.0, 0.5, 2)
        (tensor(4.), tensor(0))
    """
    found = found_inf.to(scale.device) != 0
    wide = scale.to(wide_float(scale.device))
    backed_off = (wide * backoff_factor).to(scale.dtype)
    grown = (wide * growth_factor).to(scale.dtype)
    successful = growth_tracker + 1
    grow = successful == growth_interval
    after_finite = torch.where(grow & torch.isfinite(grown), grown, scale)
    new_scale = torch.where(found, backed_off, after_finite)
    zero = torch.zeros_like(growth_tracker)
    new_tracker = torch.where(found | grow, zero, successful)
    return new_scale, new_tracker


class ScaleByAmpState(NamedTuple):
    """State of [`scale_by_amp`][optimtx.scale_by_amp].

    Attributes:
        scale: the loss scale to use for the next ``loss * scale`` (float32 0-d).
        growth_tracker: finite steps since the last change of scale (int64 0-d).
        skipped_steps: steps skipped so far because a gradient was inf or NaN (int64 0-d).
        inner_state: the wrapped transform's state (unchanged by skipped steps).
    """

    scale: Tensor
    growth_tracker: Tensor
    skipped_steps: Tensor
    inner_state: State


def scale_by_amp(
    inner: GradientTransformation,
    init_scale: float = 2.0**16,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
    enabled: bool = True,
) -> GradientTransformation:
    """Dynamic loss scaling around ``inner``, step for step like ``torch.amp.GradScaler``.

    The incoming updates are gradients of ``loss * scale`` (read the scale with
    [`current_loss_scale`][optimtx.current_loss_scale]). They are unscaled; if all are finite ``inner`` runs on
    them, otherwise the step gives zero updates and ``inner``'s state is kept. Then the
    scale is updated as ``GradScaler.update()`` would. With ``enabled=False`` this is
    ``inner`` with a constant scale of 1 (like a disabled ``GradScaler``).

    Args:
        inner: the transform to run on the unscaled gradients (e.g. ``adamw(...)``).
        init_scale: the first loss scale.
        growth_factor: the scale's multiplier after ``growth_interval`` finite steps (> 1).
        backoff_factor: the scale's multiplier after a non-finite step (in (0, 1)).
        growth_interval: how many consecutive finite steps make the scale grow.
        enabled: False turns scaling and skipping off.

    References:
        Micikevicius et al., 2018, *Mixed Precision Training* (arXiv:1710.03740).
        torch: ``torch.amp.GradScaler``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = scale_by_amp(scale(-1.0), init_scale=4.0)
        >>> state = tx.init({"w": torch.ones(1)})
        >>> tx.update({"w": torch.tensor([8.0])}, state)[0]
        {'w': tensor([-2.])}
        >>> u, state = tx.update({"w": torch.tensor([float("inf")])}, state)
        >>> u, current_loss_scale(state), state.skipped_steps
        ({'w': tensor([0.])}, tensor(2.), tensor(1))
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"scale_by_amp() needs a GradientTransformation as inner, got {inner!r}.")
    check_bool("enabled", enabled)
    check_loss_scaling_args(init_scale, growth_factor, backoff_factor, growth_interval)

    def init(params: Params) -> ScaleByAmpState:
        zero = zero_counter(params)
        first_scale = init_scale if enabled else 1.0
        return ScaleByAmpState(
            scale=torch.as_tensor(first_scale, dtype=torch.float32, device=zero.device).clone(),
            growth_tracker=zero,
            skipped_steps=zero.clone(),
            inner_state=inner.init(params),
        )

    def update(
        updates: Updates, state: ScaleByAmpState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAmpState]:
        check_state(state, ScaleByAmpState, "scale_by_amp")
        if not enabled:
            new_updates, inner_state = inner.update(updates, state.inner_state, params, **extra)
            return new_updates, state._replace(inner_state=inner_state)
        unscaled, found_inf = unscale_grads(check_leaves(updates), state.scale)
        skip = found_inf > 0
        new_updates, inner_state = guarded_update(
            skip, inner, rebuild(updates, unscaled), state.inner_state, params, extra
        )
        new_scale, tracker = next_scale(
            state.scale, state.growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval
        )
        skipped = state.skipped_steps + skip.to(state.skipped_steps.device, torch.int64)
        return new_updates, ScaleByAmpState(new_scale, tracker, skipped, inner_state)

    return GradientTransformation(init, update)


def current_loss_scale(state: State) -> Tensor:
    """The scale to multiply the next loss by, read from the `ScaleByAmpState` inside ``state``.

    ``state`` may be the state of ``scale_by_amp`` itself or of any chain or combinator
    that holds exactly one. Raises ``ValueError`` if there is none (or several).

    Example:
        >>> from optimtx.core.base import chain, identity
        >>> tx = chain(identity(), scale_by_amp(identity(), init_scale=1024.0))
        >>> current_loss_scale(tx.init({"w": torch.ones(1)}))
        tensor(1024.)
    """
    return find_one(state, ScaleByAmpState, "scale_by_amp(...)").scale
