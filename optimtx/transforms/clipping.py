"""Gradient clipping: by global norm (like ``clip_grad_norm_``) and by value."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, checked_empty_init
from optimtx.core.state_tree import check_state, on_real_view, params_device
from optimtx.core.tree import check_leaves, global_norm, rebuild
from optimtx.core.validation import check_bool, check_non_negative, check_norm_type
from optimtx.transforms.kernels import loop_invariant, mul

__all__ = ["ClipByGlobalNormState", "clip_by_global_norm", "clip_by_norm", "clip_by_value", "clip_coefficient"]


class ClipByGlobalNormState(NamedTuple):
    """State of [`clip_by_global_norm`][optimtx.clip_by_global_norm].

    Attributes:
        norm: the total norm of the last gradients, before clipping (0-d float32 tensor).
    """

    norm: Tensor


def clip_coefficient(total_norm: Tensor, max_norm: float | Tensor, eps: float = 1e-6) -> Tensor:
    """``min(max_norm / (total_norm + eps), 1)``, the factor ``clip_grad_norm_`` applies (``eps=0``: optax's).

    A clamp instead of an ``if``, so nothing is read back to the host.

    Example:
        >>> clip_coefficient(torch.tensor(10.0), 1.0)
        tensor(0.1000)
    """
    return torch.clamp(max_norm / (total_norm + eps), max=1.0)


def clip_by_global_norm(
    max_norm: float | Tensor, norm_type: float | str = 2.0, error_if_nonfinite: bool = False, *, eps: float = 1e-6
) -> GradientTransformation:
    """Scale all updates so that their total norm is at most ``max_norm``.

    Same result as ``torch.nn.utils.clip_grad_norm_(grads, max_norm, norm_type)``
    applied to a copy of the gradients. The pre-clip norm is kept in the state
    (``state.norm``) so a caller can report it without recomputing it.

    Args:
        max_norm: the largest allowed total norm (>= 0).
        norm_type: the p of the p-norm; ``float('inf')`` or ``'inf'`` for the max norm.
        error_if_nonfinite: raise ``RuntimeError`` when the total norm is NaN or inf.
            This check reads the norm on the host, so it costs a device sync.
        eps: added to the norm in the clipping factor's denominator (>= 0): torch's ``1e-6`` by default,
            ``0`` for optax's ``clip_by_global_norm`` (no change at all while the norm is below ``max_norm``).

    References:
        Pascanu, Mikolov & Bengio, 2013, *On the difficulty of training recurrent neural networks*.
        torch: ``torch.nn.utils.clip_grad_norm_``; optax: ``optax.clip_by_global_norm``.

    Example:
        >>> tx = clip_by_global_norm(1.0)
        >>> g = {"w": torch.tensor([3.0, 4.0])}
        >>> clipped, state = tx.update(g, tx.init(g))
        >>> clipped["w"], state.norm
        (tensor([0.6000, 0.8000]), tensor(5.))
    """
    check_non_negative("max_norm", max_norm, allow_inf=True)
    norm_type = check_norm_type(norm_type)
    check_bool("error_if_nonfinite", error_if_nonfinite)
    check_non_negative("eps", eps)

    def init(params: Params) -> ClipByGlobalNormState:
        return ClipByGlobalNormState(norm=torch.zeros((), dtype=torch.float32, device=params_device(params)))

    def update(
        updates: Updates, state: ClipByGlobalNormState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ClipByGlobalNormState]:
        del params, extra
        check_state(state, ClipByGlobalNormState, "clip_by_global_norm")
        grads = check_leaves(updates)
        if not grads:
            return {}, state
        total = global_norm(updates, norm_type)
        if error_if_nonfinite and not torch.isfinite(total):
            raise RuntimeError(
                f"The total norm of order {norm_type} of the gradients is non-finite ({total}), so it "
                "cannot be clipped. Set error_if_nonfinite=False to scale by the non-finite norm anyway."
            )
        coef = loop_invariant(clip_coefficient(total, max_norm, eps).to(grads[0].device))
        clipped = mul(grads, coef)
        new_state = ClipByGlobalNormState(norm=total.detach().to(state.norm.device, torch.float32))
        return rebuild(updates, clipped), new_state

    return GradientTransformation(init, update)


def clip_by_value(clip_value: float | Tensor) -> GradientTransformation:
    """Clamp every update element to ``[-clip_value, clip_value]``.

    Same result as ``torch.nn.utils.clip_grad_value_`` on a copy of the gradients.

    References:
        torch: ``torch.nn.utils.clip_grad_value_``; optax: ``optax.clip``.

    Example:
        >>> tx = clip_by_value(0.5)
        >>> tx.update({"w": torch.tensor([-2.0, 0.1, 3.0])}, tx.init({}))[0]
        {'w': tensor([-0.5000,  0.1000,  0.5000])}
    """
    check_non_negative("clip_value", clip_value, allow_inf=True)

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmptyState]:
        check_state(state, EmptyState, "clip_by_value")
        grads = check_leaves(updates)
        if any(g.is_complex() for g in grads):  # clamps real and imaginary parts, like torch's real view
            return on_real_view(update, updates, state, params, extra)
        if not grads:
            return {}, state
        clamped = torch._foreach_clamp_max(torch._foreach_clamp_min(grads, -clip_value), clip_value)  # type: ignore[arg-type]
        return rebuild(updates, clamped), state

    return GradientTransformation(init, update)


def clip_by_norm(
    max_norm: float | Tensor, norm_type: float | str = 2.0, per_tensor: bool = False
) -> GradientTransformation:
    """Clip updates by their norm: all tensors together (default) or each tensor by its own norm.

    ``per_tensor=False`` is [`clip_by_global_norm`][optimtx.clip_by_global_norm] (``clip_grad_norm_`` over all
    gradients, what ``clip_grad=dict(max_norm=...)`` runs): one factor for the whole model,
    so the update keeps its direction. ``per_tensor=True`` scales each tensor ``t`` by
    ``min(max_norm / (||t|| + 1e-6), 1)`` on its own (``clip_grad_norm_`` called on each
    gradient separately): the direction changes, and a layer with large gradients cannot
    shrink the steps of the others. Use the total norm unless you want per-layer caps.

    Args:
        max_norm: the largest allowed norm (>= 0).
        norm_type: the p of the p-norm; ``float('inf')`` or ``'inf'`` for the max norm.
        per_tensor: clip each tensor by its own norm.

    References:
        torch: ``torch.nn.utils.clip_grad_norm_``. optax: ``optax.clip_by_global_norm``.

    Example:
        >>> g = {"a": torch.tensor([3.0, 4.0]), "b": torch.tensor([0.5])}
        >>> tx = clip_by_norm(1.0, per_tensor=True)
        >>> tx.update(g, tx.init(g))[0]
        {'a': tensor([0.6000, 0.8000]), 'b': tensor([0.5000])}
    """
    check_bool("per_tensor", per_tensor)
    if not per_tensor:
        return clip_by_global_norm(max_norm, norm_type)
    check_non_negative("max_norm", max_norm)
    norm_type = check_norm_type(norm_type)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmptyState]:
        del params, extra
        check_state(state, EmptyState, "clip_by_norm")
        grads = check_leaves(updates)  # stateless: each tensor is clipped by its own norm, whatever its shape
        if not grads:
            return {}, state
        if torch.is_grad_enabled() and any(g.requires_grad for g in grads):
            norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]  # _foreach_norm has no backward
        else:
            norms = list(torch._foreach_norm(grads, norm_type))
        wide = torch.promote_types(norms[0].dtype, torch.float32)  # real: norms of complex tensors are moduli
        coefs = clip_coefficient(torch.stack([n.to(grads[0].device, wide) for n in norms]), max_norm)
        factors = [c.to(g.dtype) for c, g in zip(coefs.unbind(0), grads, strict=True)]
        return rebuild(updates, torch._foreach_mul(grads, factors)), state

    return GradientTransformation(checked_empty_init, update)
