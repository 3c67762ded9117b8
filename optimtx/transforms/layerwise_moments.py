"""NovoGrad: Adam-like steps normalised per layer, with one second-moment scalar per tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_non_negative, check_state_dtype, check_unit_interval
from optimtx.schedules import Schedule
from optimtx.transforms._moment_rules import Hyper, real_grads, root_plus
from optimtx.transforms.kernels import add_scaled, mul, to_dtype, to_dtypes_of
from optimtx.transforms.optimizers import is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScaleByNovogradState", "novograd", "scale_by_novograd"]


class ScaleByNovogradState(NamedTuple):
    """State of `scale_by_novograd`.

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: the momentum of the normalised gradients (stored in ``mu_dtype``).
        nu: one 0-d moving average of ``||g||**2`` per tensor.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]


def scale_by_novograd(
    b1: Hyper = 0.9,
    b2: Hyper = 0.25,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Rescale updates as NovoGrad does: each tensor's gradient is divided by its own running norm.

    Per tensor, ``n = ||g||**2`` at the first step and ``b2 * n + (1 - b2) * ||g||**2`` after;
    ``m = b1 * m + g / (sqrt(n + eps_root) + eps) + weight_decay * p`` (``m`` starts at 0); the
    output is ``m``. ``update`` needs ``params`` when ``weight_decay`` is not 0.

    Args:
        b1: momentum of the normalised gradients, in [0, 1).
        b2: decay of the squared norms, in [0, 1).
        eps: added outside the square root (>= 0).
        eps_root: added inside the square root (>= 0).
        weight_decay: coefficient of the parameters added to each normalised gradient (>= 0).
        mu_dtype: dtype the momentum is stored in; ``None``: the parameters' dtype.

    References:
        Ginsburg et al., 2019, *Stochastic Gradient Methods with Layer-wise Adaptive Moments*
        (arXiv:1905.11286); optax: ``optax.scale_by_novograd``.

    Example:
        >>> tx = scale_by_novograd(eps=0.0)
        >>> g = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update(g, tx.init(g))[0]  # g / ||g||
        {'w': tensor([0.6000, 0.8000])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_non_negative("eps_root", eps_root)
    check_non_negative("weight_decay", weight_decay)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)

    def init(params: Params) -> ScaleByNovogradState:
        check_params(params)
        nu = {k: torch.zeros((), dtype=v.dtype, device=v.device) for k, v in params.items()}
        return ScaleByNovogradState(zero_counter(params), zeros_like(params, dtype=mu_dtype), nu)

    def update(
        updates: Updates, state: ScaleByNovogradState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByNovogradState]:
        grads = real_grads(
            updates, state, ScaleByNovogradState, "mu", "scale_by_novograd", keep_dtype=mu_dtype is not None
        )
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        first = (state.count == 0).to(torch.promote_types(grads[0].dtype, torch.float32))
        norms = torch._foreach_norm(grads)
        squares = to_dtypes_of(list(torch._foreach_mul(norms, norms)), leaves(state.nu))
        # The first step takes the squared norm itself: the rates switch, no branch on the count.
        nu = add_scaled(mul(leaves(state.nu), b2 * (1 - first)), squares, (1 - b2) + b2 * first)
        normalised = list(torch._foreach_div(grads, root_plus(nu, eps_root, eps)))
        if is_present(weight_decay):
            ps = matched_leaves(require_params(params, "scale_by_novograd"), state.mu, "params", keep_dtype=True)
            normalised = add_scaled(normalised, ps, weight_decay)
        mu = add_scaled(normalised, mul(to_dtypes_of(leaves(state.mu), grads), b1), 1.0)
        new_state = ScaleByNovogradState(count, rebuild(updates, to_dtype(mu, mu_dtype)), rebuild(updates, nu))
        return rebuild(updates, mu), new_state

    return GradientTransformation(init, update)


def novograd(
    lr: float | Tensor | Schedule = 1e-3,
    betas: Sequence[Hyper] = (0.9, 0.25),
    eps: Hyper = 1e-6,
    eps_root: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
) -> GradientTransformation:
    """NovoGrad: [`scale_by_novograd`][optimtx.scale_by_novograd], then ``-lr``.

    Example:
        >>> tx = novograd(0.1, eps=0.0)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.0600, -0.0800])}
    """
    b1, b2 = check_betas(betas)
    return chain(scale_by_novograd(b1, b2, eps, eps_root, weight_decay), scale_by_learning_rate(lr))
