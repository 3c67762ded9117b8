"""SM3: a memory-efficient adaptive rule keeping one accumulator per row, column, ... of each tensor."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import on_real_view
from optimtx.core.tree import Tree, check_params, leaves, rebuild, zeros_like
from optimtx.core.validation import check_non_negative, check_unit_interval
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._moment_rules import Hyper, real_grads
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleBySM3State", "scale_by_sm3", "sm3"]


class ScaleBySM3State(NamedTuple):
    """State of `scale_by_sm3` (optax's field names).

    Attributes:
        mu: per tensor, a tuple of one accumulator per axis (of that axis' length); a tensor with
            fewer than two dimensions keeps one accumulator of its own shape.
        nu: the momentum of the preconditioned updates.
    """

    mu: dict[str, tuple[Tensor, ...]]
    nu: dict[str, Tensor]


def _axis_accumulators(p: Tensor) -> tuple[Tensor, ...]:
    if p.ndim < 2:
        return (torch.zeros_like(p),)
    return tuple(p.new_zeros(n) for n in p.shape)


def _cover(accumulators: tuple[Tensor, ...], g: Tensor) -> Tensor:
    """The smallest axis accumulator covering each entry of ``g`` (SM3's cover-set minimum)."""
    if g.ndim < 2:
        return accumulators[0]
    views = [a.reshape([1] * i + [-1] + [1] * (g.ndim - i - 1)) for i, a in enumerate(accumulators)]
    smallest = views[0]
    for view in views[1:]:
        smallest = torch.minimum(smallest, view)
    return smallest


def _new_accumulators(accum: Tensor) -> tuple[Tensor, ...]:
    if accum.ndim < 2:
        return (accum,)
    axes = range(accum.ndim)
    return tuple(accum.amax(dim=[j for j in axes if j != i]) for i in axes)


def scale_by_sm3(b1: Hyper = 0.9, b2: Hyper = 1.0, eps: Hyper = 1e-8) -> GradientTransformation:
    """Rescale updates by SM3's per-axis accumulators, then keep a momentum of the result.

    Per tensor: ``a = c * g**2 + b2 * min_axes(acc)`` (``c = 1 - b2``, or 1 when ``b2 == 1``: plain
    sums as in the paper), the update ``g / sqrt(a + eps)`` (0 where ``a`` is 0) goes into the
    momentum ``m = lerp(m, ., 1 - b1)``, the output is ``m``, and each axis accumulator becomes the
    maximum of ``a`` over the other axes. Tensors of fewer than two dimensions keep a full
    accumulator (optax refuses 0-d tensors here; optimtx treats them like vectors of one entry).
    Complex parameters are refused at ``init``: the axes of a real view are not the complex tensor's,
    so neither choice of axes would be SM3's.

    Args:
        b1: decay of the momentum, in [0, 1).
        b2: decay of the accumulators, in [0, 1] (1: accumulate sums).
        eps: added inside the square root (>= 0).

    References:
        Anil et al., 2019, *Memory-Efficient Adaptive Optimization* (arXiv:1901.11150);
        optax: ``optax.scale_by_sm3``.

    Example:
        >>> tx = scale_by_sm3(b1=0.0, eps=0.0)
        >>> g = {"w": torch.tensor([[3.0, -4.0], [1.0, 2.0]])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([[ 1., -1.],
                [ 1.,  1.]])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2, closed_right=True)
    check_non_negative("eps", eps)
    fresh = torch.where(b2 == 1, 1.0, 1 - b2) if isinstance(b2, Tensor) else (1.0 if b2 == 1 else 1 - b2)

    def init(params: Params) -> ScaleBySM3State:
        check_params(params)
        refuse_complex(params, "scale_by_sm3")
        return ScaleBySM3State({k: _axis_accumulators(p) for k, p in params.items()}, zeros_like(params))

    def update(
        updates: Updates, state: ScaleBySM3State, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleBySM3State]:
        grads = real_grads(updates, state, ScaleBySM3State, "nu", "scale_by_sm3")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        accums = [
            (fresh * g * g + b2 * _cover(acc, g)).to(g.dtype) for g, acc in zip(grads, state.mu.values(), strict=True)
        ]
        scaled = [
            g * torch.where(a > 0, torch.rsqrt(a + eps), 0.0).to(g.dtype) for g, a in zip(grads, accums, strict=True)
        ]
        nu = [torch.lerp(m, s, 1 - b1).to(m.dtype) for m, s in zip(leaves(state.nu), scaled, strict=True)]
        mu = {k: _new_accumulators(a) for k, a in zip(updates, accums, strict=True)}
        return rebuild(updates, nu), ScaleBySM3State(mu, rebuild(updates, nu))

    return GradientTransformation(init, update)


def sm3(lr: float | Tensor = 1e-3, momentum: Hyper = 0.9) -> GradientTransformation:
    """SM3 with sums of squares (``b2 = 1``), momentum and ``-lr``.

    Example:
        >>> tx = sm3(0.1, momentum=0.0)
        >>> p = {"w": torch.zeros(2, 2)}
        >>> tx.update({"w": torch.tensor([[3.0, -4.0], [1.0, 2.0]])}, tx.init(p), p)[0]
        {'w': tensor([[-0.1000,  0.1000],
                [-0.1000, -0.1000]])}
    """
    check_unit_interval("momentum", momentum)  # named as written, not as scale_by_sm3's b1
    return chain(scale_by_sm3(momentum), scale_by_learning_rate(lr))
