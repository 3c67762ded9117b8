"""Momentum: the heavy-ball trace of ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, wide_float, zero_counter
from optimtx.core.tree import Tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_finite, check_non_negative, check_state_dtype, is_number
from optimtx.transforms.kernels import add_scaled, mul, to_dtype, to_dtypes_of

__all__ = ["TraceState", "check_nesterov", "trace"]


class TraceState(NamedTuple):
    """State of `trace`.

    Attributes:
        count: how many updates were made (int64 0-d tensor); 0 marks the first step.
        trace: the momentum buffer of each parameter (zeros until the first step).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    trace: dict[str, Tensor]


def check_nesterov(momentum: Any, dampening: Any, nesterov: bool) -> None:
    """Raise ``ValueError`` for Nesterov without momentum or with dampening, as torch does.

    Tensor values cannot be read without a device sync, so they pass.

    Example:
        >>> check_nesterov(0.0, 0.0, True)
        Traceback (most recent call last):
        ...
        ValueError: Invalid nesterov=True with momentum=0.0, dampening=0.0. ...
    """
    check_bool("nesterov", nesterov)
    if not nesterov:
        return
    if (is_number(momentum) and momentum <= 0) or (is_number(dampening) and dampening != 0):
        raise ValueError(
            f"Invalid nesterov=True with momentum={momentum!r}, dampening={dampening!r}. "
            "Nesterov needs momentum > 0 and dampening == 0."
        )


def trace(
    momentum: float | Tensor,
    dampening: float | Tensor = 0.0,
    nesterov: bool = False,
    mu_dtype: torch.dtype | str | None = None,
) -> GradientTransformation:
    """Momentum exactly as ``torch.optim.SGD`` keeps it.

    On the first step the buffer is the gradient itself; afterwards
    ``buf = momentum * buf + (1 - dampening) * g``. The output is ``buf``, or
    ``g + momentum * buf`` with ``nesterov=True``. "First step" is read from a counter
    in the state with ``torch.where``, never from a Python flag, so the transform stays pure.
    With ``momentum == 0`` (possible as a tensor) it returns the gradient unchanged, as
    torch does when it has no momentum (``dampening`` is then ignored).

    Args:
        momentum: the momentum factor (>= 0).
        dampening: how much of the gradient is left out of the buffer after the first step.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        mu_dtype: dtype the buffer is stored in (e.g. ``torch.bfloat16``); it is computed in the gradients'
            dtype. ``None``: the parameters' dtype.

    References:
        Polyak, 1964 (heavy ball); Sutskever et al., 2013 (Nesterov).
        torch: the momentum buffer of ``torch.optim.SGD``; optax: ``optax.trace``.

    Example:
        >>> tx = trace(0.9, dampening=0.5)
        >>> g = {"w": torch.ones(1)}
        >>> u, s = tx.update(g, tx.init(g))
        >>> u, tx.update(g, s)[0]
        ({'w': tensor([1.])}, {'w': tensor([1.4000])})
    """
    check_non_negative("momentum", momentum)
    check_finite("dampening", dampening)
    check_nesterov(momentum, dampening, nesterov)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)

    def init(params: Params) -> TraceState:
        return TraceState(count=zero_counter(params), trace=zeros_like(params, dtype=mu_dtype))

    def update(
        updates: Updates, state: TraceState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, TraceState]:
        del params, extra
        check_state(state, TraceState, "trace")
        grads = matched_leaves(updates, state.trace, keep_dtype=mu_dtype is not None)
        bufs = to_dtypes_of(leaves(state.trace), grads)
        new_count = state.count + 1
        if not grads:
            return {}, TraceState(count=new_count, trace={})
        momentum_t, dampening_t = (_step_scalar(v, state.count) for v in (momentum, dampening))
        # With momentum 0 torch skips the buffer, so dampening never applies: treat every step as the first.
        restart = torch.logical_or(state.count == 0, momentum_t == 0)
        # Rounded once to the buffers' compute dtype, as torch rounds its Python-float factors; a factor
        # in the tensors' dtype also keeps CUDA on the batched foreach kernels.
        like = torch.promote_types(grads[0].dtype, torch.float32)
        keep = torch.where(restart, 0.0, momentum_t).to(like)
        take = torch.where(restart, 1.0, 1 - dampening_t).to(like)
        new_bufs = add_scaled(mul(bufs, keep), grads, take)
        if not (is_number(momentum) and momentum > 0):
            # A momentum that may be 0 (a tensor, or 0 itself) must not multiply the old buffer: 0 * inf is nan,
            # where torch, which skips the buffer, gives the gradient's inf.
            new_bufs = [torch.where(restart, g, b) for g, b in zip(grads, new_bufs, strict=True)]
        out = add_scaled(grads, new_bufs, momentum) if nesterov else new_bufs
        return rebuild(updates, out), TraceState(count=new_count, trace=rebuild(updates, to_dtype(new_bufs, mu_dtype)))

    return GradientTransformation(init, update)


def _step_scalar(value: float | Tensor, count: Tensor) -> Tensor:
    """``value`` as a 0-d float64 tensor next to ``count`` (float32 where the device lacks float64).

    A Python number is filled in on the device (a kernel, not a host -> device copy), so
    building it never blocks the host.
    """
    dtype = wide_float(count.device)
    if isinstance(value, Tensor):
        return value.to(count.device, dtype)
    return torch.full((), value, dtype=dtype, device=count.device)
