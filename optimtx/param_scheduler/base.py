"""``_ParamScheduler``: the stateful base of every MMEngine-style parameter scheduler.

A scheduler writes one hyperparameter (``lr``, ``momentum``, ...) into every
``param_groups`` entry of an optimizer (a ``torch.optim.Optimizer`` or any
OptimWrapper-like object with ``param_groups``, ``step`` and ``defaults``). It
counts its own ``step()`` calls and only changes values while that count lies in
``[begin, end)``; most subclasses are *chainable*: each value is computed from
the value currently in the group, so several schedulers can act on one
hyperparameter at once (e.g. a linear warmup under a multi-step decay).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from optimtx.core.logging import print_log
from optimtx.core.validation import check_bool, check_int_at_least
from optimtx.core.warnings import SchedulerOrderWarning
from optimtx.param_scheduler.counting import CountedStep, PendingSkip, last_step_skipped, skip_flag

__all__ = ["INF", "check_common_args", "check_optimizer", "check_window", "record_initial_values"]

INF = int(1e9)

_ORDER_HELP = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


def _is_optimizer_like(obj: Any) -> bool:
    if isinstance(obj, torch.optim.Optimizer):
        return True
    try:
        return all(hasattr(obj, name) for name in ("param_groups", "step", "defaults"))
    except Exception:  # a property that refuses access (e.g. a wrapper dict) is not an optimizer
        return False


def check_optimizer(optimizer: Any) -> None:
    """Raise ``TypeError`` unless ``optimizer`` can be scheduled.

    Accepted: a ``torch.optim.Optimizer`` or an object with ``param_groups``,
    ``step`` and ``defaults`` (an ``OptimWrapper``).

    Example:
        >>> check_optimizer("sgd")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: ``optimizer`` should be an Optimizer or an OptimWrapper ...; a str is not an Optimizer.
    """
    if not _is_optimizer_like(optimizer):
        raise TypeError(
            "``optimizer`` should be an Optimizer or an OptimWrapper (with param_groups, step and defaults); "
            f"a {type(optimizer).__name__} is not an Optimizer."
        )


def check_window(begin: Any, end: Any, last_step: Any) -> None:
    """Validate the ``[begin, end)`` window (integers, ``0 <= begin < end``) and ``last_step`` (an int >= -1).

    Example:
        >>> check_window(5, 5, -1)
        Traceback (most recent call last):
        ...
        ValueError: end should be larger than begin, but got begin=5, end=5.
    """
    check_int_at_least("begin", begin, 0)
    check_int_at_least("end", end, 1)
    if end <= begin:
        raise ValueError(f"end should be larger than begin, but got begin={begin!r}, end={end!r}.")
    check_int_at_least("last_step", last_step, -1)


def check_common_args(param_name: Any, by_epoch: Any, verbose: Any, count_skipped_steps: Any) -> None:
    """Validate the arguments every scheduler takes besides its window.

    Example:
        >>> check_common_args("lr", "yes", False, False)
        Traceback (most recent call last):
        ...
        TypeError: by_epoch must be True or False, got 'yes'.
    """
    if not isinstance(param_name, str):
        raise TypeError(f"param_name must be a str naming a param_groups key, got {param_name!r}.")
    check_bool("by_epoch", by_epoch)
    check_bool("verbose", verbose)
    check_bool("count_skipped_steps", count_skipped_steps)


def record_initial_values(optimizer: Any, param_name: str, last_step: int) -> list[Any]:
    """Store ``initial_<param_name>`` in every group (fresh start) or check it is there (resume).

    Returns the initial value of every group, in order.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        >>> record_initial_values(opt, "lr", -1)
        [0.5]
        >>> record_initial_values(opt, "momentum", 3)
        Traceback (most recent call last):
        ...
        KeyError: "param 'initial_momentum' is not specified in param_groups[0] when resuming an optimizer"
    """
    key = f"initial_{param_name}"
    if last_step == -1:
        for group in optimizer.param_groups:
            group.setdefault(key, group[param_name])
    else:
        for i, group in enumerate(optimizer.param_groups):
            if key not in group:
                raise KeyError(f"param '{key}' is not specified in param_groups[{i}] when resuming an optimizer")
    return [group[key] for group in optimizer.param_groups]


def _compatible(old: Any, new: Any) -> bool:
    """Whether a loaded value ``new`` may replace ``old`` (same kind: bool, number, str, sequence, mapping)."""
    if old is None or new is None:
        return True
    for kind in (bool, str, Mapping):
        if isinstance(old, kind):
            return isinstance(new, kind)
    if isinstance(old, numbers.Real):
        return isinstance(new, numbers.Real) and not isinstance(new, bool)
    if isinstance(old, (list, tuple)):
        return isinstance(new, (list, tuple))
    return True


# Attributes that are not part of a scheduler's saved state: the optimizer, and the optimizer step
# count last checked for a skip (it follows this process's optimizer, whose counter is not saved).
_NOT_SAVED = frozenset({"optimizer", "_seen_optimizer_step", "_pending_skip"})


def _scale_epochs(name: str, value: Any, epoch_length: int) -> Any:
    """``value`` (a number of epochs, or a list of them) in iterations; other values are refused by name."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise TypeError(f"{name} must be a number of epochs (or a list of them) to convert, got {value!r}.")
    if isinstance(value, (list, tuple)):
        return [v * epoch_length for v in value]
    return value * epoch_length


class _ParamScheduler:
    """Base class: schedules ``param_name`` in every group of ``optimizer``.

    Subclasses implement ``_get_value()`` (the new value of every group for the
    current ``last_step``). Construction performs the first ``step()``, so the
    value for step 0 is in place right away. ``optimizer.step`` is replaced by a
    counting wrapper (so the optimizer must allow instance attributes ``step``
    and ``_global_step``); it lets the scheduler warn when it is stepped before
    the optimizer.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule, e.g. ``"lr"``.
        begin: first step (inclusive) at which values change.
        end: step (exclusive) at which values stop changing.
        last_step: index of the last step already taken; ``-1`` starts afresh,
            anything else resumes and needs ``initial_<param_name>`` in every group.
        by_epoch: whether ``step()`` is called once per epoch (else once per iteration).
        verbose: log every value change at INFO level.
        count_skipped_steps: for an iteration-based scheduler (``by_epoch=False``) on an
            optimizer that can skip a step (an ``AmpOptimWrapper`` with dynamic loss
            scaling), whether a skipped optimizer step still advances the schedule
            (MMEngine's and torch's behaviour). By default it does not: the schedule
            counts applied steps only, as the pure path does. Knowing costs one host
            read of the skip flag per optimizer step, shared by all its schedulers.

    Example:
        >>> class Halve(_ParamScheduler):
        ...     def _get_value(self):
        ...         return [g[self.param_name] / 2 for g in self.optimizer.param_groups]
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = Halve(opt, "lr", end=3)
        >>> for _ in range(4):
        ...     opt.step()
        ...     sched.step()
        >>> sched.get_last_value()
        [0.125]
    """

    # Constructor arguments counted in epochs, scaled by ``build_iter_from_epoch``.
    epoch_args: ClassVar[tuple[str, ...]] = ()
    # Those of ``epoch_args`` without a default (they must be given by keyword).
    required_epoch_args: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps)
        self.base_values = record_initial_values(optimizer, param_name, last_step)
        optimizer.step = CountedStep.wrap(optimizer)
        optimizer._global_step = -1
        self._seen_optimizer_step = -1
        self._global_step = -1
        self.step()

    def _attach(
        self,
        optimizer: Any,
        param_name: str,
        begin: int,
        end: int,
        last_step: int,
        by_epoch: bool,
        verbose: bool,
        count_skipped_steps: bool,
    ) -> None:
        """Check the arguments every scheduler shares and record them (nothing on ``optimizer`` changes)."""
        check_optimizer(optimizer)
        check_window(begin, end, last_step)
        check_common_args(param_name, by_epoch, verbose, count_skipped_steps)
        for i, group in enumerate(optimizer.param_groups):
            if param_name not in group:
                raise KeyError(f"{param_name!r} is not a key of param_groups[{i}] (keys: {sorted(group)}).")
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.last_step = last_step
        self.by_epoch = by_epoch
        self.verbose = verbose
        self.count_skipped_steps = count_skipped_steps

    @classmethod
    def build_iter_from_epoch(
        cls,
        *args: Any,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> _ParamScheduler:
        """Build an iteration-based scheduler from epoch-based arguments.

        ``begin``, ``end`` (unless ``INF``) and the class's epoch-counted arguments
        (``step_size``, ``milestones``, ``T_max``, ``total_steps``, ``periods``;
        pass them by keyword) are multiplied by ``epoch_length``; ``by_epoch``
        becomes ``False``.

        Example:
            >>> from optimtx.param_scheduler import StepLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = StepLR.build_iter_from_epoch(opt, step_size=2, end=4, epoch_length=10)
            >>> sched.step_size, sched.end, sched.by_epoch
            (20, 40, False)
        """
        if by_epoch is not True:
            raise ValueError(
                "Only epoch-based arguments (by_epoch=True) can be converted to iteration-based ones, "
                f"got by_epoch={by_epoch!r}."
            )
        if isinstance(epoch_length, bool) or not isinstance(epoch_length, numbers.Integral) or epoch_length <= 0:
            raise ValueError(f"Invalid epoch_length: {epoch_length!r}. It must be an integer >= 1.")
        missing = [name for name in cls.required_epoch_args if name not in kwargs]
        if missing:
            raise TypeError(f"{cls.__name__}.build_iter_from_epoch() needs keyword argument(s) {missing}.")
        for name in cls.epoch_args:
            if name in kwargs:
                kwargs[name] = _scale_epochs(name, kwargs[name], epoch_length)
        begin = int(_scale_epochs("begin", begin, epoch_length))
        if end != INF:
            end = int(_scale_epochs("end", end, epoch_length))
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of everything the scheduler holds except the optimizer (plain Python values).

        Example:
            >>> from optimtx.param_scheduler import ExponentialLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> ExponentialLR(opt, gamma=0.5).state_dict()["last_step"]
            0
        """
        self._resolve_pending_skip()
        state = {key: value for key, value in self.__dict__.items() if key not in _NOT_SAVED}
        return copy.deepcopy(state)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state produced by `state_dict` of the same scheduler class (all or nothing).

        Every key and the kind of every value are checked before anything changes; the
        scheduler keeps a copy, never the caller's dict or its lists.

        Raises:
            TypeError: ``state_dict`` is not a dict, or a value has the wrong kind.
            ValueError: it holds keys this scheduler does not have.

        Example:
            >>> from optimtx.param_scheduler import ExponentialLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = ExponentialLR(opt, gamma=0.5)
            >>> sched.load_state_dict({"last_step": 7})
            >>> sched.last_step
            7
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}.")
        current = {key: value for key, value in self.__dict__.items() if key not in _NOT_SAVED}
        unknown = sorted(set(state_dict) - set(current))
        if unknown:
            raise ValueError(
                f"Unexpected key(s) {unknown} in state_dict for {type(self).__name__}; "
                f"expected keys among {sorted(current)}."
            )
        for key, value in state_dict.items():
            if not _compatible(current[key], value):
                raise TypeError(
                    f"state_dict[{key!r}] must be of the kind of {current[key]!r} for {type(self).__name__}, "
                    f"got {value!r}."
                )
        self.__dict__.pop("_pending_skip", None)
        self.__dict__.update(copy.deepcopy(dict(state_dict)))

    def get_last_value(self) -> list[Any]:
        """The scheduled value of every param group after the last ``step()``.

        Example:
            >>> from optimtx.param_scheduler import ConstantLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.9)
            >>> ConstantLR(opt, factor=0.5).get_last_value()
            [0.45]
        """
        return self._last_value

    def _get_value(self) -> list[Any]:
        """The values of every param group for the current ``last_step`` (each subclass's rule).

        Not abstract, as in MMEngine: a subclass that overrides ``step`` alone never needs it,
        and gets this error only if something calls it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define _get_value(); a scheduler must override _get_value() "
            "(or a step() that does not call it)."
        )

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        """Log the new value of ``group`` (only when ``is_verbose``).

        Example:
            >>> from optimtx.param_scheduler import ConstantLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.9)
            >>> ConstantLR(opt).print_value(False, 0, 0.1)  # silent
        """
        if is_verbose:
            print_log(f"Adjusting parameter value of group {group} to {value:.4e}.", logger="current")

    def _warn_if_out_of_order(self) -> None:
        if not getattr(self.optimizer.step, "_with_counter", False):
            warnings.warn(
                "`optimizer.step` was replaced after the parameter scheduler was built, so the scheduler "
                "cannot tell whether the optimizer stepped first. Call `optimizer.step()` before "
                f"`scheduler.step()`; see {_ORDER_HELP}",
                SchedulerOrderWarning,
                stacklevel=3,
            )
        elif self.optimizer._global_step < 0:
            warnings.warn(
                "Detected call of `scheduler.step()` before `optimizer.step()`. Call `optimizer.step()` "
                "first, otherwise the first value of the schedule is skipped; "
                f"see {_ORDER_HELP}",
                SchedulerOrderWarning,
                stacklevel=3,
            )

    def step(self) -> None:
        """Advance one step; inside ``[begin, end)`` write the next value into every group.

        Example:
            >>> from optimtx.param_scheduler import StepLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = StepLR(opt, step_size=1, gamma=0.5)
            >>> opt.step(); sched.step()
            >>> opt.param_groups[0]["lr"]
            0.5
        """
        if self._global_step == 0:
            self._warn_if_out_of_order()
        self._resolve_pending_skip()
        skip = self._skip_decision()
        if skip is not True:
            counters = (self._global_step, self.last_step)
            held = self._current_values()
            self._global_step += 1
            if self.begin <= self._global_step < self.end:
                self.last_step += 1
                self._write_values(self._get_value())
            if isinstance(skip, torch.Tensor):
                self._hold_on_skip(skip, held, counters)
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def _skip_decision(self) -> bool | torch.Tensor:
        """Whether to leave this step out: an iteration-based scheduler (unless ``count_skipped_steps``)
        does not count an optimizer step that dynamic loss scaling skipped.

        ``False``/``True`` once decided on the host; the device flag itself where every scheduled
        value is a tensor (the decision is then applied on the device, see `_hold_on_skip`).
        """
        if self.count_skipped_steps or self.by_epoch:
            return False
        optimizer_step = getattr(self.optimizer, "_global_step", -1)
        if optimizer_step == self._seen_optimizer_step:
            return False  # no optimizer step since the last scheduler step (e.g. an accumulation micro-batch)
        self._seen_optimizer_step = optimizer_step
        flag = skip_flag(self.optimizer)
        if flag is None:
            return False
        if all(isinstance(value, torch.Tensor) for value in self._current_values()):
            return flag
        return last_step_skipped(self.optimizer)

    def _hold_on_skip(self, flag: torch.Tensor, held: list[Any], counters: tuple[int, int]) -> None:
        """Tensor values: keep ``held`` where ``flag`` says the step was skipped, on the device; the counters
        are settled at the next step from a copy of the flag made now without waiting."""
        skipped = flag > 0
        for group, old in zip(self.optimizer.param_groups, held, strict=True):
            group[self.param_name] = torch.where(skipped, old, group[self.param_name])
        self._pending_skip = PendingSkip(flag, counters)

    def _resolve_pending_skip(self) -> None:
        pending = self.__dict__.pop("_pending_skip", None)
        if pending is not None and pending.skipped():
            self._global_step, self.last_step = pending.counters

    def __getstate__(self) -> dict[str, Any]:
        self._resolve_pending_skip()
        return self.__dict__.copy()

    def _write_values(self, values: list[Any]) -> None:
        for i, (group, value) in enumerate(zip(self.optimizer.param_groups, values, strict=True)):
            old = group[self.param_name]
            if isinstance(old, torch.Tensor) and not isinstance(value, torch.Tensor):
                value = torch.full_like(old, value)  # a tensor lr stays a tensor (a fill kernel, no copy)
            group[self.param_name] = value
            self.print_value(self.verbose, i, value)

    def _current_values(self) -> list[Any]:
        return [group[self.param_name] for group in self.optimizer.param_groups]

    def _scaled_current(self, factor: float) -> list[Any]:
        return [group[self.param_name] * factor for group in self.optimizer.param_groups]
