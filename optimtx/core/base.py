"""The transform protocol, ``chain``, ``identity`` and ``apply_updates``.

A [`GradientTransformation`][optimtx.GradientTransformation] is a pair of pure functions:

* ``init(params) -> state``
* ``update(updates, state, params=None, **extra) -> (updates, state)``

Trees are flat ordered ``dict[str, Tensor]``; states are NamedTuples of tensors
(or tuples of states, for ``chain``). ``update`` never mutates its arguments.
Keyword ``extra`` arguments are accepted by every transform, and passed on by
combinators, so one call shape serves all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from optimtx.core.tree import Tree, check_leaves, check_params, matched_leaves, rebuild

__all__ = [
    "Chain",
    "EmptyState",
    "GradientTransformation",
    "InitFn",
    "Params",
    "State",
    "UpdateFn",
    "Updates",
    "apply_updates",
    "chain",
    "chain_parts",
    "checked_empty_init",
    "empty_init",
    "identity",
]

Params = Mapping[str, Tensor]
Updates = Mapping[str, Tensor]
State = Any


class InitFn(Protocol):
    def __call__(self, params: Params) -> State: ...


class UpdateFn(Protocol):
    def __call__(
        self, updates: Updates, state: State, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, State]: ...


class GradientTransformation(NamedTuple):
    """A pure gradient transformation: ``init`` builds the state, ``update`` maps gradients.

    Example:
        >>> tx = GradientTransformation(lambda p: EmptyState(), lambda u, s, p=None, **kw: (dict(u), s))
        >>> tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))
        ({'w': tensor([1.])}, EmptyState())
    """

    init: InitFn
    update: UpdateFn


class Chain(GradientTransformation):
    """A `GradientTransformation` built by [`chain`][optimtx.chain], carrying the transforms it chains.

    Still a pair ``(init, update)`` (it unpacks into two), plus the attribute ``parts``:
    the chained transforms, in order. The structure is part of the value, so code that
    needs it (``TransformOptimizer`` splitting off a chain's hyperparameter-free head)
    reads ``parts`` instead of looking the chain up anywhere.

    Example:
        >>> tx = chain(identity(), identity())
        >>> isinstance(tx, GradientTransformation), len(tx.parts), len(tuple(tx))
        (True, 2, 2)
    """

    parts: tuple[GradientTransformation, ...] = ()  # what a copy made by ``_replace`` reports
    step_: Any = None  # an in-place step for owners of their state (see optimtx.core.inplace), or None

    def __new__(
        cls, init: InitFn, update: UpdateFn, parts: tuple[GradientTransformation, ...] = (), step_: Any = None
    ) -> Chain:
        self = super().__new__(cls, init, update)
        self.parts = tuple(parts)
        self.step_ = step_
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:  # copy/deepcopy/pickle keep the parts and the step
        return (self.init, self.update, self.parts, self.step_)


class EmptyState(NamedTuple):
    """The state of a stateless transform."""


def empty_init(params: Params) -> EmptyState:
    """The ``init`` of every stateless transform: ``EmptyState()``, whatever the params.

    Example:
        >>> empty_init({"w": torch.ones(1)})
        EmptyState()
    """
    del params
    return EmptyState()


def checked_empty_init(params: Params) -> EmptyState:
    """The ``init`` of a stateless transform that still refuses a malformed parameter tree.

    Example:
        >>> checked_empty_init({"w": torch.ones(1)})
        EmptyState()
    """
    check_params(params)
    return EmptyState()


def identity() -> GradientTransformation:
    """The transform that returns the updates unchanged (a new dict, same tensors).

    References:
        optax: ``optax.identity``.

    Example:
        >>> tx = identity()
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([1., 1.])}
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, EmptyState]:
        del params, extra
        check_leaves(updates)
        return dict(updates), state

    return GradientTransformation(empty_init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after the other; the state is a tuple of their states.

    Equivalent to calling each ``update`` in turn on the previous one's output.

    References:
        optax: ``optax.chain``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = chain(scale(2.0), scale(3.0))
        >>> tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))[0]
        {'w': tensor([6.])}
    """
    for i, tx in enumerate(transforms):
        if not isinstance(tx, GradientTransformation):
            raise TypeError(
                f"chain() argument {i} is {tx!r}, not a GradientTransformation; "
                "pass transforms such as optimtx.adamw(1e-3)."
            )

    def init(params: Params) -> tuple[State, ...]:
        return tuple(tx.init(params) for tx in transforms)

    def update(
        updates: Updates, state: tuple[State, ...], params: Params | None = None, **extra: Any
    ) -> tuple[Tree, tuple[State, ...]]:
        if not isinstance(state, tuple) or len(state) != len(transforms):
            got = len(state) if isinstance(state, tuple) else type(state).__name__
            raise ValueError(
                f"chain of {len(transforms)} transforms got a state of {got} entries; "
                "build the state with this chain's init(params) first."
            )
        new_state = []
        for tx, s in zip(transforms, state, strict=True):
            updates, s = tx.update(updates, s, params, **extra)
            new_state.append(s)
        return dict(updates), tuple(new_state)

    return Chain(init, update, transforms)


def chain_parts(transform: GradientTransformation) -> tuple[GradientTransformation, ...] | None:
    """The transforms a [`chain`][optimtx.chain] was built from, or ``None`` if ``transform`` is no chain.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> parts = chain_parts(chain(identity(), scale(2.0)))
        >>> len(parts), chain_parts(identity())
        (2, None)
    """
    return transform.parts if isinstance(transform, Chain) else None


def apply_updates(params: Params, updates: Updates) -> Tree:
    """Return ``params + updates`` as a new tree, keeping each parameter's dtype.

    ``updates`` must match ``params`` by name (same keys, same order) and shape (nothing
    is broadcast); see `optimtx.core.tree.matched_leaves`. Updates in another floating
    dtype are converted to the parameter's.

    Example:
        >>> apply_updates({"w": torch.ones(2)}, {"w": torch.full((2,), -0.5)})
        {'w': tensor([0.5000, 0.5000])}
    """
    ps = check_leaves(params, "params")
    us = matched_leaves(updates, params)
    return rebuild(params, torch._foreach_add(ps, us)) if ps else {}
