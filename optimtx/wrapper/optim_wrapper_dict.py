"""``OptimWrapperDict``: several named wrappers (e.g. a GAN's generator and discriminator) as one.

It exports and loads all their states, reports all their learning rates and momentums,
and zeroes all gradients; training steps go through each wrapper. Unlike MMEngine, a
missing name raises ``KeyError`` and bad values raise ``TypeError``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from typing import Any, NoReturn

from optimtx.wrapper.optim_wrapper import OptimWrapper

__all__ = ["OptimWrapperDict"]


class OptimWrapperDict(OptimWrapper):
    """A dict of named [`OptimWrapper`][optimtx.OptimWrapper] objects with the wrapper's reporting methods.

    Example:
        >>> import torch
        >>> gen, disc = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
        >>> wrappers = OptimWrapperDict(
        ...     gen=OptimWrapper(torch.optim.SGD(gen.parameters(), lr=0.01)),
        ...     disc=OptimWrapper(torch.optim.SGD(disc.parameters(), lr=0.02)))
        >>> wrappers.get_lr()
        {'gen.lr': [0.01], 'disc.lr': [0.02]}
        >>> list(wrappers.keys()), len(wrappers), "gen" in wrappers
        (['gen', 'disc'], 2, True)
    """

    def __init__(self, **optim_wrapper_dict: OptimWrapper) -> None:
        # No super().__init__(): the container has no optimizer or counters of its own.
        for name, wrapper in optim_wrapper_dict.items():
            if not isinstance(wrapper, OptimWrapper):
                raise TypeError(
                    f"OptimWrapperDict only accepts OptimWrapper instances, but got {name}: {type(wrapper).__name__}. "
                    "Wrap each optimizer first, e.g. OptimWrapper(optimizer)."
                )
        self.optim_wrappers = optim_wrapper_dict

    @property  # one StepInfo per wrapper instead of one
    def last_step(self) -> dict[str, Any]:  # type: ignore[override]
        """``{name: wrapper.last_step}``: each wrapper's `StepInfo` (``None`` before its first step).

        Example:
            >>> import torch
            >>> OptimWrapperDict(g=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))).last_step
            {'g': None}
        """
        return {name: wrapper.last_step for name, wrapper in self.optim_wrappers.items()}

    def update_params(
        self,
        loss: Any,
        step_kwargs: dict | None = None,
        zero_kwargs: dict | None = None,
        *,
        num_items: Any = None,
    ) -> NoReturn:
        """Not available: call ``update_params`` on each wrapper."""
        _refuse("update_params")

    def backward(self, loss: Any, num_items: Any = None, **kwargs: Any) -> NoReturn:
        """Not available: call ``backward`` on each wrapper."""
        _refuse("backward")

    def step(self, **kwargs: Any) -> NoReturn:
        """Not available: call ``step`` on each wrapper."""
        _refuse("step")

    @contextmanager
    def optim_context(self, model: Any) -> Iterator[None]:
        """Not available: enter ``optim_context`` of each wrapper."""
        _refuse("optim_context")
        yield  # pragma: no cover

    def zero_grad(self, **kwargs: Any) -> None:
        """``zero_grad(**kwargs)`` on every wrapper."""
        for wrapper in self.optim_wrappers.values():
            wrapper.zero_grad(**kwargs)

    def initialize_count_status(self, model: Any, init_counts: int, max_counts: int) -> None:
        """Does nothing: initialise each wrapper's counts on the wrapper."""

    @property
    def param_groups(self) -> dict[str, list[dict]]:  # type: ignore[override]
        """``{name: wrapper.param_groups}``."""
        return {name: wrapper.param_groups for name, wrapper in self.optim_wrappers.items()}

    def get_lr(self) -> dict[str, list[float]]:
        """Every wrapper's ``get_lr()`` with keys prefixed by its name (``'gen.lr'``)."""
        return self._prefixed("get_lr")

    def get_momentum(self) -> dict[str, list[float]]:
        """Every wrapper's ``get_momentum()`` with keys prefixed by its name (``'gen.momentum'``)."""
        return self._prefixed("get_momentum")

    def _prefixed(self, method: str) -> dict[str, list[float]]:
        result: dict[str, list[float]] = {}
        for name, wrapper in self.optim_wrappers.items():
            for key, value in getattr(wrapper, method)().items():
                result[f"{name}.{key}"] = value
        return result

    def state_dict(self) -> dict[str, Any]:
        """``{name: wrapper.state_dict()}``."""
        return {name: wrapper.state_dict() for name, wrapper in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load the named states (a subset of names is fine); nothing is loaded if any name or state does not fit."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict of named states, got {type(state_dict).__name__}.")
        unknown = [name for name in state_dict if name not in self.optim_wrappers]
        if unknown:
            raise ValueError(
                f"The state dict has wrappers {unknown} that this OptimWrapperDict does not have; "
                f"it has {list(self.optim_wrappers)}."
            )
        for name, state in state_dict.items():
            self.optim_wrappers[name]._check_loadable(state)
        before = {name: self.optim_wrappers[name].state_dict() for name in state_dict}
        loaded: list[str] = []
        try:
            for name, state in state_dict.items():
                self.optim_wrappers[name].load_state_dict(state)
                loaded.append(name)
        except Exception:
            for name in loaded:  # put back the ones that were loaded before the failure
                self.optim_wrappers[name].load_state_dict(before[name])
            raise

    def items(self) -> ItemsView[str, OptimWrapper]:
        """``(name, wrapper)`` pairs in insertion order."""
        return self.optim_wrappers.items()

    def values(self) -> ValuesView[OptimWrapper]:
        """The wrappers in insertion order."""
        return self.optim_wrappers.values()

    def keys(self) -> KeysView[str]:
        """The names in insertion order."""
        return self.optim_wrappers.keys()

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise KeyError(f"No wrapper named {key!r} in OptimWrapperDict; names: {list(self.optim_wrappers)}.")
        return self.optim_wrappers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __repr__(self) -> str:
        return "".join(f"name: {name}\n{wrapper!r}\n" for name, wrapper in self.optim_wrappers.items())


def _refuse(method: str) -> NoReturn:
    raise NotImplementedError(
        f"`{method}` should be called by each optimizer separately: OptimWrapperDict only exports and loads "
        f"states and reports learning rates; use e.g. optim_wrapper_dict['gen'].{method}(...)."
    )
