"""``named_chain``: a chain whose parts, and their states, are reached by name."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates, chain

__all__ = ["named_chain"]


def named_chain(*transforms: tuple[str, GradientTransformation]) -> GradientTransformation:
    """Apply named transforms one after the other; the state is a dict keyed by those names.

    Equivalent to [`optimtx.chain`][optimtx.chain] of the same transforms, except that the state is
    ``{name: state}`` instead of a tuple, so code, docs and checkpoints reach a part's
    state as ``state["clip"]`` rather than ``state[0]``, and inserting a transform does
    not shift the others. Names must be unique non-empty strings.

    Args:
        *transforms: ``(name, transform)`` pairs (tuples, or two-item lists as a JSON/YAML
            config gives them), applied in the order given.

    Returns:
        A ``GradientTransformation`` whose state is a ``dict[str, State]`` in the same order.

    Raises:
        TypeError: an entry is not a ``(str, GradientTransformation)`` pair.
        ValueError: a name is empty or repeated.

    Example:
        >>> import torch
        >>> import optimtx as otx
        >>> tx = named_chain(("clip", otx.clip_by_global_norm(1.0)), ("opt", otx.sgd(0.1)))
        >>> params = {"w": torch.ones(2)}
        >>> updates, state = tx.update({"w": torch.full((2,), 3.0)}, tx.init(params), params)
        >>> list(state), state["clip"].norm
        (['clip', 'opt'], tensor(4.2426))

    References:
        ``optax.named_chain``.
    """
    names = [_check_entry(i, entry) for i, entry in enumerate(transforms)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"named_chain() names must be unique, got {repeated!r} more than once in {names!r}.")
    inner = chain(*(tx for _, tx in transforms))

    def init(params: Params) -> dict[str, State]:
        return dict(zip(names, inner.init(params), strict=True))

    def update(
        updates: Updates, state: dict[str, State], params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], dict[str, State]]:
        if not isinstance(state, dict) or list(state) != names:
            got = list(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"named_chain of {names!r} got a state with entries {got!r}; "
                "build the state with this named_chain's init(params) first."
            )
        updates, new_state = inner.update(updates, tuple(state.values()), params, **extra)
        return updates, dict(zip(names, new_state, strict=True))

    return GradientTransformation(init, update)


def _check_entry(index: int, entry: Any) -> str:
    if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[1], GradientTransformation)):
        raise TypeError(
            f"named_chain() argument {index} is {entry!r}; pass (name, transform) pairs such as "
            "('opt', optimtx.adamw(1e-3))."
        )
    name = entry[0]
    if not isinstance(name, str) or not name:
        raise ValueError(f"named_chain() argument {index} has name {name!r}; names are non-empty strings.")
    return name
