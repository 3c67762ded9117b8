"""Batched kernels whose scalar may be a Python number or a 0-d tensor.

``torch._foreach_*`` ops take Python numbers through their ``Scalar`` overloads, which
are the cheapest, but a 0-d tensor passed there is read back to the host. Hyperparameters
arrive as tensors under ``inject_hyperparams``, so these helpers pick the tensor-safe
overloads for tensors and the fused scalar overloads for numbers.

None of them modifies its arguments. Some finish with an in-place op on a buffer they
have just allocated themselves, to save an allocation; they only do so where the op that
made the buffer does not keep it for its backward pass, so autograd stays correct.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "Scalar",
    "add",
    "add_",
    "add_scaled",
    "decay_add_square",
    "lerp",
    "loop_invariant",
    "mul",
    "scalar_list",
    "to_dtype",
    "to_dtypes_of",
]

Scalar = float | Tensor


def loop_invariant(scalar: Tensor) -> Tensor:
    """``scalar`` (a 0-d tensor), computed once per step rather than once per element when compiled.

    Inductor inlines small scalar computations into the elementwise loop that uses them,
    so under ``torch.compile`` Adam's bias corrections (two float64 ``pow`` calls) or a
    schedule's cosine would run once per vector of elements, which makes a memory-bound
    update several times slower. A two-entry ``stack`` is stored to a buffer of its own, so
    the loop loads the value instead. Eager code gets ``scalar`` back unchanged.

    Example:
        >>> loop_invariant(torch.tensor(0.5))
        tensor(0.5000)
    """
    if torch.compiler.is_compiling():
        return torch.stack([scalar, scalar])[0]
    return scalar


def _per_tensor(scalar: Scalar, n: int) -> Scalar | list[Tensor]:
    """``scalar`` as foreach ops should take it.

    torch's ``_foreach_mul(tensors, tensor)`` (one 0-d tensor for the whole list) cannot
    backpropagate into that tensor when the list has several entries ("inconsistent range
    for TensorList output"); the list form can. So a scalar that needs a gradient, e.g. a
    learning rate being meta-learned, is repeated once per tensor. So is every tensor scalar
    under ``torch.compile``, which lowers some single-tensor overloads (``_foreach_add``'s)
    by reading the scalar back to the host; the list form stays on the device.
    """
    if isinstance(scalar, Tensor) and (
        (scalar.requires_grad and torch.is_grad_enabled()) or torch.compiler.is_compiling()
    ):
        return [scalar] * n
    return scalar


def _like(out: list[Tensor], xs: list[Tensor]) -> list[Tensor]:
    """``out`` with each tensor in the dtype of the matching ``xs`` entry.

    A 0-d tensor scalar promotes 0-d operands (a float64 momentum turns a 0-d float32
    parameter's buffer into float64); dimensioned operands are never promoted, so this
    only converts where a 0-d tensor was.
    """
    return [o if o.dtype == x.dtype else o.to(x.dtype) for o, x in zip(out, xs, strict=True)]


def add_scaled(xs: list[Tensor], ys: list[Tensor], alpha: Scalar) -> list[Tensor]:
    """``x + alpha * y`` for each pair.

    Example:
        >>> add_scaled([torch.ones(2)], [torch.ones(2)], torch.tensor(0.5))
        [tensor([1.5000, 1.5000])]
    """
    if isinstance(alpha, Tensor):
        return _like(list(torch._foreach_add(xs, torch._foreach_mul(ys, _per_tensor(alpha, len(ys))))), xs)
    return list(torch._foreach_add(xs, ys, alpha=alpha))


def lerp(xs: list[Tensor], ys: list[Tensor], weight: Scalar) -> list[Tensor]:
    """``x + weight * (y - x)`` for each pair (``torch.lerp``).

    Example:
        >>> lerp([torch.zeros(2)], [torch.ones(2)], 0.25)
        [tensor([0.2500, 0.2500])]
    """
    same = all(x.dtype == y.dtype and x.device == y.device for x, y in zip(xs, ys, strict=True))
    if isinstance(weight, Tensor) and weight.ndim == 0 and xs and same:
        # torch's own lerp, as torch's optimizers use it: with a weight >= 0.5 it computes y - (1 - w) * (y - x),
        # so lerp(x, inf, 1) is nan there; x + w * (y - x) would give inf and differ from torch on inf gradients.
        return list(torch._foreach_lerp(xs, ys, [weight.to(x.device, x.dtype) for x in xs]))
    if isinstance(weight, Tensor):
        return add_scaled(xs, list(torch._foreach_sub(ys, xs)), weight)
    return list(torch._foreach_lerp(xs, ys, weight))


def decay_add_square(xs: list[Tensor], gs: list[Tensor], decay: Scalar, rate: Scalar) -> list[Tensor]:
    """``decay * x + rate * g * g`` for each pair: a running (mean of) squared gradients.

    Example:
        >>> decay_add_square([torch.ones(1)], [torch.full((1,), 2.0)], 0.5, 0.5)
        [tensor([2.5000])]
    """
    decayed = _like(
        list(torch._foreach_mul(xs, _per_tensor(decay, len(xs)))), xs
    )  # fresh, and neither backward needs it
    if isinstance(rate, Tensor):
        torch._foreach_addcmul_(decayed, torch._foreach_mul(gs, _per_tensor(rate, len(gs))), gs)
    else:
        torch._foreach_addcmul_(decayed, gs, gs, value=rate)
    return decayed


def mul(xs: list[Tensor], factor: Scalar) -> list[Tensor]:
    """``factor * x`` for each tensor.

    Example:
        >>> mul([torch.ones(1)], torch.tensor(3.0))
        [tensor([3.])]
    """
    out = list(torch._foreach_mul(xs, _per_tensor(factor, len(xs))))
    return _like(out, xs) if isinstance(factor, Tensor) else out


def add(xs: list[Tensor], value: Scalar) -> list[Tensor]:
    """``x + value`` for each tensor.

    Example:
        >>> add([torch.ones(1)], 1e-8)
        [tensor([1.])]
    """
    if not isinstance(value, Tensor):
        return list(torch._foreach_add(xs, value))
    # A single tensor would select the Scalar overload, which reads it on the host (a sync per step on a GPU);
    # the list form also lets a grad-requiring scalar backpropagate (see _per_tensor).
    return _like(list(torch._foreach_add(xs, [value] * len(xs))), xs)


def add_(xs: list[Tensor], value: Scalar) -> None:
    """Add ``value`` to each tensor in place; only for buffers the caller allocated itself.

    Example:
        >>> xs = [torch.ones(1)]
        >>> add_(xs, torch.tensor(1.0))
        >>> xs
        [tensor([2.])]
    """
    # A single tensor would select the Scalar overload, which reads it on the host (a sync per step on a GPU).
    torch._foreach_add_(xs, [value] * len(xs) if isinstance(value, Tensor) else value)


def scalar_list(value: Tensor, like: list[Tensor]) -> list[Tensor]:
    """The 0-d ``value`` once per tensor of ``like``, in that tensor's dtype and device.

    Foreach ops given such a list (``_foreach_lerp``, ``_foreach_addcmul_``, ...) read the
    scalar on the device, never on the host, and a 0-d parameter is not promoted by it.
    Each distinct dtype/device gets one conversion.

    Example:
        >>> scalar_list(torch.tensor(0.5, dtype=torch.float64), [torch.ones(2), torch.ones(1, dtype=torch.bfloat16)])
        [tensor(0.5000), tensor(0.5000, dtype=torch.bfloat16)]
    """
    cast: dict[tuple[torch.dtype, torch.device], Tensor] = {}
    for x in like:
        cast.setdefault((x.dtype, x.device), value.to(x.device, x.dtype))
    return [cast[(x.dtype, x.device)] for x in like]


def to_dtypes_of(xs: list[Tensor], likes: list[Tensor]) -> list[Tensor]:
    """Each ``x`` in the dtype of the matching ``like`` (unchanged where they agree): a bfloat16 state to compute on.

    Example:
        >>> to_dtypes_of([torch.ones(1, dtype=torch.bfloat16)], [torch.zeros(1)])[0].dtype
        torch.float32
    """
    return [x if x.dtype == like.dtype else x.to(like.dtype) for x, like in zip(xs, likes, strict=True)]


def to_dtype(xs: list[Tensor], dtype: torch.dtype | None) -> list[Tensor]:
    """``xs`` stored in ``dtype`` (unchanged when ``dtype`` is ``None``): a state kept in lower precision.

    Example:
        >>> to_dtype([torch.ones(1)], torch.bfloat16)[0].dtype
        torch.bfloat16
    """
    if dtype is None:
        return xs
    return [x if x.dtype == dtype else x.to(dtype) for x in xs]
