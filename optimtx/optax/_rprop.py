"""optax's ``rprop`` and ``scale_by_rprop``: optimtx's one Rprop rule in its optax form.

optax's variant differs from ``torch.optim.Rprop`` (optimtx's [`rprop`][optimtx.rprop]): each update
is the previous step's move (the first update is 0), and a step size is clamped only when it changes.
Both are [`scale_by_rprop`][optimtx.scale_by_rprop]; ``optax_form=True`` selects optax's.
"""

from __future__ import annotations

from typing import Any

from optimtx.core.base import GradientTransformation, chain
from optimtx.transforms.rprop import ScaleByRpropState
from optimtx.transforms.rprop import scale_by_rprop as _scale_by_rprop
from optimtx.transforms.scaling import scale


def scale_by_rprop(
    learning_rate: Any,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
) -> GradientTransformation:
    """optax's ``scale_by_rprop``: ``+sign`` times the adaptive step sizes, one step late (first update 0).

    Example:
        >>> import torch
        >>> tx = scale_by_rprop(0.1)
        >>> g = {"w": torch.tensor([2.0, -1.0])}
        >>> u, state = tx.update(g, tx.init(g))
        >>> u, tx.update(g, state)[0]
        ({'w': tensor([0., 0.])}, {'w': tensor([ 0.1000, -0.1000])})
    """
    return chain(_rule(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size), scale(-1.0))


def rprop(
    learning_rate: Any,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
) -> GradientTransformation:
    """optax's ``rprop``: ``scale_by_rprop`` then the sign flip (the update of step ``t`` is step ``t - 1``'s move).

    Example:
        >>> import torch
        >>> tx = rprop(0.1)
        >>> p = {"w": torch.ones(2)}
        >>> g = {"w": torch.tensor([2.0, -1.0])}
        >>> u, state = tx.update(g, tx.init(p), p)
        >>> u, tx.update(g, state, p)[0]
        ({'w': tensor([-0., -0.])}, {'w': tensor([-0.1000,  0.1000])})
    """
    return _rule(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)


def _rule(learning_rate: Any, eta_minus: Any, eta_plus: Any, low: Any, high: Any) -> GradientTransformation:
    if callable(learning_rate):
        raise TypeError(
            f"rprop's learning_rate must be a number or a 0-d tensor, got the schedule {learning_rate!r}: it is only "
            "the initial step size (optax uses it once, at init)."
        )
    return _scale_by_rprop(learning_rate, (eta_minus, eta_plus), (low, high), optax_form=True)


__all__ = ["ScaleByRpropState", "rprop", "scale_by_rprop"]
