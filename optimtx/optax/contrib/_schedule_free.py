"""optax.contrib's ``schedule_free_sgd`` / ``schedule_free_adamw``: optax's compositions over the generic wrapper.

optax builds both shortcuts as a base optimizer inside its generic ``schedule_free``; so does
this module, over [`schedule_free_wrapper`][optimtx.schedule_free_wrapper] (the one schedule-free
averaging of optimtx). Building them the way optax does keeps optax's warmup convention: the
base optimizer's learning rate and the averaging weights both read the warmup schedule at the
wrapper's count, which starts at 1.
"""

from __future__ import annotations

import torch

from optimtx.core.base import GradientTransformation, chain
from optimtx.optax._aliases import sgd
from optimtx.optax._blocks import add_decayed_weights, scale_by_adam, scale_by_learning_rate
from optimtx.optax.schedules import warmup_constant_schedule
from optimtx.schedules import Schedule
from optimtx.transforms.exports import schedule_free_wrapper

Scalar = float | torch.Tensor

NOT_TRAJECTORIES: tuple[str, ...] = ()

__all__ = ["schedule_free_adamw", "schedule_free_sgd"]


def _warmed(learning_rate: Scalar, warmup_steps: int | None) -> Scalar | Schedule:
    """optax's warmup: a linear ramp from 0 to ``learning_rate`` over ``warmup_steps``, then constant."""
    if warmup_steps is None:
        return learning_rate
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be None or an int >= 0, got {warmup_steps!r}.")
    return warmup_constant_schedule(init_value=0.0, peak_value=learning_rate, warmup_steps=warmup_steps)  # type: ignore[arg-type]


def schedule_free_sgd(
    learning_rate: Scalar = 1.0,
    warmup_steps: int | None = None,
    b1: Scalar = 0.9,
    weight_decay: Scalar | None = None,
    weight_lr_power: Scalar = 2.0,
    state_dtype: torch.dtype | None = None,
) -> GradientTransformation:
    """optax.contrib's ``schedule_free_sgd``: ``sgd`` (after ``add_decayed_weights`` when given) made schedule-free.

    ``update`` needs ``params``; evaluate at
    [`schedule_free_eval_params`][optimtx.schedule_free_eval_params].

    Args:
        learning_rate: SGD's learning rate (>= 0).
        warmup_steps: length of optax's linear warmup from 0, or ``None`` for none.
        b1: interpolation between the average ``x`` and ``z``, in (0, 1).
        weight_decay: L2 decay added to the gradient, or ``None`` for none.
        weight_lr_power: power of the largest learning rate in the averaging weights.
        state_dtype: dtype ``z`` is stored in; ``None``: the parameters' dtype.

    Example:
        >>> tx = schedule_free_sgd(1.0, b1=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.ones(1)}, tx.init(p), p)[0]
        {'w': tensor([-1.])}
    """
    lr = _warmed(learning_rate, warmup_steps)
    base = sgd(lr)
    if weight_decay is not None:
        base = chain(add_decayed_weights(weight_decay), base)
    return schedule_free_wrapper(base, lr, b1, weight_lr_power, state_dtype)


def schedule_free_adamw(
    learning_rate: Scalar = 0.0025,
    warmup_steps: int | None = None,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-8,
    weight_decay: Scalar = 0.0,
    weight_lr_power: Scalar = 2.0,
    state_dtype: torch.dtype | None = None,
) -> GradientTransformation:
    """optax.contrib's ``schedule_free_adamw``: AdamW without momentum, made schedule-free.

    The base optimizer is optax's: bias-corrected RMS scaling ``g / (sqrt(v_hat) + eps)`` (here
    [`scale_by_adam`][optimtx.optax.scale_by_adam] with ``b1=0``, which is the same rule), then
    decoupled weight decay, then ``-learning_rate``.

    Args:
        learning_rate: AdamW's learning rate (>= 0).
        warmup_steps: length of optax's linear warmup from 0, or ``None`` for none.
        b1: interpolation between the average ``x`` and ``z``, in (0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added to the denominator outside the square root.
        weight_decay: decoupled weight decay, scaled by the learning rate.
        weight_lr_power: power of the largest learning rate in the averaging weights.
        state_dtype: dtype ``z`` is stored in; ``None``: the parameters' dtype.

    Example:
        >>> tx = schedule_free_adamw(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.ones(1)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    lr = _warmed(learning_rate, warmup_steps)
    base = chain(scale_by_adam(b1=0.0, b2=b2, eps=eps), add_decayed_weights(weight_decay), scale_by_learning_rate(lr))
    return schedule_free_wrapper(base, lr, b1, weight_lr_power, state_dtype)
