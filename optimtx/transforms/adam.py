"""Adam's moment estimates: the scaling inside ``torch.optim.Adam`` and ``AdamW``."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.base import GradientTransformation, Params, Updates
from optimtx.transforms.kernels import add, decay_add_square, lerp, mul
from optimtx.tree import leaves, rebuild, zeros_like
from optimtx.validation import check_non_negative, check_unit_interval


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`.

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        mu: first moment (``exp_avg``) of each parameter.
        nu: second moment (``exp_avg_sq``) of each parameter.
        nu_max: with ``amsgrad``, the running maximum of ``nu`` (``max_exp_avg_sq``); else ``{}``.
    """

    count: Tensor
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    nu_max: dict[str, Tensor]


def bias_correction(decay: float | Tensor, count: Tensor) -> Tensor:
    """``1 - decay ** count`` as a float64 0-d tensor (torch computes it in double precision too).

    Example:
        >>> bias_correction(0.5, torch.tensor(2))
        tensor(0.7500, dtype=torch.float64)
    """
    return 1 - decay ** count.to(torch.float64)


def scale_by_adam(
    b1: float | Tensor = 0.9, b2: float | Tensor = 0.999, eps: float | Tensor = 1e-8, amsgrad: bool = False
) -> GradientTransformation:
    """Rescale updates by Adam's bias-corrected moments, as ``torch.optim.Adam`` does.

    With ``t`` the step number, ``m = lerp(m, g, 1 - b1)``, ``v = b2 * v + (1 - b2) * g * g``
    (``v_max = max(v_max, v)`` with ``amsgrad``, used in place of ``v``), and the output is
    ``(m / (1 - b1**t)) / (sqrt(v) / sqrt(1 - b2**t) + eps)``: ``eps`` is added after the
    square root of the bias-corrected second moment, like torch (optax adds it differently).
    Multiplying by ``-lr`` gives torch's Adam step.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        amsgrad: keep the running maximum of the second moment (AMSGrad).

    Example:
        >>> tx = scale_by_adam()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # the first step is the sign, up to eps
        {'w': tensor([ 1.0000, -1.0000])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=torch.zeros((), dtype=torch.int64),
            mu=zeros_like(params),
            nu=zeros_like(params),
            nu_max=zeros_like(params) if amsgrad else {},
        )

    def update(updates: Updates, state: ScaleByAdamState, params: Params | None = None, **extra: Any):
        del params, extra
        grads = leaves(updates)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        mu = lerp(leaves(state.mu), grads, 1 - b1)
        nu = decay_add_square(leaves(state.nu), grads, b2, 1 - b2)
        nu_max = list(torch._foreach_maximum(leaves(state.nu_max), nu)) if amsgrad else []
        root = torch._foreach_sqrt(nu_max if amsgrad else nu)
        denom = add(list(torch._foreach_div(root, bias_correction(b2, count).sqrt())), eps)
        out = mul(list(torch._foreach_div(mu, denom)), 1 / bias_correction(b1, count))
        new_state = ScaleByAdamState(
            count=count,
            mu=rebuild(updates, mu),
            nu=rebuild(updates, nu),
            nu_max=rebuild(updates, nu_max) if amsgrad else {},
        )
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)
