"""Per-example gradient clipping (DP-SGD style): clip each example's gradient, then sum over the batch.

These are functions, not transforms: the gradients carry a leading batch dimension, which no transform
in a chain expects. Their output (a batch sum) then feeds an ordinary chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import torch
from torch import Tensor

from optimtx.core.validation import check_bool, check_non_negative

__all__ = ["Grads", "per_example_global_norm_clip", "per_example_layer_norm_clip"]

Grads = TypeVar("Grads", Mapping[str, Tensor], Sequence[Tensor])


def _tensors(grads: Mapping[str, Tensor] | Sequence[Tensor], who: str) -> list[Tensor]:
    tensors = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    if not tensors or not all(isinstance(g, Tensor) and g.ndim >= 1 for g in tensors):
        raise ValueError(
            f"{who} needs a non-empty dict or list of tensors with a batch dimension first, got {grads!r}."
        )
    if len({g.shape[0] for g in tensors}) != 1:
        shapes = [tuple(g.shape) for g in tensors]
        raise ValueError(f"{who}: every gradient needs the same batch size (dimension 0), got shapes {shapes}.")
    return tensors


def _like(grads: Mapping[str, Tensor] | Sequence[Tensor], values: list[Tensor]) -> dict[str, Tensor] | list[Tensor]:
    return dict(zip(grads, values, strict=True)) if isinstance(grads, Mapping) else values


def _clip_and_sum(tensors: list[Tensor], clip: float | Tensor) -> tuple[list[Tensor], Tensor]:
    flat = torch.stack([torch.linalg.vector_norm(g.reshape(g.shape[0], -1), dim=1) for g in tensors])
    norms = torch.linalg.vector_norm(flat, dim=0)  # one global norm per example
    multipliers = torch.nan_to_num(torch.clamp(clip / norms, max=1.0), nan=1.0)
    summed = [torch.tensordot(multipliers.to(g.dtype), g, dims=1) for g in tensors]
    return summed, (multipliers < 1.0).sum()


def per_example_global_norm_clip(
    grads: Mapping[str, Tensor] | Sequence[Tensor], l2_norm_clip: float | Tensor
) -> tuple[dict[str, Tensor] | list[Tensor], Tensor]:
    """Clip each example's gradient (over all tensors) to norm ``l2_norm_clip``, then sum over examples.

    Returns the summed gradients (same container as ``grads``, batch dimension gone) and how many
    examples were clipped.

    References:
        Abadi et al., 2016, *Deep Learning with Differential Privacy*. optax: ``optax.per_example_global_norm_clip``.

    Example:
        >>> g = [torch.tensor([[0.0, 0.0], [3.0, 4.0]])]
        >>> per_example_global_norm_clip(g, 1.0)
        ([tensor([0.6000, 0.8000])], tensor(1))
    """
    check_non_negative("l2_norm_clip", l2_norm_clip, allow_inf=True)
    summed, clipped = _clip_and_sum(_tensors(grads, "per_example_global_norm_clip"), l2_norm_clip)
    return _like(grads, summed), clipped


def per_example_layer_norm_clip(
    grads: Mapping[str, Tensor] | Sequence[Tensor], global_l2_norm_clip: float | Tensor, uniform: bool = True
) -> tuple[dict[str, Tensor] | list[Tensor], dict[str, Tensor] | list[Tensor]]:
    """Clip each example's gradient tensor by tensor, then sum over examples.

    Tensor ``i`` of ``K`` gets the clip norm ``C / sqrt(K)`` (``uniform``) or ``C * sqrt(D_i / D)``, with ``D_i``
    its number of entries per example and ``D`` the total.

    Returns the summed gradients and, per tensor, how many examples were clipped.

    References:
        McMahan et al., 2017, *Learning Differentially Private Recurrent Language Models*.
        optax: ``optax.per_example_layer_norm_clip``.

    Example:
        >>> g = {"w": torch.tensor([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0], [4.0, 0.0, 3.0], [3.0, 4.0, 0.0]])}
        >>> per_example_layer_norm_clip(g, 1.25)
        ({'w': tensor([1.7500, 1.7500, 1.7500])}, {'w': tensor(3)})
    """
    check_non_negative("global_l2_norm_clip", global_l2_norm_clip, allow_inf=True)
    check_bool("uniform", uniform)
    tensors = _tensors(grads, "per_example_layer_norm_clip")
    total = sum(g[0].numel() for g in tensors)
    clips = [global_l2_norm_clip * ((1 / len(tensors)) if uniform else g[0].numel() / total) ** 0.5 for g in tensors]
    results = [_clip_and_sum([g], c) for g, c in zip(tensors, clips, strict=True)]
    return _like(grads, [s[0] for s, _ in results]), _like(grads, [n for _, n in results])
