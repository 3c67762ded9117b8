"""How a scheduler follows its optimizer's steps: the counting ``step`` wrapper and skipped steps.

`CountedStep` replaces ``optimizer.step`` so that schedulers can tell whether (and how
often) the optimizer stepped. A wrapper may skip a step (a loss-scale overflow, a ``skip_spikes``
spike); `skip_flag` gives that as a device tensor, `last_step_skipped` reads it
once per optimizer step (shared by all schedulers), and `PendingSkip` carries the flag to
the host without waiting, for schedulers whose values are tensors.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any

import torch

__all__ = ["CountedStep", "PendingSkip", "last_step_skipped", "skip_flag"]


class CountedStep:
    """``optimizer.step`` wrapped so each call increments ``optimizer._global_step``.

    It holds the optimizer through a weak reference (and a bound method through its
    plain function), so storing it on the optimizer makes no cycle. A deep copy of the
    optimizer gets a counter bound to the copy, and pickling stores the function by
    name, so a wrapper with a scheduler attached can be copied, pickled and saved.
    """

    _with_counter = True

    def __init__(self, owner: Any, func: Callable[..., Any] | None, plain: Callable[..., Any] | None) -> None:
        self._owner_ref = weakref.ref(owner)
        self._func = func  # the class's function, bound to the owner at each call
        self._plain = plain  # any other callable (a replaced step), called as is
        wrapped = func if func is not None else plain
        if wrapped is not None:
            wraps(wrapped)(self)

    @classmethod
    def wrap(cls, optimizer: Any) -> Any:
        """The counting ``step`` for ``optimizer`` (its current ``step`` if that already counts)."""
        method = optimizer.step
        if getattr(method, "_with_counter", False):
            return method
        func = getattr(method, "__func__", None)
        if func is not None and getattr(method, "__self__", None) is optimizer:
            return cls(optimizer, func, None)
        return cls(optimizer, None, method)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner: Any = self._owner_ref()
        owner._global_step += 1
        if self._func is not None:
            return self._func.__get__(owner, type(owner))(*args, **kwargs)
        return self._plain(*args, **kwargs)  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        owner = self._owner_ref()
        new_owner = memo.get(id(owner), owner)
        plain = copy.deepcopy(self._plain, memo)
        return type(self)(new_owner, self._func, plain)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self._owner_ref(), self._func, self._plain)


def last_step_skipped(optimizer: Any) -> bool:
    """Whether the optimizer's latest ``step`` was skipped (one host read per optimizer step, shared).

    The answer comes from `skip_flag` and is cached on the optimizer under its step count,
    so several schedulers read the device flag once.
    """
    flag = skip_flag(optimizer)
    if flag is None:
        return False
    key = optimizer._global_step
    cached = getattr(optimizer, "_optimtx_skip_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, read_flag(flag))
        optimizer._optimtx_skip_cache = cached
    return cached[1]


def read_flag(flag: torch.Tensor) -> bool:
    """The host read of a skip flag (the one place a scheduler waits for the device).

    Example:
        >>> read_flag(torch.tensor(True))
        True
    """
    return bool(flag > 0)


def skip_flag(optimizer: Any) -> torch.Tensor | None:
    """Whether the optimizer's last step was skipped, as a 0-d device tensor (> 0 when skipped), or ``None``.

    One rule for every kind of skip: a wrapper's ``last_step`` telemetry says whether its last real
    step was applied, whatever skipped it (a loss-scale overflow, a gradient-norm spike). Before its
    first step, and for an optimizer that cannot skip, there is no flag. Nothing is read to the host.

    Example:
        >>> skip_flag(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)) is None
        True
    """
    info = getattr(optimizer, "last_step", None)
    applied = getattr(info, "applied", None)
    if isinstance(applied, torch.Tensor):
        return ~applied
    return getattr(getattr(optimizer, "loss_scaler", None), "last_found_inf", None)


class PendingSkip:
    """A skip flag on its way to the host, with the scheduler's counters from before the step.

    On CUDA the flag is copied into pinned memory without blocking and an event marks the copy;
    `skipped` is called at the next scheduler step, when the device has normally long
    finished that copy, so the host does not wait on the current step.

    Example:
        >>> PendingSkip(torch.tensor(1.0), (3, 3)).skipped()
        True
    """

    def __init__(self, flag: torch.Tensor, counters: tuple[int, int]) -> None:
        self.counters = counters
        self._event: Any = None
        if flag.is_cuda:
            self._host = torch.empty((), dtype=flag.dtype, pin_memory=True)
            self._host.copy_(flag, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._host = flag.detach().to("cpu", copy=True)

    def skipped(self) -> bool:
        """Whether the step was skipped (waits for the copy only if it has not finished)."""
        if self._event is not None:
            self._event.synchronize()
        return bool(self._host > 0)
