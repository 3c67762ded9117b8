"""Building transforms from plain functions and views: ``stateless``, ``stateless_with_tree_map``, ``flatten``,
``with_extra_args_support``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation, Params, State, Updates, checked_empty_init
from optimtx.core.state_tree import check_state
from optimtx.core.tree import Tree, check_leaves, leaves, matched_leaves, rebuild
from optimtx.transforms._checks import matched_to_params

__all__ = ["FLAT_KEY", "flatten", "stateless", "stateless_with_tree_map", "with_extra_args_support"]

FLAT_KEY = "flat"


def stateless(f: Callable[[Updates, Params | None], Mapping[str, Tensor]]) -> GradientTransformation:
    """A stateless transform from ``f(updates, params) -> updates`` (whole trees).

    References:
        optax: ``optax.stateless``.

    Example:
        >>> tx = stateless(lambda u, p: {k: 2 * v for k, v in u.items()})
        >>> tx.update({"w": torch.ones(1)}, tx.init({}))[0]
        {'w': tensor([2.])}
    """
    if not callable(f):
        raise TypeError(f"stateless() needs a callable f(updates, params) -> updates, got {f!r}.")

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del extra
        check_state(state, EmptyState, "stateless")
        matched_to_params(updates, params)
        return dict(f(updates, params)), state

    return GradientTransformation(checked_empty_init, update)


def stateless_with_tree_map(f: Callable[[Tensor, Tensor | None], Tensor]) -> GradientTransformation:
    """A stateless transform from a per-tensor ``f(update, param) -> update`` (``param`` is None without params).

    References:
        optax: ``optax.stateless_with_tree_map``.

    Example:
        >>> tx = stateless_with_tree_map(lambda u, p: u - p)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 3.0)}, tx.init(p), p)[0]
        {'w': tensor([2.])}
    """
    if not callable(f):
        raise TypeError(f"stateless_with_tree_map() needs a callable f(update, param) -> update, got {f!r}.")

    def apply(updates: Updates, params: Params | None) -> Tree:
        us = check_leaves(updates)
        ps: list[Tensor | None] = [None] * len(us) if params is None else list(leaves(params))
        if params is not None:
            matched_leaves(updates, params)
        return rebuild(updates, [f(u, p) for u, p in zip(us, ps, strict=True)])

    return stateless(apply)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformation:
    """``tx`` itself: every optimtx transform already accepts (and passes on) keyword extras in ``update``.

    References:
        optax: ``optax.with_extra_args_support``.

    Example:
        >>> from optimtx.base import identity
        >>> tx = identity()
        >>> with_extra_args_support(tx) is tx
        True
    """
    if not isinstance(tx, GradientTransformation):
        raise TypeError(f"with_extra_args_support() needs a GradientTransformation, got {tx!r}.")
    return tx


def _flat(tree: Mapping[str, Tensor]) -> dict[str, Tensor]:
    tensors = check_leaves(tree, "tree")
    if not tensors:
        return {FLAT_KEY: torch.zeros(0)}
    return {FLAT_KEY: torch.cat([t.reshape(-1) for t in tensors])}


def flatten(inner: GradientTransformation) -> GradientTransformation:
    """Run ``inner`` on one vector holding every update (and parameter) end to end, then split the result back.

    ``inner`` sees the tree ``{"flat": vector}``: fewer, larger tensors can be faster for a transform with
    per-tensor kernels, and a rule that couples all entries (a full-matrix preconditioner) sees them as one.
    The vector has the promoted dtype of the tensors (all on one device); each output is cast back to its
    update's dtype. Every parameter needs an update at every step (the inner state covers the whole
    vector), so it does not suit a ``TransformOptimizer`` whose parameters may go without gradients.

    References:
        optax: ``optax.flatten``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = flatten(scale(2.0))
        >>> g = {"w": torch.ones(2, 2), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]["w"]
        tensor([[2., 2.],
                [2., 2.]])
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(f"flatten() needs a GradientTransformation, got {inner!r}.")

    def init(params: Params) -> State:
        return inner.init(_flat(params))

    def update(updates: Updates, state: State, params: Params | None = None, **extra: Any) -> tuple[Tree, State]:
        us = matched_to_params(updates, params)
        flat, new_state = inner.update(_flat(updates), state, None if params is None else _flat(params), **extra)
        pieces = torch.split(flat[FLAT_KEY], [u.numel() for u in us]) if us else ()
        return rebuild(updates, [p.reshape(u.shape).to(u.dtype) for p, u in zip(pieces, us, strict=True)]), new_state

    return GradientTransformation(init, update)
