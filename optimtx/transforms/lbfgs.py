"""L-BFGS: a limited-memory quasi-Newton direction (optax's form), plus a backtracking line search.

``scale_by_lbfgs`` keeps the last ``memory_size`` parameter and gradient differences in stacked
buffers and applies the two-loop recursion with a static number of iterations (a ring buffer
indexed by tensors, so nothing is read back to the host).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain, identity
from optimtx.core.state_tree import check_state, has_complex, on_real_view, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_int_at_least
from optimtx.transforms._moment_rules import squared_norm, vdot
from optimtx.transforms.kernels import add_scaled, mul
from optimtx.transforms.scaling import scale, scale_by_learning_rate
from optimtx.transforms.weight_decay import require_params
from optimtx.transforms.zoom_line_search import scale_by_zoom_linesearch

__all__ = ["DEFAULT_LINESEARCH", "ScaleByLBFGSState", "lbfgs", "scale_by_lbfgs"]


class ScaleByLBFGSState(NamedTuple):
    """State of `scale_by_lbfgs` (optax's field names).

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        params: the parameters of the previous step.
        updates: the gradients of the previous step.
        diff_params_memory: per tensor, the last ``memory_size`` parameter differences (stacked on dim 0).
        diff_updates_memory: per tensor, the last ``memory_size`` gradient differences.
        weights_memory: the ``1 / <dg, dp>`` of each stored pair (0 where undefined).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (optax's); shadows tuple.count on purpose
    params: dict[str, Tensor]
    updates: dict[str, Tensor]
    diff_params_memory: dict[str, Tensor]
    diff_updates_memory: dict[str, Tensor]
    weights_memory: Tensor


def _stacked(params: Params, size: int) -> dict[str, Tensor]:
    return {k: v.new_zeros((size, *v.shape)) for k, v in params.items()}


def _wide(params: Params) -> torch.dtype:
    dtype = torch.float32
    for p in params.values():  # a complex parameter counts as its real view (the weights are real)
        dtype = torch.promote_types(dtype, p.real.dtype)
    return dtype


def _written(memory: list[Tensor], values: list[Tensor], slot: Tensor) -> list[Tensor]:
    """``memory`` with entry ``slot`` of each stack replaced by the matching value (a mask, not an index write)."""
    out = []
    for stack, value in zip(memory, values, strict=True):
        mask = (torch.arange(stack.shape[0], device=stack.device) == slot).view(-1, *([1] * value.ndim))
        out.append(torch.where(mask, value.unsqueeze(0), stack))
    return out


def _two_loops(
    grads: list[Tensor], dps: list[Tensor], dus: list[Tensor], rhos: Tensor, start: Tensor, gamma: Tensor
) -> list[Tensor]:
    """The two-loop recursion over the memory, oldest entry at ``start`` (static loop of ``len(rhos)`` steps)."""
    size = rhos.shape[0]
    order = (start + torch.arange(size, device=rhos.device)) % size
    dps = [torch.index_select(d, 0, order) for d in dps]
    dus = [torch.index_select(d, 0, order) for d in dus]
    rhos = torch.index_select(rhos, 0, order)
    vec, alphas = list(grads), [rhos[0]] * size
    for j in reversed(range(size)):
        alphas[j] = rhos[j] * vdot([d[j] for d in dps], vec)
        vec = add_scaled(vec, [d[j] for d in dus], -alphas[j])
    vec = mul(vec, gamma)
    for j in range(size):
        beta = rhos[j] * vdot([d[j] for d in dus], vec)
        vec = add_scaled(vec, [d[j] for d in dps], alphas[j] - beta)
    return vec


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    """Replace the gradient by L-BFGS's approximation of ``H^-1 g`` (positive: follow it with a negative scale).

    The memory holds the last ``memory_size`` pairs ``(p_t - p_{t-1}, g_t - g_{t-1})``; with
    ``scale_init_precond`` the initial inverse Hessian is ``<dg, dp> / ||dg||**2`` (and
    ``min(1, 1 / ||g||)`` at the first step), else the identity. ``update`` needs ``params``.

    Args:
        memory_size: how many pairs are kept (>= 1).
        scale_init_precond: scale the initial inverse Hessian as above.

    References:
        Nocedal & Wright, *Numerical Optimization* (2006), algorithms 7.4 and 7.5;
        optax: ``optax.scale_by_lbfgs``.

    Example:
        >>> tx = scale_by_lbfgs()
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([0.3, 0.4])}, tx.init(p), p)[0]  # ||g|| < 1: the gradient itself
        {'w': tensor([0.3000, 0.4000])}
    """
    memory_size = check_int_at_least("memory_size", memory_size, 1)
    check_bool("scale_init_precond", scale_init_precond)

    def init(params: Params) -> ScaleByLBFGSState:
        check_params(params)
        count = zero_counter(params)
        weights = torch.zeros(memory_size, dtype=_wide(params), device=count.device)
        stacked = _stacked(params, memory_size)
        return ScaleByLBFGSState(
            count, zeros_like(params), zeros_like(params), stacked, _stacked(params, memory_size), weights
        )

    def update(
        updates: Updates, state: ScaleByLBFGSState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByLBFGSState]:
        check_state(state, ScaleByLBFGSState, "scale_by_lbfgs")
        gs = matched_leaves(updates, state.params)
        ps = matched_leaves(require_params(params, "scale_by_lbfgs"), state.params, "params")
        if has_complex(gs):  # torch's convention: a complex tensor is its real view
            return on_real_view(update, updates, state, params, extra)
        if not gs:
            return {}, state._replace(count=state.count + 1)
        started = state.count > 0
        dps = [torch.where(started, d, 0.0).to(d.dtype) for d in torch._foreach_sub(ps, leaves(state.params))]
        dus = [torch.where(started, d, 0.0).to(d.dtype) for d in torch._foreach_sub(gs, leaves(state.updates))]
        curvature = vdot(dus, dps).to(state.weights_memory.dtype)
        # Divide by a safe value, then mask: a masked 1/0 would still send NaN through autograd.
        undefined = curvature == 0
        weight = torch.where(undefined, 0.0, 1 / torch.where(undefined, 1.0, curvature)) * started
        slot = (state.count - 1) % memory_size
        dp_memory = _written(leaves(state.diff_params_memory), dps, slot)
        du_memory = _written(leaves(state.diff_updates_memory), dus, slot)
        weights = _written([state.weights_memory], [weight], slot)[0]
        gamma = torch.ones((), dtype=weights.dtype, device=weights.device)
        if scale_init_precond:
            denominator = squared_norm(dus).to(weights.dtype)
            positive = denominator > 0
            ratio = torch.where(positive, curvature / torch.where(positive, denominator, 1.0), 1.0)
            capped = torch.clamp(1 / squared_norm([g.detach() for g in gs]).sqrt(), max=1.0).to(weights.dtype)
            gamma = torch.where(started, ratio, capped)
        out = _two_loops(gs, dp_memory, du_memory, weights, state.count % memory_size, gamma)
        new_state = ScaleByLBFGSState(
            state.count + 1,
            rebuild(updates, ps),
            rebuild(updates, gs),
            rebuild(updates, dp_memory),
            rebuild(updates, du_memory),
            weights,
        )
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)


# optax's default line search for lbfgs: one pure transform, shared by every call that does not pass one.
DEFAULT_LINESEARCH = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")


def lbfgs(
    lr: Any = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = DEFAULT_LINESEARCH,
) -> GradientTransformation:
    """L-BFGS: [`scale_by_lbfgs`][optimtx.scale_by_lbfgs], ``-lr`` (-1 if ``lr`` is None), then ``linesearch``.

    The default line search is optax's: [`scale_by_zoom_linesearch`][optimtx.scale_by_zoom_linesearch]
    with 20 evaluations, starting from a step of 1. A line search reads the ``value``, ``grad`` and
    ``value_fn`` extras of ``update``; ``linesearch=None`` leaves it out.

    Example:
        >>> tx = lbfgs(lr=0.5, linesearch=None)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([0.3, 0.4])}, tx.init(p), p)[0]
        {'w': tensor([-0.1500, -0.2000])}
    """
    step = scale(-1.0) if lr is None else scale_by_learning_rate(lr)
    return chain(scale_by_lbfgs(memory_size, scale_init_precond), step, linesearch or identity())
