"""What a training framework and an optimtx chain might both do: clip gradients, accumulate them.

Lightning's ``gradient_clip_val``, the Hugging Face Trainer's ``max_grad_norm`` and
``accelerator.clip_grad_norm_`` clip before ``optimizer.step()``; a chain starting with
``clip_by_global_norm`` clips again inside it. The integrations use these helpers to find such
overlaps in a [`TransformOptimizer`][optimtx.TransformOptimizer]'s chain (at its top level and in
nested chains) and let exactly one side act. Framework-free: importing this module needs only torch.
"""

from __future__ import annotations

from typing import Any

from optimtx.core.base import GradientTransformation, chain_parts
from optimtx.wrapper.torch_optimizer import TransformOptimizer

__all__ = ["ACCUMULATING_TRANSFORMS", "CLIPPING_TRANSFORMS", "accumulation_in", "clipping_in", "transforms_in"]

CLIPPING_TRANSFORMS = ("clip_by_global_norm", "clip_by_norm", "clip_by_value", "adaptive_grad_clip")
"""The transforms that count as "the chain clips"."""

ACCUMULATING_TRANSFORMS = ("accumulate",)
"""The transforms that count as "the chain accumulates gradients"."""


def transform_optimizer_of(optimizer: Any) -> TransformOptimizer | None:
    """The `TransformOptimizer` inside framework wrappers (``LightningOptimizer``, ``AcceleratedOptimizer``,
    ``OptimWrapper``), or None when the optimizer is another kind.

    Example:
        >>> import torch, optimtx as otx
        >>> opt = otx.TransformOptimizer([torch.zeros(1)], otx.sgd(0.1))
        >>> transform_optimizer_of(otx.OptimWrapper(opt)) is opt
        True
    """
    for _ in range(4):  # wrappers nest at most a few levels deep
        if isinstance(optimizer, TransformOptimizer):
            return optimizer
        optimizer = getattr(optimizer, "optimizer", None)
    return None


def transforms_in(optimizer: Any, names: tuple[str, ...]) -> list[str]:
    """The transforms named in ``names`` that a `TransformOptimizer`'s chain holds, in chain order.

    Example:
        >>> import torch, optimtx as otx
        >>> opt = otx.TransformOptimizer([torch.zeros(1)], otx.chain(otx.clip_by_value(1.0), otx.sgd(0.1)))
        >>> transforms_in(opt, CLIPPING_TRANSFORMS)
        ['clip_by_value']
    """
    inner = transform_optimizer_of(optimizer)
    return [] if inner is None else [name for name in _factories(inner.transform) if name in names]


def clipping_in(optimizer: Any) -> list[str]:
    """The clipping transforms in the optimizer's chain (empty for a plain torch optimizer).

    Example:
        >>> import torch, optimtx as otx
        >>> opt = otx.TransformOptimizer([torch.zeros(1)], otx.chain(otx.clip_by_global_norm(1.0), otx.sgd(0.1)))
        >>> clipping_in(opt), clipping_in(torch.optim.SGD([torch.zeros(1)], lr=0.1))
        (['clip_by_global_norm'], [])
    """
    return transforms_in(optimizer, CLIPPING_TRANSFORMS)


def accumulation_in(optimizer: Any) -> list[str]:
    """The accumulating transforms in the optimizer's chain.

    Example:
        >>> import torch, optimtx as otx
        >>> accumulation_in(otx.TransformOptimizer([torch.zeros(1)], otx.accumulate(otx.sgd(0.1), every_k=2)))
        ['accumulate']
    """
    return transforms_in(optimizer, ACCUMULATING_TRANSFORMS)


def _factories(transform: GradientTransformation) -> list[str]:
    """The factory name of every transform in a chain (nested chains flattened)."""
    parts = chain_parts(transform)
    if parts is not None:
        return [name for part in parts for name in _factories(part)]
    return [getattr(transform.update, "__qualname__", "").split(".<locals>")[0]]
