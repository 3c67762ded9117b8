"""Run a transform on part of its parameter tree: restrict a state to some names, merge it back.

``TransformOptimizer`` skips parameters whose ``.grad`` is ``None`` exactly as torch does:
their values and their per-parameter state stay untouched. A pure transform, though, was
initialised on the whole group. These helpers cut the per-parameter entries of a state
down to the names that have a gradient, and put the entries that were left out back in
after the update, in their original order.

A dict inside a state counts as *per-parameter* when every one of its keys is a
parameter name of the tree (``"0"``, ``"1"``, ... for a param group); dicts with other
keys (injected hyperparameters, per-label states) are walked into. Tensors and other
leaves that are not per-parameter (step counters, scales) are shared by the whole tree
and come from the update.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from torch import Tensor

from optimtx.core.state_tree import is_namedtuple

__all__ = ["extend_state", "merge_state", "restore_entries", "restrict_state"]


def _per_parameter(node: Any, names: Collection[str]) -> bool:
    return isinstance(node, dict) and bool(node) and all(isinstance(k, str) and k in names for k in node)


def restrict_state(state: Any, keep: Collection[str], names: Collection[str]) -> Any:
    """``state`` with every per-parameter dict cut down to the names in ``keep``.

    Args:
        state: a transform state built by ``init`` on a tree with the keys ``names``.
        keep: the names to keep (a subset of ``names``).
        names: all names of the tree the state was built for.

    Example:
        >>> import torch
        >>> state = ({"0": torch.ones(1), "1": torch.zeros(1)}, torch.tensor(3))
        >>> restrict_state(state, {"1"}, {"0", "1"})
        ({'1': tensor([0.])}, tensor(3))
    """
    if _per_parameter(state, names):
        return {k: v for k, v in state.items() if k in keep}
    if is_namedtuple(state):
        return type(state)(*(restrict_state(part, keep, names) for part in state))
    if isinstance(state, tuple):
        return tuple(restrict_state(part, keep, names) for part in state)
    if isinstance(state, dict):
        return {k: restrict_state(v, keep, names) for k, v in state.items()}
    return state


def merge_state(full: Any, part: Any, names: Collection[str]) -> Any:
    """``full`` with the entries of ``part`` (a restricted, updated state) written over it.

    Per-parameter dicts keep ``full``'s key order; the names missing from ``part`` keep
    ``full``'s values. Everything else comes from ``part``.

    Example:
        >>> import torch
        >>> full = ({"0": torch.ones(1), "1": torch.zeros(1)}, torch.tensor(3))
        >>> merge_state(full, ({"1": torch.full((1,), 5.0)}, torch.tensor(4)), {"0", "1"})
        ({'0': tensor([1.]), '1': tensor([5.])}, tensor(4))
    """
    if _per_parameter(full, names):
        return {k: part.get(k, v) for k, v in full.items()}
    if is_namedtuple(full):
        return type(full)(*(merge_state(f, p, names) for f, p in zip(full, part, strict=True)))
    if isinstance(full, tuple):
        return tuple(merge_state(f, p, names) for f, p in zip(full, part, strict=True))
    if isinstance(full, dict) and isinstance(part, dict) and full.keys() == part.keys():
        return {k: merge_state(v, part[k], names) for k, v in full.items()}
    return part


def extend_state(old: Any, new: Any, names: Collection[str]) -> Any:
    """``new`` (built by ``init`` on a larger tree) with every value ``old`` already had.

    Used when a param group is added: the state of the parameters that were there
    before (momentum, step counters) survives; only the new names start fresh.

    Args:
        old: the state for the tree before the addition.
        new: ``init`` of the extended tree.
        names: the names of the extended tree.

    Example:
        >>> import torch
        >>> old = ({"0": torch.ones(1)}, torch.tensor(3))
        >>> extend_state(old, ({"0": torch.zeros(1), "1": torch.zeros(1)}, torch.tensor(0)), {"0", "1"})
        ({'0': tensor([1.]), '1': tensor([0.])}, tensor(3))
    """
    if _per_parameter(new, names) and isinstance(old, dict):
        return {k: old.get(k, v) for k, v in new.items()}
    if is_namedtuple(new) and type(old) is type(new):
        return type(new)(*(extend_state(o, n, names) for o, n in zip(old, new, strict=True)))
    if isinstance(new, tuple) and isinstance(old, tuple) and len(old) == len(new):
        return tuple(extend_state(o, n, names) for o, n in zip(old, new, strict=True))
    if isinstance(new, dict) and isinstance(old, dict) and new.keys() == old.keys():
        return {k: extend_state(old[k], v, names) for k, v in new.items()}
    if isinstance(old, Tensor) and isinstance(new, Tensor):
        return old if old.shape == new.shape and old.dtype == new.dtype else new
    return old if type(old) is type(new) else new


def restore_entries(new: Any, old: Any, restore: Collection[str], names: Collection[str]) -> Any:
    """``new`` with the per-parameter entries of the names in ``restore`` taken back from ``old``.

    Used when a transform ran on the whole tree (zeros standing in for missing gradients)
    and the parameters without gradients must keep their state; shared leaves (counters)
    come from ``new``.

    Example:
        >>> import torch
        >>> old = ({"0": torch.ones(1), "1": torch.ones(1)}, torch.tensor(3))
        >>> new = ({"0": torch.zeros(1), "1": torch.zeros(1)}, torch.tensor(4))
        >>> restore_entries(new, old, {"1"}, {"0", "1"})
        ({'0': tensor([0.]), '1': tensor([1.])}, tensor(4))
    """
    if _per_parameter(new, names) and isinstance(old, dict):
        return {k: old[k] if k in restore and k in old else v for k, v in new.items()}
    if is_namedtuple(new):
        return type(new)(*(restore_entries(n, o, restore, names) for n, o in zip(new, old, strict=True)))
    if isinstance(new, tuple):
        return tuple(restore_entries(n, o, restore, names) for n, o in zip(new, old, strict=True))
    if isinstance(new, dict) and isinstance(old, dict) and new.keys() == old.keys():
        return {k: restore_entries(v, old[k], restore, names) for k, v in new.items()}
    return new
