"""``TransformOptimizer.state``: torch's per-parameter state slot, which a transform optimizer leaves empty.

A [`TransformOptimizer`][optimtx.TransformOptimizer] keeps each group's state inside that group's
transform state (``optimizer.transform_states()``, saved as ``state_dict()['transform_state']``),
not per parameter in ``optimizer.state``. Code written for torch optimizers that reads
``optimizer.state[p]['exp_avg']`` would silently get an empty dict from torch's ``defaultdict``;
here it gets a ``KeyError`` that says where the state is. Replacing ``optimizer.state`` (as
``torch.optim._stateless.swap_in_optimizer_params_and_state`` and some checkpoint tools do) is
refused: it would change nothing the step reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

__all__ = ["TorchStateView", "state_property"]

_WHERE = (
    "A TransformOptimizer keeps no per-parameter state in optimizer.state: each param group's state is its "
    "transform state (optimizer.transform_states()[group index], saved as state_dict()['transform_state'])."
)


class TorchStateView(defaultdict[Any, Any]):
    """An always-empty ``optimizer.state`` whose missing keys raise a ``KeyError`` saying where the state is.

    Example:
        >>> import torch
        >>> view = TorchStateView()
        >>> len(view), view.get(torch.zeros(1)) is None
        (0, True)
        >>> view[torch.zeros(1)]
        Traceback (most recent call last):
        ...
        KeyError: "A TransformOptimizer keeps no per-parameter state in optimizer.state: ...
    """

    def __init__(self) -> None:
        super().__init__(dict)

    def __missing__(self, key: Any) -> Any:
        raise KeyError(_WHERE)

    def __reduce__(self) -> Any:
        return (TorchStateView, ())


def state_property() -> property:
    """The ``state`` attribute of a transform optimizer: a ``TorchStateView``.

    torch's own constructor and ``__setstate__`` store an empty per-parameter dict; that is accepted.
    Any other assignment is refused with a ``TypeError`` that says what to use instead.

    Example:
        >>> class Holder:
        ...     state = state_property()
        >>> h = Holder()
        >>> h.state = {}
        >>> type(h.state).__name__
        'TorchStateView'
    """

    def get(self: Any) -> TorchStateView:
        value = self.__dict__.get("state")
        if not isinstance(value, TorchStateView):
            if isinstance(value, Mapping) and value:
                raise TypeError(f"{_WHERE} It holds per-parameter entries it should not: {list(value)[:3]!r}.")
            value = self.__dict__["state"] = TorchStateView()
        return value

    def set(self: Any, value: Any) -> None:
        if not isinstance(value, Mapping) or value:
            raise TypeError(
                f"optimizer.state cannot be replaced on a TransformOptimizer. {_WHERE} To swap parameters "
                "and state for a functional step, call the pure transform: "
                "updates, new_state = optimizer.transform.update(grads, state, params)."
            )
        self.__dict__["state"] = TorchStateView()

    return property(get, set, doc="Always empty: see optimtx.wrapper.torch_state_view.")
