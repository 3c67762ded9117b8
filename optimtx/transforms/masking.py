"""Running transforms on parts of the tree: ``masked`` (a subset) and ``multi_transform`` (one per label)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple, overload

from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, check_leaves, check_params, matched_leaves, rebuild, resolve_per_name
from optimtx.transforms.weight_decay import resolve_mask

__all__ = ["LabelSpec", "MaskSpec", "MaskedState", "MultiTransformState", "masked", "multi_transform"]

MaskSpec = Mapping[str, bool] | Callable[[Params], Mapping[str, bool]]
LabelSpec = Mapping[str, Hashable] | Callable[[Params], Mapping[str, Hashable]]


@overload
def _subtree(tree: Mapping[str, Tensor], names: list[str]) -> Tree: ...
@overload
def _subtree(tree: None, names: list[str]) -> None: ...
def _subtree(tree: Mapping[str, Tensor] | None, names: list[str]) -> Tree | None:
    return None if tree is None else {k: tree[k] for k in names}


def _check_trees(updates: Updates, state: State, kind: type, params: Params | None, who: str) -> None:
    """The state's type, and the updates against the params by name and shape (the inner transforms check the rest)."""
    check_state(state, kind, who)
    if params is None:
        check_leaves(updates)
    else:
        matched_leaves(updates, params)


class MaskedState(NamedTuple):
    """State of [`masked`][optimtx.masked].

    Attributes:
        inner_state: the wrapped transform's state, built from the masked entries only.
    """

    inner_state: State


def _selected(mask: MaskSpec, tree: Mapping[str, Tensor]) -> list[str]:
    return [k for k, flag in zip(tree, resolve_mask(mask, tree), strict=True) if flag]


def masked(inner: GradientTransformation, mask: MaskSpec) -> GradientTransformation:
    """Apply ``inner`` to the entries where ``mask`` is True; pass the others through unchanged.

    ``inner`` only ever sees the masked sub-tree (its state covers those entries only);
    keyword extras are passed on as given, not masked. Equivalent to running ``inner`` on
    ``{k: g[k] for k in names if mask[k]}`` and putting the results back in place.

    Args:
        inner: the transform for the selected entries.
        mask: a dict parameter name -> bool, or a callable params -> such a dict (it is
            called with ``params``, or with the updates when ``update`` gets no params).

    References:
        optax: ``optax.masked``.

    Example:
        >>> import torch
        >>> from optimtx.transforms.scaling import scale
        >>> tx = masked(scale(0.0), {"w": True, "b": False})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([0.]), 'b': tensor([1.])}
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"masked() needs a GradientTransformation as inner, got {inner!r}.")
    if not callable(mask) and not isinstance(mask, Mapping):
        raise TypeError(f"mask must be a dict name -> bool or a callable params -> dict, got {mask!r}.")

    def init(params: Params) -> MaskedState:
        check_params(params)
        return MaskedState(inner.init(_subtree(params, _selected(mask, params))))

    def update(
        updates: Updates, state: MaskedState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MaskedState]:
        _check_trees(updates, state, MaskedState, params, "masked")
        names = _selected(mask, params if params is not None else updates)
        sub, inner_state = inner.update(_subtree(updates, names), state.inner_state, _subtree(params, names), **extra)
        merged = {**updates, **sub}
        return rebuild(updates, [merged[k] for k in updates]), MaskedState(inner_state)

    return GradientTransformation(init, update)


class MultiTransformState(NamedTuple):
    """State of [`multi_transform`][optimtx.multi_transform].

    Attributes:
        inner_states: dict label -> that label's transform state (built from its parameters only).
    """

    inner_states: dict[Hashable, State]


def _groups(transforms: Mapping[Hashable, Any], labels: LabelSpec, tree: Mapping[str, Tensor]) -> dict:
    resolved = resolve_per_name(labels, tree, f"labels (transforms are given for {list(transforms)})")
    unknown = sorted({repr(v) for v in resolved.values() if v not in transforms})
    if unknown:
        raise ValueError(
            f"labels {', '.join(unknown)} have no transform; transforms are given for "
            f"{list(transforms)}. Add a transform for each of these labels, or relabel "
            "those parameters."
        )
    return {label: [k for k, v in resolved.items() if v == label] for label in transforms}


def multi_transform(transforms: Mapping[Hashable, GradientTransformation], labels: LabelSpec) -> GradientTransformation:
    """Apply one transform per label, each to the parameters with that label.

    Every parameter needs a label and every label used needs a transform (the error
    lists both sides). A transform whose label no parameter carries is allowed: its
    state is built from an empty tree and it sees empty trees (handy for rule-based
    labels that match nothing in a given model).

    Args:
        transforms: dict label -> transform.
        labels: dict parameter name -> label, or a callable params -> such a dict.

    References:
        optax: ``optax.multi_transform`` (``optax.partition``).

    Example:
        >>> import torch
        >>> from optimtx.transforms.scaling import scale
        >>> tx = multi_transform({"a": scale(2.0), "b": scale(0.0)}, {"w": "a", "bias": "b"})
        >>> g = {"w": torch.ones(1), "bias": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([2.]), 'bias': tensor([0.])}
    """
    if not isinstance(transforms, Mapping) or not transforms:
        raise TypeError(f"transforms must be a non-empty dict label -> GradientTransformation, got {transforms!r}.")
    for label, tx in transforms.items():
        if not isinstance(tx, GradientTransformation):
            raise TypeError(f"transforms[{label!r}] is {tx!r}, not a GradientTransformation.")
    if not callable(labels) and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a dict name -> label or a callable params -> dict, got {labels!r}.")

    def init(params: Params) -> MultiTransformState:
        check_params(params)
        groups = _groups(transforms, labels, params)
        return MultiTransformState({lb: tx.init(_subtree(params, groups[lb])) for lb, tx in transforms.items()})

    def update(
        updates: Updates, state: MultiTransformState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, MultiTransformState]:
        _check_trees(updates, state, MultiTransformState, params, "multi_transform")
        groups = _groups(transforms, labels, params if params is not None else updates)
        merged: dict[str, Tensor] = {}
        new_states = {}
        for label, tx in transforms.items():
            names = groups[label]
            sub, new_states[label] = tx.update(
                _subtree(updates, names), state.inner_states[label], _subtree(params, names), **extra
            )
            merged.update(sub)
        return rebuild(updates, [merged[k] for k in updates]), MultiTransformState(new_states)

    return GradientTransformation(init, update)
