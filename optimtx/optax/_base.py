"""optax's protocol names (``optax.GradientTransformation``, ``chain``, ``apply_updates``, ...) on optimtx's core.

optimtx's one ``update(updates, state, params=None, **extra)`` protocol is optax's "extra args" one,
so ``GradientTransformationExtraArgs`` and ``GradientTransformation`` are the same class here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, InitFn, UpdateFn, apply_updates, identity
from optimtx.core.base import chain as _chain
from optimtx.core.tree import global_norm as _global_norm
from optimtx.optax.tree_utils import tree_bias_correction as bias_correction
from optimtx.optax.tree_utils import tree_update_infinity_moment as update_infinity_moment
from optimtx.optax.tree_utils import tree_update_moment as update_moment
from optimtx.optax.tree_utils import tree_update_moment_per_elem_norm as update_moment_per_elem_norm
from optimtx.schedules import Schedule
from optimtx.transforms.freezing import set_to_zero
from optimtx.transforms.named_chain import named_chain as _named_chain
from optimtx.transforms.param_copies import incremental_update, periodic_update
from optimtx.transforms.wrapping import stateless, stateless_with_tree_map, with_extra_args_support

GradientTransformationExtraArgs = GradientTransformation
TransformInitFn = InitFn
TransformUpdateFn = UpdateFn
TransformUpdateExtraArgsFn = UpdateFn
Params = Mapping[str, Tensor]
Updates = Mapping[str, Tensor]
OptState = Any
ScalarOrSchedule = float | Tensor | Schedule
MaskOrFn = Mapping[str, bool] | Callable[[Params], Mapping[str, bool]] | None
ShouldSkipUpdateFunction = Callable[[Updates, Tensor, Params | None], tuple[Tensor, Any]]


def chain(*args: GradientTransformation) -> GradientTransformation:
    """optax's ``chain``: the transforms one after the other (see [`chain`][optimtx.chain]).

    Example:
        >>> import torch
        >>> tx = chain(identity(), identity())
        >>> tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))[0]
        {'w': tensor([1.])}
    """
    return _chain(*args)


def named_chain(*args: tuple[str, GradientTransformation]) -> GradientTransformation:
    """optax's ``named_chain``: ``(name, transform)`` pairs, the state a dict by name.

    Example:
        >>> import torch
        >>> tx = named_chain(("a", identity()))
        >>> list(tx.init({"w": torch.ones(1)}))
        ['a']
    """
    return _named_chain(*args)


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


def safe_increment(count: Tensor) -> Tensor:
    """``count + 1``, staying at the dtype's maximum instead of wrapping around.

    Example:
        >>> import torch
        >>> safe_increment(torch.tensor(2**31 - 1, dtype=torch.int32))
        tensor(2147483647, dtype=torch.int32)
    """
    top = torch.iinfo(count.dtype).max if not count.is_floating_point() else torch.finfo(count.dtype).max
    return torch.where(count < top, count + 1, count)


safe_int32_increment = safe_increment


def safe_norm(
    x: Tensor, min_norm: float | Tensor, ord: int | float | str | None = None, axis: Any = None, keepdims: bool = False
) -> Tensor:
    """``torch.linalg.norm(x, ord, axis, keepdims)``, but ``min_norm`` where the norm is not above ``min_norm``.

    Example:
        >>> import torch
        >>> safe_norm(torch.zeros(3), 1e-3), safe_norm(torch.tensor([3.0, 4.0]), 1e-3)
        (tensor(0.0010), tensor(5.))
    """
    norm = torch.linalg.norm(x, ord=ord, dim=axis, keepdim=keepdims)
    return torch.where(norm <= min_norm, torch.as_tensor(min_norm, dtype=norm.dtype), norm)


def safe_root_mean_squares(x: Tensor, min_rms: float | Tensor) -> Tensor:
    """The root mean square of ``x``, at least ``min_rms``.

    Example:
        >>> import torch
        >>> safe_root_mean_squares(torch.tensor([2.0, -2.0]), 1e-3)
        tensor(2.)
    """
    rms = torch.sqrt(torch.mean(torch.abs(x) ** 2))
    return torch.clamp(rms, min=min_rms)


__all__ = [
    "ShouldSkipUpdateFunction",
    "bias_correction",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
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
