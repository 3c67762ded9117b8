"""optax.contrib's ``reduce_on_plateau``: scale updates down when the averaged ``value`` stops improving.

A transform (the facade's scheduler form is [`ReduceOnPlateauLR`][optimtx.ReduceOnPlateauLR]): all
bookkeeping is on 0-d tensors with ``torch.where``, so ``update`` reads nothing back to the host.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates

NOT_TRAJECTORIES: tuple[str, ...] = ("ReduceLROnPlateauState",)

__all__ = ["ReduceLROnPlateauState", "reduce_on_plateau"]


class ReduceLROnPlateauState(NamedTuple):
    """optax's state: the current ``scale``, the best averaged value, counters and the running average.

    Example:
        >>> ReduceLROnPlateauState._fields[:2]
        ('scale', 'best_value')
    """

    scale: Tensor
    best_value: Tensor
    plateau_count: Tensor
    cooldown_count: Tensor
    # optax names the accumulation counter `count`, which shadows tuple.count.
    count: Tensor  # type: ignore[assignment]
    avg_value: Tensor


def _check(factor: float, rtol: float, atol: float) -> None:
    if not 0.0 < factor < 1.0:
        raise ValueError(f"reduce_on_plateau's factor must be in (0, 1), got factor={factor!r}.")
    if rtol < 0.0 or atol < 0.0:
        raise ValueError(f"reduce_on_plateau's rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}.")
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("reduce_on_plateau needs rtol > 0 or atol > 0, got both 0.")
    if rtol > 1.0:
        raise ValueError(f"reduce_on_plateau's rtol must be <= 1, got rtol={rtol!r}.")


def _dtypes(params: Params) -> tuple[torch.dtype, torch.dtype, torch.device]:
    """The lowest and highest floating dtype of ``params`` (float32 without any) and their device."""
    floats = [p for p in params.values() if p.is_floating_point()]
    if not floats:
        return torch.float32, torch.float32, torch.device("cpu")
    by_size = sorted(floats, key=lambda p: p.element_size())
    return by_size[0].dtype, by_size[-1].dtype, floats[0].device


def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_scale: float = 0.0,
) -> GradientTransformation:
    """optax.contrib's ``reduce_on_plateau``: ``update`` takes the loss as ``value=`` (a 0-d tensor).

    Every ``accumulation_size`` values, their mean is compared with the best so far: an
    improvement is a mean below ``(1 - rtol) * best - atol``. After ``patience`` checks without
    one, the scale is multiplied by ``factor`` (not below ``min_scale``) and ``cooldown`` checks
    pass before the plateau count runs again. The updates are multiplied by the scale.

    Args:
        factor: multiplier applied on a plateau, in (0, 1).
        patience: checks without improvement before reducing.
        rtol: relative improvement threshold, in [0, 1].
        atol: absolute improvement threshold (>= 0; ``rtol`` or ``atol`` positive).
        cooldown: checks to wait after a reduction.
        accumulation_size: values averaged per check.
        min_scale: the scale's floor.

    Example:
        >>> tx = reduce_on_plateau(factor=0.5, patience=1)
        >>> g = {"w": torch.ones(1)}
        >>> state = tx.init(g)
        >>> for loss in (1.0, 2.0, 2.0):
        ...     u, state = tx.update(g, state, value=torch.tensor(loss))
        >>> u, state.scale
        ({'w': tensor([0.2500])}, tensor(0.2500))
    """
    _check(factor, rtol, atol)

    def init(params: Params) -> ReduceLROnPlateauState:
        low, high, device = _dtypes(params)
        zero = torch.zeros((), dtype=torch.int32, device=device)
        return ReduceLROnPlateauState(
            scale=torch.ones((), dtype=low, device=device),
            best_value=torch.full((), float("inf"), dtype=high, device=device),
            plateau_count=zero,
            cooldown_count=zero.clone(),
            count=zero.clone(),
            avg_value=torch.zeros((), dtype=high, device=device),
        )

    def check(s: ReduceLROnPlateauState) -> ReduceLROnPlateauState:
        improved = s.avg_value < (1 - rtol) * s.best_value - atol
        best = torch.where(improved, s.avg_value, s.best_value)
        plateau = torch.where(improved, torch.zeros_like(s.plateau_count), s.plateau_count + 1)
        hit = plateau == patience
        cooling = s.cooldown_count > 0
        scale = torch.clamp(torch.where(hit, s.scale * factor, s.scale), min=min_scale).to(s.scale.dtype)
        return ReduceLROnPlateauState(
            scale=torch.where(cooling, s.scale, scale),
            best_value=best,
            plateau_count=torch.where(cooling | hit, torch.zeros_like(plateau), plateau),
            cooldown_count=torch.where(cooling, s.cooldown_count - 1, torch.where(hit, cooldown, 0).to(torch.int32)),
            count=torch.zeros_like(s.count),
            avg_value=torch.zeros_like(s.avg_value),
        )

    def update(
        updates: Updates, state: ReduceLROnPlateauState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ReduceLROnPlateauState]:
        if "value" not in extra:
            raise TypeError("reduce_on_plateau's update needs the loss as value= (a 0-d tensor).")
        value = torch.as_tensor(extra["value"], dtype=state.avg_value.dtype, device=state.avg_value.device)
        count = state.count + 1
        avg = (state.count * state.avg_value + value) / count
        accumulated = state._replace(avg_value=avg.to(state.avg_value.dtype), count=count)
        checked = check(accumulated)
        due = count == accumulation_size
        new = ReduceLROnPlateauState(*(torch.where(due, c, a) for c, a in zip(checked, accumulated, strict=True)))
        return {k: g * new.scale.to(g.dtype) for k, g in updates.items()}, new

    return GradientTransformation(init, update)
