"""Element- and unit-wise gradient filters: adaptive (unit-wise) clipping, NaN zeroing, centralization."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, Updates, checked_empty_init
from optimtx.core.state_tree import check_state
from optimtx.core.tree import check_leaves, check_params, check_same_keys, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_non_negative
from optimtx.transforms.weight_decay import require_params

__all__ = ["ZeroNansState", "adaptive_grad_clip", "centralize", "unit_norms", "zero_nans"]


def unit_norms(x: Tensor) -> Tensor:
    """The 2-norm of each unit of ``x`` in torch's layout, shaped to broadcast against ``x``.

    A unit is a slice along the first dimension (one output row of a ``Linear`` weight,
    one output channel of a ``Conv`` kernel): the norm is taken over every other
    dimension. 0-d and 1-d tensors (biases, gains, scalars) are one unit.

    Example:
        >>> unit_norms(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5.],
                [1.]])
        >>> unit_norms(torch.tensor([3.0, 4.0]))
        tensor(5.)
    """
    if x.ndim <= 1:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.ndim)), keepdim=True)


def adaptive_grad_clip(clipping: float | Tensor, eps: float | Tensor = 1e-3) -> GradientTransformation:
    """NFNets' adaptive gradient clipping (AGC), unit-wise in torch's ``(out, in, ...)`` layout.

    For each unit (see `unit_norms`), with ``max = clipping * max(||p_unit||, eps)``,
    the gradient is kept where ``||g_unit|| < max`` and scaled to
    ``g * max / max(||g_unit||, 1e-6)`` elsewhere.

    optax's ``adaptive_grad_clip`` infers units from JAX's output-last layout (``(in, out)``
    weights, ``HWIO`` kernels); torch stores the output dimension first, so here the norm
    runs over every dimension but the first (equal to optax with
    ``axis=tuple(range(1, ndim))`` for tensors of 2 or more dimensions). 0-d and 1-d
    tensors are clipped by their whole norm, as in optax. Paper practice is to leave the
    final classifier layer unclipped (use [`optimtx.masked`][optimtx.masked]). ``ConvTranspose`` weights
    are stored ``(in, out, ...)`` by torch, so their units are input channels.

    Args:
        clipping: the largest allowed ratio of gradient norm to parameter norm, per unit (>= 0).
        eps: the smallest parameter norm used, so zero-initialised units can move (>= 0).

    References:
        Brock et al., "High-Performance Large-Scale Image Recognition Without Normalization"
        (2021), https://arxiv.org/abs/2102.06171. optax: ``optax.adaptive_grad_clip``.

    Example:
        >>> tx = adaptive_grad_clip(0.1)
        >>> p = {"w": torch.tensor([[3.0, 4.0], [30.0, 40.0]])}  # unit norms 5 and 50
        >>> tx.update({"w": torch.tensor([[0.0, 1.0], [0.0, 1.0]])}, tx.init(p), p)[0]
        {'w': tensor([[0.0000, 0.5000],
                [0.0000, 1.0000]])}
    """
    check_non_negative("clipping", clipping)
    check_non_negative("eps", eps)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmptyState]:
        del extra
        check_state(state, EmptyState, "adaptive_grad_clip")
        params = require_params(params, "adaptive_grad_clip")
        check_params(params)
        grads, ps = matched_leaves(updates, params), leaves(params)
        if not grads:
            return {}, state
        # Per-unit reductions differ in shape for every tensor, so the norms are one kernel per tensor;
        # the clip itself is one batched multiply.
        factors = [
            _unit_factor(unit_norms(g), unit_norms(p), clipping, eps).to(g.dtype)
            for g, p in zip(grads, ps, strict=True)
        ]
        return rebuild(updates, torch._foreach_mul(grads, factors)), state

    return GradientTransformation(checked_empty_init, update)


def _unit_factor(g_norm: Tensor, p_norm: Tensor, clipping: float | Tensor, eps: float | Tensor) -> Tensor:
    """1 where the unit's gradient norm is below its limit, else ``limit / max(g_norm, 1e-6)``."""
    limit = clipping * torch.clamp(p_norm, min=eps)
    return torch.where(g_norm < limit, torch.ones_like(g_norm), limit / torch.clamp(g_norm, min=1e-6))


class ZeroNansState(NamedTuple):
    """State of [`zero_nans`][optimtx.zero_nans].

    Attributes:
        found_nan: per parameter, a 0-d bool: whether the last update had a NaN there.
    """

    found_nan: dict[str, Tensor]


def zero_nans() -> GradientTransformation:
    """Replace NaN entries of the updates by 0 and record, per tensor, whether any were found.

    Infinities are kept (combine with [`optimtx.apply_if_finite`][optimtx.apply_if_finite] to skip those steps).

    References:
        optax: ``optax.zero_nans``.

    Example:
        >>> tx = zero_nans()
        >>> g = {"w": torch.tensor([1.0, float("nan")])}
        >>> u, state = tx.update(g, tx.init(g))
        >>> u, state.found_nan
        ({'w': tensor([1., 0.])}, {'w': tensor(True)})
    """

    def init(params: Params) -> ZeroNansState:
        check_params(params)
        return ZeroNansState(
            found_nan={k: torch.zeros((), dtype=torch.bool, device=v.device) for k, v in params.items()}
        )

    def update(
        updates: Updates, state: ZeroNansState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ZeroNansState]:
        del params, extra
        check_state(state, ZeroNansState, "zero_nans")
        # By name (the state keeps no shapes: any shape is zeroed alike, and the next transform checks it).
        check_same_keys(state.found_nan, updates, "updates")
        grads = check_leaves(updates)
        if not grads:
            return {}, state
        # Infinities are mapped to themselves, so only NaNs change (optax's zero_nans keeps them too).
        cleaned = [torch.nan_to_num(g, nan=0.0, posinf=math.inf, neginf=-math.inf) for g in grads]
        # A tensor's norm is NaN exactly when it holds a NaN: one batched read instead of a bool mask per tensor.
        norms = torch._foreach_norm([g.detach() for g in grads])
        found = [torch.isnan(n).to(s.device) for n, s in zip(norms, state.found_nan.values(), strict=True)]
        return rebuild(updates, cleaned), ZeroNansState(found_nan=rebuild(updates, found))

    return GradientTransformation(init, update)


def centralize() -> GradientTransformation:
    """Gradient centralization: subtract from each tensor of 2+ dimensions its mean over all dims but the first.

    Tensors of 0 or 1 dimensions pass unchanged. In torch's layout the first dimension
    is the output one, so each output unit's gradient gets zero mean, as in the paper;
    optax's ``centralize`` reduces over the same axes (``1..ndim-1``).

    References:
        Yong et al., "Gradient Centralization: A New Optimization Technique for Deep
        Neural Networks" (2020), https://arxiv.org/abs/2004.01461. optax: ``optax.centralize``.

    Example:
        >>> tx = centralize()
        >>> tx.update({"w": torch.tensor([[1.0, 3.0], [0.0, 0.0]]), "b": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([[-1.,  1.],
                [ 0.,  0.]]), 'b': tensor([1., 1.])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmptyState]:
        del params, extra
        check_state(state, EmptyState, "centralize")
        grads = check_leaves(updates)  # stateless and shape-agnostic, like scale: any tree is centralized
        if not grads:
            return {}, state
        multi = [i for i, g in enumerate(grads) if g.ndim > 1]
        means = [grads[i].mean(dim=tuple(range(1, grads[i].ndim)), keepdim=True) for i in multi]
        out = list(grads)
        if multi:
            for i, centred in zip(multi, torch._foreach_sub([grads[i] for i in multi], means), strict=True):
                out[i] = centred
        return rebuild(updates, out), state

    return GradientTransformation(checked_empty_init, update)
