"""Generic helpers over nested transform states.

A state is a nest of NamedTuples (``<Thing>State``), tuples (``chain``), dicts
(per-parameter buffers, per-label states) and tensors; anything else (``None``,
Python numbers) is a constant leaf. These helpers walk such nests without knowing
which transform built them, so combinators can select whole states with
``torch.where`` and callers can find one kind of state inside any chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.tree import Tree, check_params, matched_leaves

__all__ = [
    "begin_update",
    "check_state",
    "find_one",
    "has_complex",
    "is_namedtuple",
    "iter_nodes",
    "map_tensors",
    "on_real_view",
    "params_device",
    "replace_node",
    "select",
    "wide_float",
    "zero_counter",
]


def params_device(params: Mapping[str, Tensor]) -> torch.device | None:
    """The device of the first parameter, or ``None`` (the default device) when there are none.

    Every state ``init`` creates is placed here, so an update never copies state between
    devices (a GPU -> CPU copy would block the host on every step).

    Example:
        >>> params_device({"w": torch.ones(2, device="meta")})
        device(type='meta')
    """
    first = next(iter(params.values()), None)
    return first.device if first is not None else None


def zero_counter(params: Mapping[str, Tensor]) -> Tensor:
    """An int64 0-d zero on the device of the first parameter (the default device if there are none).

    Counters live next to the parameters, so selecting states with a device-side
    predicate never copies that predicate to another device (which would sync).

    Example:
        >>> zero_counter({"w": torch.ones(2)})
        tensor(0)
    """
    check_params(params)
    return torch.zeros((), dtype=torch.int64, device=params_device(params))


def wide_float(device: torch.device | str | None) -> torch.dtype:
    """The dtype for per-step scalars (bias corrections, momentum factors) on ``device``.

    float64 (what torch's optimizers use for them) wherever the backend has it; float32
    on Apple's ``mps``, which has no float64. The scalars are 0-d, so the choice only
    changes their rounding, never the dtype of the updates.

    Example:
        >>> wide_float("cpu"), wide_float("mps")
        (torch.float64, torch.float32)
    """
    kind = torch.device(device).type if device is not None else "cpu"
    return torch.float32 if kind == "mps" else torch.float64


def is_namedtuple(node: Any) -> bool:
    """Whether ``node`` is a NamedTuple instance (a tuple with ``_fields``).

    Example:
        >>> from optimtx.core.base import EmptyState
        >>> is_namedtuple(EmptyState()), is_namedtuple((1, 2))
        (True, False)
    """
    return isinstance(node, tuple) and hasattr(node, "_fields")


def map_tensors(fn: Callable[..., Tensor], state: Any, *others: Any) -> Any:
    """Apply ``fn`` to the tensors of ``state`` (and the matching tensors of ``others``).

    The nests must have the same structure; non-tensor leaves are taken from ``state``.

    Example:
        >>> map_tensors(lambda a, b: a + b, {"x": torch.ones(1)}, {"x": torch.ones(1)})
        {'x': tensor([2.])}
    """
    if isinstance(state, Tensor):
        return fn(state, *others)
    if is_namedtuple(state):
        return type(state)(*(map_tensors(fn, *parts) for parts in zip(state, *others, strict=True)))
    if isinstance(state, tuple):
        return tuple(map_tensors(fn, *parts) for parts in zip(state, *others, strict=True))
    if isinstance(state, dict):
        return {k: map_tensors(fn, v, *(o[k] for o in others)) for k, v in state.items()}
    return state


def select(pred: Tensor, on_true: Any, on_false: Any) -> Any:
    """Pick ``on_true`` where the 0-d bool ``pred`` holds, else ``on_false``, tensor by tensor.

    A device-side choice (``torch.where``), so nothing is read back to the host.

    Example:
        >>> select(torch.tensor(False), {"x": torch.ones(2)}, {"x": torch.zeros(2)})
        {'x': tensor([0., 0.])}
    """

    def pick(a: Tensor, b: Tensor) -> Tensor:
        return torch.where(pred.to(a.device), a, b)

    return map_tensors(pick, on_true, on_false)


def iter_nodes(state: Any) -> Iterator[Any]:
    """Every node of a state nest, the root first (depth-first).

    Example:
        >>> [type(n).__name__ for n in iter_nodes(({"a": torch.ones(1)},))]
        ['tuple', 'dict', 'Tensor']
    """
    yield state
    if isinstance(state, tuple):
        children = list(state)
    elif isinstance(state, dict):
        children = list(state.values())
    else:
        return
    for child in children:
        yield from iter_nodes(child)


def find_one(state: Any, kind: type, what: str) -> Any:
    """The single node of type ``kind`` inside ``state``; ``ValueError`` if none or several.

    Args:
        state: any transform state (a chain's tuple, a combinator's state, ...).
        kind: the state class to look for.
        what: how the error should name the transform that makes such a state.

    Example:
        >>> from optimtx.core.base import EmptyState
        >>> find_one((torch.ones(1), EmptyState()), EmptyState, "identity()")
        EmptyState()
    """
    found = [n for n in iter_nodes(state) if isinstance(n, kind)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(
            f"No {kind.__name__} found in the given state (a {type(state).__name__}); "
            f"pass the state of a transform built with {what}, or of a chain that contains one."
        )
    raise ValueError(
        f"Found {len(found)} {kind.__name__} nodes in the given state, so the choice is ambiguous; "
        f"pass the sub-state of the one {what} you mean."
    )


def replace_node(state: Any, old: Any, new: Any) -> Any:
    """A copy of ``state`` in which the node that *is* ``old`` (identity) becomes ``new``.

    Example:
        >>> inner = {"a": torch.ones(1)}
        >>> replace_node((inner, 3), inner, {"a": torch.zeros(1)})
        ({'a': tensor([0.])}, 3)
    """
    if state is old:
        return new
    if is_namedtuple(state):
        return type(state)(*(replace_node(s, old, new) for s in state))
    if isinstance(state, tuple):
        return tuple(replace_node(s, old, new) for s in state)
    if isinstance(state, dict):
        return {k: replace_node(v, old, new) for k, v in state.items()}
    return state


def check_state(state: Any, kind: type, who: str) -> None:
    """Raise ``TypeError`` unless ``state`` is a ``kind`` (the state ``who``'s ``init`` builds).

    Catches a state from another transform (an SGD state given to Adam) before any
    arithmetic, instead of an ``AttributeError`` from deep inside the update.

    Example:
        >>> from optimtx.core.base import EmptyState
        >>> check_state((), EmptyState, "scale(...)")
        Traceback (most recent call last):
        ...
        TypeError: scale(...) got a state of type tuple, not EmptyState. ...
    """
    if not isinstance(state, kind):
        raise TypeError(
            f"{who} got a state of type {type(state).__name__}, not {kind.__name__}. "
            "Pass the state this transform's own init(params) built (or loaded with load_state_dict)."
        )


def has_complex(tensors: list[Tensor]) -> bool:
    """Whether any of ``tensors`` is complex (a Python check of dtypes, no device sync).

    Example:
        >>> has_complex([torch.ones(1), torch.ones(1, dtype=torch.complex64)])
        True
    """
    return any(t.is_complex() for t in tensors)


def _real(t: Tensor) -> Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


def _back(new: Tensor, old: Tensor) -> Tensor:
    return torch.view_as_complex(new.contiguous()) if old.is_complex() else new


def on_real_view(
    update: Callable[..., Any], updates: Mapping[str, Tensor], state: Any, params: Any, extra: dict
) -> tuple[Tree, Any]:
    """Run ``update`` with every complex tensor replaced by its real view, as ``torch.optim`` does.

    torch's optimizers treat a complex parameter as the real tensor ``view_as_real(p)``
    (real and imaginary parts as two entries), so Adam's second moment tracks ``re(g)**2``
    and ``im(g)**2`` separately. Complex updates and state entries come back as complex
    tensors of their original shapes and dtypes.

    Example:
        >>> double = lambda u, s, p=None: ({k: v * 2 for k, v in u.items()}, s)
        >>> on_real_view(double, {"z": torch.tensor([1 + 2j])}, (), None, {})
        ({'z': tensor([2.+4.j])}, ())
    """
    real_params = None if params is None else {k: _real(v) for k, v in params.items()}
    new_updates, new_state = update(
        {k: _real(v) for k, v in updates.items()}, map_tensors(_real, state), real_params, **extra
    )
    out = {k: _back(v, updates[k]) if k in updates else v for k, v in new_updates.items()}
    return out, map_tensors(_back, new_state, state)


def begin_update(
    update: Callable[..., Any],
    updates: Mapping[str, Tensor],
    state: Any,
    params: Any,
    extra: dict,
    *,
    kind: type,
    who: str,
    like: str,
) -> list[Tensor] | tuple[Tree, Any]:
    """The shared start of an element-wise rule's ``update``: check, match, and the two early returns.

    Checks that ``state`` is a ``kind`` (`check_state`), matches ``updates`` to the state's
    field ``like`` by name and shape, and returns the gradient tensors to work on, or, as a tuple,
    the update's whole result when there is nothing more to do: the result of rerunning ``update``
    on real views when a tensor is complex (`on_real_view`, torch's convention), or
    ``({}, state)`` for an empty tree. Only dtypes and lengths are looked at: no device sync.

    Example:
        >>> from typing import NamedTuple
        >>> class S(NamedTuple):
        ...     nu: dict
        >>> state = S(nu={"w": torch.zeros(2)})
        >>> begin_update(None, {"w": torch.ones(2)}, state, None, {}, kind=S, who="demo", like="nu")
        [tensor([1., 1.])]
        >>> begin_update(None, {}, S(nu={}), None, {}, kind=S, who="demo", like="nu")
        ({}, S(nu={}))
    """
    check_state(state, kind, who)
    grads = matched_leaves(updates, getattr(state, like))
    if has_complex(grads):
        return on_real_view(update, updates, state, params, extra)
    if not grads:
        return {}, state
    return grads
