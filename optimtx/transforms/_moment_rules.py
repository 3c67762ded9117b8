"""Shared steps of the Adam-family rules that optimtx gained for optax's catalogue (private).

Each helper works on lists of tensors, keeps every tensor's dtype (a 0-d float64 bias
correction must not promote a 0-d float32 leaf) and reads nothing back to the host.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import Updates
from optimtx.core.state_tree import check_state, has_complex
from optimtx.core.tree import matched_leaves
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import add, add_scaled, loop_invariant, mul

Hyper = float | Tensor


def real_grads(
    updates: Updates, state: Any, kind: type, like: str, who: str, keep_dtype: bool = False
) -> list[Tensor] | None:
    """``updates``' tensors matched against the state's field ``like``; ``None`` when they are complex.

    The state's kind is checked before the field is read, so another transform's state is refused
    with a ``TypeError`` naming both. ``None`` tells the caller to rerun itself on real views
    (``on_real_view``), torch's convention.
    """
    check_state(state, kind, who)
    grads = matched_leaves(updates, getattr(state, like), keep_dtype=keep_dtype)
    return None if has_complex(grads) else grads


def filled(like: Tensor, value: float | Tensor) -> Tensor:
    """``value`` everywhere; for a complex tensor in both the real and imaginary parts, as torch's Adagrad."""
    if like.is_complex():
        real = torch.zeros_like(torch.view_as_real(like.detach()), memory_format=torch.contiguous_format)
        return torch.view_as_complex(real.add_(value))
    if isinstance(value, Tensor):  # added on the device: no host read of the value (full_like would read it)
        return torch.zeros_like(like).add_(value.detach())
    return torch.full_like(like, value)


def step_factor(value: Tensor, like: list[Tensor]) -> Tensor:
    """A per-step 0-d factor in the float width of ``like`` (at least float32), computed once per step."""
    return loop_invariant(value.to(torch.promote_types(like[0].dtype, torch.float32)))


def debiased(xs: list[Tensor], decay: Hyper, count: Tensor) -> list[Tensor]:
    """``x / (1 - decay ** count)`` for each tensor (a moment's bias correction)."""
    return mul(xs, step_factor(1 / bias_correction(decay, count), xs))


def root_plus(xs: list[Tensor], eps_root: Hyper, eps: Hyper) -> list[Tensor]:
    """``sqrt(x + eps_root) + eps`` for each tensor: the denominator of Adam-style rules, optax's placement."""
    inner = add(xs, eps_root) if isinstance(eps_root, Tensor) or eps_root != 0 else xs
    return add(list(torch._foreach_pow(inner, 0.5)), eps)


def first_moment_estimate(
    mu: list[Tensor], grads: list[Tensor], b1: Hyper, count: Tensor, nesterov: bool
) -> list[Tensor]:
    """The bias-corrected first moment; with ``nesterov``, Dozat's look-ahead form as optax computes it.

    Nesterov: ``b1 * mu / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)``.
    """
    if not nesterov:
        return debiased(mu, b1, count)
    return add_scaled(mul(debiased(mu, b1, count + 1), b1), debiased(grads, b1, count), 1 - b1)


def at_step(value: Any, count: Tensor) -> Any:
    """``value(count)`` for a schedule, else ``value`` itself (a number or a 0-d tensor)."""
    if not callable(value):
        return value
    out = value(count)
    return loop_invariant(out) if isinstance(out, Tensor) else out


def vdot(xs: list[Tensor], ys: list[Tensor]) -> Tensor:
    """``sum_i <x_i, y_i>`` over all tensors, as one 0-d tensor in the widest dtype involved (>= float32)."""
    dtype = _wide(xs + ys)
    return torch.stack([(x.to(dtype) * y.to(dtype)).sum() for x, y in zip(xs, ys, strict=True)]).sum()


def squared_norm(xs: list[Tensor]) -> Tensor:
    """``sum_i ||x_i||**2`` over all tensors, as one 0-d tensor in the widest dtype involved (>= float32)."""
    dtype = _wide(xs)
    norms = torch.stack([n.to(dtype) for n in torch._foreach_norm(xs)])
    return (norms * norms).sum()


def _wide(xs: list[Tensor]) -> torch.dtype:
    dtype = torch.float32
    for x in xs:
        dtype = torch.promote_types(dtype, x.dtype)
    return dtype


def lowest_dtype(params: Any) -> torch.dtype:
    """The floating dtype of the fewest bits among ``params`` (optax keeps its scalar states in it)."""
    dtypes = [p.dtype for p in params.values() if p.is_floating_point()]
    return min(dtypes, key=lambda d: torch.finfo(d).bits) if dtypes else torch.get_default_dtype()


def scalar_state(value: Any, params: Any, dtype: torch.dtype | None = None) -> Tensor:
    """A 0-d state tensor holding ``value``, on the parameters' device, in ``dtype`` (default: their lowest)."""
    device = next(iter(params.values())).device if params else None
    return torch.as_tensor(value, dtype=dtype or lowest_dtype(params), device=device).clone()
