"""The transform protocol, ``chain``, ``identity`` and ``apply_updates``.

A :class:`GradientTransformation` is a pair of pure functions:

* ``init(params) -> state``
* ``update(updates, state, params=None, **extra) -> (updates, state)``

Trees are flat ordered ``dict[str, Tensor]``; states are NamedTuples of tensors
(or tuples of states, for ``chain``). ``update`` never mutates its arguments.
Keyword ``extra`` arguments are accepted by every transform, and passed on by
combinators, so one call shape serves all.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from optimtx.tree import Tree, check_same_keys, leaves, rebuild

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


class EmptyState(NamedTuple):
    """The state of a stateless transform."""


def identity() -> GradientTransformation:
    """The transform that returns the updates unchanged (a new dict, same tensors).

    Example:
        >>> tx = identity()
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([1., 1.])}
    """

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(updates: Updates, state: EmptyState, params: Params | None = None, **extra: Any):
        del params, extra
        return dict(updates), state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after the other; the state is a tuple of their states.

    Equivalent to calling each ``update`` in turn on the previous one's output.

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

    def update(updates: Updates, state: tuple[State, ...], params: Params | None = None, **extra: Any):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            got = len(state) if isinstance(state, tuple) else type(state).__name__
            raise ValueError(
                f"chain of {len(transforms)} transforms got a state of {got} entries; "
                "build the state with this chain's init(params) first."
            )
        new_state = []
        for tx, s in zip(transforms, state):
            updates, s = tx.update(updates, s, params, **extra)
            new_state.append(s)
        return dict(updates), tuple(new_state)

    chained = GradientTransformation(init, update)
    if not torch.compiler.is_compiling():  # inject_hyperparams rebuilds chains inside compiled updates
        _CHAIN_PARTS[update] = transforms
    return chained


# The parts of each chain, keyed by its update function (weakly: they die with the chain).
_CHAIN_PARTS: weakref.WeakKeyDictionary[Callable[..., Any], tuple[GradientTransformation, ...]] = (
    weakref.WeakKeyDictionary()
)


def chain_parts(transform: GradientTransformation) -> tuple[GradientTransformation, ...] | None:
    """The transforms a :func:`chain` was built from, or ``None`` if ``transform`` is no chain.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> parts = chain_parts(chain(identity(), scale(2.0)))
        >>> len(parts), chain_parts(identity())
        (2, None)
    """
    return _CHAIN_PARTS.get(transform.update)


def apply_updates(params: Params, updates: Updates) -> Tree:
    """Return ``params + updates`` as a new tree, keeping each parameter's dtype.

    Example:
        >>> apply_updates({"w": torch.ones(2)}, {"w": torch.full((2,), -0.5)})
        {'w': tensor([0.5000, 0.5000])}
    """
    check_same_keys(params, updates, "updates")
    ps = leaves(params)
    us = [u if u.dtype == p.dtype else u.to(p.dtype) for p, u in zip(ps, leaves(updates))]
    return rebuild(params, torch._foreach_add(ps, us)) if ps else {}
