"""optax's protocol names (``optax.GradientTransformation``, ``chain``, ``apply_updates``, ...) on optimtx's core.

optimtx's one ``update(updates, state, params=None, **extra)`` protocol is optax's "extra args" one,
so ``GradientTransformationExtraArgs`` and ``GradientTransformation`` are the same class here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

from optimtx.base import EmptyState, GradientTransformation, InitFn, UpdateFn, apply_updates, chain, identity
from optimtx.schedules import Schedule
from optimtx.transforms.freezing import set_to_zero
from optimtx.transforms.named_chain import named_chain
from optimtx.transforms.param_copies import incremental_update, periodic_update
from optimtx.transforms.wrapping import stateless, stateless_with_tree_map, with_extra_args_support
from optimtx.tree import global_norm as _global_norm

GradientTransformationExtraArgs = GradientTransformation
TransformInitFn = InitFn
TransformUpdateFn = UpdateFn
TransformUpdateExtraArgsFn = UpdateFn
Params = Mapping[str, Tensor]
Updates = Mapping[str, Tensor]
OptState = Any
ScalarOrSchedule = float | Tensor | Schedule
MaskOrFn = Mapping[str, bool] | Callable[[Params], Mapping[str, bool]] | None


def init_empty_state(params: Params) -> EmptyState:
    """``EmptyState()``, whatever the params: the ``init`` of a stateless transform.

    Example:
        >>> import torch
        >>> init_empty_state({"w": torch.ones(1)})
        EmptyState()
    """
    del params
    return EmptyState()


def global_norm(updates: Mapping[str, Tensor] | Tensor) -> Tensor:
    """The 2-norm of all entries of a dict of tensors (or of one tensor).

    Example:
        >>> import torch
        >>> global_norm({"a": torch.tensor([3.0]), "b": torch.tensor([4.0])})
        tensor(5.)
    """
    return _global_norm(updates if isinstance(updates, Mapping) else {"x": updates})


__all__ = [
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "MaskOrFn",
    "OptState",
    "Params",
    "ScalarOrSchedule",
    "Schedule",
    "TransformInitFn",
    "TransformUpdateExtraArgsFn",
    "TransformUpdateFn",
    "Updates",
    "apply_updates",
    "chain",
    "global_norm",
    "identity",
    "incremental_update",
    "init_empty_state",
    "named_chain",
    "periodic_update",
    "set_to_zero",
    "stateless",
    "stateless_with_tree_map",
    "with_extra_args_support",
]
