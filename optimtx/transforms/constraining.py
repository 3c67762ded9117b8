"""Per-tensor constraints and rescalings: non-negative parameters, block RMS clipping, update-norm normalising.

Each is stateless; the ones that read the parameters need ``params`` in ``update``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, checked_empty_init
from optimtx.core.state_tree import check_state, has_complex, on_real_view
from optimtx.core.tree import Tree, check_params, global_norm, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_finite, check_non_negative, check_positive
from optimtx.transforms._checks import matched_to_params
from optimtx.transforms.kernels import loop_invariant
from optimtx.transforms.weight_decay import require_params

__all__ = [
    "clip_by_block_rms",
    "keep_params_nonnegative",
    "normalize_by_update_norm",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
]


def _with_params(updates: Updates, params: Params | None, who: str) -> tuple[list[Tensor], list[Tensor]]:
    params = require_params(params, who)
    check_params(params)
    return matched_leaves(updates, params), leaves(params)


def _complex(us: list[Tensor], ps: list[Tensor]) -> bool:
    return has_complex(us) or has_complex(ps)


def keep_params_nonnegative() -> GradientTransformation:
    """Cut each update so that ``params + updates`` stays >= 0: where it would go below 0, the update is ``-params``.

    Put it last in a chain (it must see the final updates). Parameters that start negative
    are moved to 0 by the first update.

    References:
        optax: ``optax.keep_params_nonnegative``.

    Example:
        >>> tx = keep_params_nonnegative()
        >>> p = {"w": torch.tensor([1.0, 0.5])}
        >>> tx.update({"w": torch.tensor([-2.0, 0.1])}, tx.init(p), p)[0]
        {'w': tensor([-1.0000,  0.1000])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, "keep_params_nonnegative")
        us, ps = _with_params(updates, params, "keep_params_nonnegative")
        if _complex(us, ps):
            return on_real_view(update, updates, state, params, extra)
        out = [torch.where(p + u < 0, -p, u) for p, u in zip(ps, us, strict=True)]
        return rebuild(updates, out), state

    return GradientTransformation(checked_empty_init, update)


def clip_by_block_rms(threshold: float | Tensor) -> GradientTransformation:
    """Scale each tensor down so that its root mean square is at most ``threshold``.

    ``u / max(1, rms(u) / threshold)`` per tensor (a tensor is optax's "block").

    Args:
        threshold: the largest allowed RMS of each tensor's update (> 0).

    References:
        optax: ``optax.clip_by_block_rms``.

    Example:
        >>> tx = clip_by_block_rms(1.0)
        >>> tx.update({"w": torch.tensor([3.0, -3.0]), "b": torch.tensor([0.5])}, tx.init({}))[0]
        {'w': tensor([ 1., -1.]), 'b': tensor([0.5000])}
    """
    check_positive("threshold", threshold)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, "clip_by_block_rms")
        us = matched_to_params(updates, params)
        if has_complex(us):
            return on_real_view(update, updates, state, params, extra)
        rms = [torch.sqrt(torch.mean(torch.abs(u) ** 2)) for u in us]  # abs: the squared modulus of complex values
        denominators = [torch.clamp(r / threshold, min=1.0).to(u.dtype) for r, u in zip(rms, us, strict=True)]
        return rebuild(updates, torch._foreach_div(us, denominators)), state

    return GradientTransformation(checked_empty_init, update)


def normalize_by_update_norm(scale_factor: float | Tensor = 1.0, eps: float | Tensor = 1e-6) -> GradientTransformation:
    """Divide all updates by their global 2-norm (plus ``eps``) and multiply by ``scale_factor``.

    Every step then has norm ``scale_factor`` (up to ``eps``): only the direction of the updates is kept.

    Args:
        scale_factor: the norm of the output (a number; a negative one flips the direction).
        eps: added to the norm before dividing (>= 0).

    References:
        optax: ``optax.normalize_by_update_norm``.

    Example:
        >>> tx = normalize_by_update_norm(eps=0.0)
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({}))[0]
        {'w': tensor([0.6000, 0.8000])}
    """
    check_finite("scale_factor", scale_factor)
    check_non_negative("eps", eps)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, "normalize_by_update_norm")
        us = matched_to_params(updates, params)
        if has_complex(us):
            return on_real_view(update, updates, state, params, extra)
        if not us:
            return {}, state
        factor = loop_invariant((scale_factor / (global_norm(updates) + eps)).to(us[0].device))
        return rebuild(updates, torch._foreach_mul(us, [factor.to(u.dtype) for u in us])), state

    return GradientTransformation(checked_empty_init, update)


def _scale_by_param_block(min_scale: float | Tensor, who: str, rms: bool) -> GradientTransformation:
    check_non_negative("min_scale", min_scale)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        check_state(state, EmptyState, who)
        us, ps = _with_params(updates, params, who)
        if _complex(us, ps):
            return on_real_view(update, updates, state, params, extra)
        sizes = [torch.linalg.vector_norm(p) / (p.numel() ** 0.5 if rms else 1.0) for p in ps]
        scales = [torch.clamp(s, min=min_scale).to(u.dtype) for s, u in zip(sizes, us, strict=True)]
        return rebuild(updates, torch._foreach_mul(us, scales)), state

    return GradientTransformation(checked_empty_init, update)


def scale_by_param_block_norm(min_scale: float | Tensor = 1e-3) -> GradientTransformation:
    """Multiply each tensor's update by its parameter's 2-norm, at least ``min_scale``.

    References:
        optax: ``optax.scale_by_param_block_norm``.

    Example:
        >>> tx = scale_by_param_block_norm()
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update({"w": torch.ones(2)}, tx.init(p), p)[0]
        {'w': tensor([5., 5.])}
    """
    return _scale_by_param_block(min_scale, "scale_by_param_block_norm", rms=False)


def scale_by_param_block_rms(min_scale: float | Tensor = 1e-3) -> GradientTransformation:
    """Multiply each tensor's update by its parameter's root mean square, at least ``min_scale``.

    References:
        optax: ``optax.scale_by_param_block_rms``.

    Example:
        >>> tx = scale_by_param_block_rms()
        >>> p = {"w": torch.tensor([2.0, -2.0])}
        >>> tx.update({"w": torch.ones(2)}, tx.init(p), p)[0]
        {'w': tensor([2., 2.])}
    """
    return _scale_by_param_block(min_scale, "scale_by_param_block_rms", rms=True)
