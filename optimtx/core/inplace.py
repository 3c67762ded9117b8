"""The in-place step: one optional entry point for callers that own their parameters and state.

``update`` is pure: it never writes into its arguments, so every step allocates its
outputs. A caller that owns the parameters, the state and the gradients
(``TransformOptimizer``, the facade built on it) gains nothing from that purity and pays for
it in allocations. Such a caller may *donate* them to the transform's in-place step:

``step_(grads, state, params) -> new_state``

* ``params`` are changed in place to ``apply_updates(params, update(grads, state, params)[0])``;
* the tensors of ``state`` may be written in place, and the returned state (which may hold
  them) replaces it: the caller must not read the old state afterwards;
* ``grads`` may be overwritten (they are the caller's to donate);
* every check runs before anything is written, so an error leaves all three as they were.

A transform offers a step by carrying it (see `with_step_`); `inplace_step` finds
it. A `optimtx.core.base.chain` offers one when its last part does: the leading parts
run their pure ``update``, the last part steps in place. A step may fall back to the pure
``update`` followed by an in-place add (`pure_step_`) whenever its fast path does not
apply to the inputs it got, so the results are those of ``update`` either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import Chain, GradientTransformation, InitFn, Params, State, UpdateFn, Updates
from optimtx.core.tree import check_leaves, matched_leaves

__all__ = ["InPlace", "StepFn", "add_updates_", "host_number", "inplace_step", "pure_step_", "with_step_"]

StepFn = Callable[[Updates, State, Params], State]


class InPlace(GradientTransformation):
    """A `optimtx.core.base.GradientTransformation` that also carries an in-place step (``step_``).

    Still a pair ``(init, update)``; ``update`` stays pure. Build one with `with_step_`.

    Example:
        >>> tx = with_step_(GradientTransformation(lambda p: (), lambda u, s, p=None, **kw: (dict(u), s)), pure_step_)
        >>> isinstance(tx, InPlace), len(tuple(tx))
        (True, 2)
    """

    step_: StepFn | None = None

    def __new__(cls, init: InitFn, update: UpdateFn, step_: StepFn | None = None) -> InPlace:
        self = super().__new__(cls, init, update)
        self.step_ = step_
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:  # copy/deepcopy/pickle keep the step
        return (self.init, self.update, self.step_)


def with_step_(transform: GradientTransformation, step_: Callable[..., State]) -> GradientTransformation:
    """``transform`` carrying the in-place step ``step_`` (a chain stays a chain, with its parts).

    ``step_`` is called as ``step_(grads, state, params, transform.update)``: the last
    argument lets a step fall back to the pure update (see `pure_step_`).

    Example:
        >>> from optimtx.core.base import identity
        >>> tx = with_step_(identity(), pure_step_)
        >>> w = torch.zeros(1)
        >>> state = inplace_step(tx)({"w": torch.ones(1)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([1.])
    """
    update = transform.update

    def bound(grads: Updates, state: State, params: Params) -> State:
        return step_(grads, state, params, update)

    if isinstance(transform, Chain):
        return Chain(transform.init, update, transform.parts, bound)
    return InPlace(transform.init, update, bound)


def inplace_step(transform: GradientTransformation) -> StepFn | None:
    """The in-place step of ``transform``, or ``None`` if it offers none (then use ``update``).

    A chain without a step of its own offers one when its last part does.

    Example:
        >>> from optimtx.core.base import chain, identity
        >>> inplace_step(identity()) is None, inplace_step(chain(identity(), with_step_(identity(), pure_step_)))
        (True, <function ...>)
    """
    own = getattr(transform, "step_", None)
    if own is not None:
        return own
    if isinstance(transform, Chain) and transform.parts:
        last = inplace_step(transform.parts[-1])
        if last is not None:
            return _chain_step(transform, last)
    return None


def _chain_step(transform: Chain, last: StepFn) -> StepFn:
    parts = transform.parts

    def step(grads: Updates, state: State, params: Params) -> State:
        if not isinstance(state, tuple) or len(state) != len(parts):
            transform.update(grads, state, params)  # raises the chain's own error
            raise AssertionError("unreachable: the chain accepted a state of the wrong length")
        updates: Updates = grads
        new_state = []
        for tx, s in zip(parts[:-1], state[:-1], strict=True):
            updates, s = tx.update(updates, s, params)
            new_state.append(s)
        return (*new_state, last(updates, state[-1], params))

    return step


def pure_step_(grads: Updates, state: State, params: Params, update: UpdateFn) -> State:
    """The step every transform can take: the pure ``update``, then the updates added to ``params`` in place.

    Example:
        >>> from optimtx.core.base import identity
        >>> w = torch.zeros(2)
        >>> pure_step_({"w": torch.ones(2)}, (), {"w": w}, identity().update)
        ()
        >>> w
        tensor([1., 1.])
    """
    updates, new_state = update(grads, state, params)
    add_updates_(params, updates)
    return new_state


def add_updates_(params: Params, updates: Updates) -> None:
    """``params += updates`` in place (updates matched by name, converted to each parameter's dtype).

    Example:
        >>> w = torch.ones(1)
        >>> add_updates_({"w": w}, {"w": torch.ones(1)})
        >>> w
        tensor([2.])
    """
    targets = check_leaves(params, "params")
    values = matched_leaves(updates, params)
    values = [u if u.dtype == p.dtype else u.to(p.dtype) for p, u in zip(targets, values, strict=True)]
    if targets:
        torch._foreach_add_(targets, values)


def host_number(value: float | Tensor) -> float:
    """A hyperparameter as a Python float, as torch's kernels take it (a tensor is read from its device).

    Example:
        >>> host_number(torch.tensor(0.5)), host_number(2)
        (0.5, 2.0)
    """
    return float(value.item()) if isinstance(value, Tensor) else float(value)
