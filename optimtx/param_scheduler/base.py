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

import abc
import numbers
import warnings
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar

import torch

from optimtx.logging import print_log
from optimtx.warnings import SchedulerOrderWarning

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
        >>> check_optimizer("sgd")
        Traceback (most recent call last):
        ...
        TypeError: ``optimizer`` should be an Optimizer or an OptimWrapper (with param_groups, step and defaults); a str is not an Optimizer.
    """
    if not _is_optimizer_like(optimizer):
        raise TypeError(
            "``optimizer`` should be an Optimizer or an OptimWrapper (with param_groups, step and defaults); "
            f"a {type(optimizer).__name__} is not an Optimizer."
        )


def check_window(begin: Any, end: Any, last_step: Any) -> None:
    """Validate the ``[begin, end)`` window and ``last_step`` (an int >= -1).

    Example:
        >>> check_window(5, 5, -1)
        Traceback (most recent call last):
        ...
        ValueError: end should be larger than begin, but got begin=5, end=5.
    """
    if end <= begin:
        raise ValueError(f"end should be larger than begin, but got begin={begin!r}, end={end!r}.")
    if isinstance(last_step, bool) or not isinstance(last_step, int):
        raise TypeError(f"last_step must be an integer >= -1, got {last_step!r}.")
    if last_step < -1:
        raise ValueError(f"Invalid last_step: {last_step!r}. It must be an integer >= -1.")


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


def _with_step_counter(optimizer: Any) -> Callable[..., Any]:
    """``optimizer.step`` wrapped so each call increments ``optimizer._global_step``.

    The wrapper holds the optimizer through a weak reference (and a bound method
    through its plain function) so that storing it on the optimizer makes no cycle.
    """
    method = optimizer.step
    if getattr(method, "_with_counter", False):
        return method
    owner_ref = weakref.ref(optimizer)
    func = getattr(method, "__func__", None)
    bound_to_owner = func is not None and getattr(method, "__self__", None) is optimizer
    plain = None if bound_to_owner else method
    del method

    @wraps(func if bound_to_owner else plain)
    def counted_step(*args: Any, **kwargs: Any) -> Any:
        owner = owner_ref()
        owner._global_step += 1
        if bound_to_owner:
            return func.__get__(owner, type(owner))(*args, **kwargs)
        return plain(*args, **kwargs)

    counted_step._with_counter = True  # type: ignore[attr-defined]
    return counted_step


def _scale_epochs(value: Any, epoch_length: int) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [v * epoch_length for v in value]
    return value * epoch_length


class _ParamScheduler(abc.ABC):
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
    ) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch)
        self.base_values = record_initial_values(optimizer, param_name, last_step)
        self.last_step = last_step
        optimizer.step = _with_step_counter(optimizer)
        optimizer._global_step = -1
        self._global_step = -1
        self.verbose = verbose
        self.step()

    def _attach(self, optimizer: Any, param_name: str, begin: int, end: int, last_step: int, by_epoch: bool) -> None:
        check_optimizer(optimizer)
        check_window(begin, end, last_step)
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch

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
        if not by_epoch:
            raise ValueError("Only epoch-based arguments (by_epoch=True) can be converted to iteration-based ones.")
        if isinstance(epoch_length, bool) or not isinstance(epoch_length, numbers.Integral) or epoch_length <= 0:
            raise ValueError(f"Invalid epoch_length: {epoch_length!r}. It must be an integer >= 1.")
        missing = [name for name in cls.required_epoch_args if name not in kwargs]
        if missing:
            raise TypeError(f"{cls.__name__}.build_iter_from_epoch() needs keyword argument(s) {missing}.")
        for name in cls.epoch_args:
            if name in kwargs:
                kwargs[name] = _scale_epochs(kwargs[name], epoch_length)
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """Everything the scheduler holds except the optimizer (plain Python values).

        Example:
            >>> from optimtx.param_scheduler import ExponentialLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> ExponentialLR(opt, gamma=0.5).state_dict()["last_step"]
            0
        """
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict` of the same scheduler class.

        Raises:
            TypeError: ``state_dict`` is not a dict.
            ValueError: it holds keys this scheduler does not have.

        Example:
            >>> from optimtx.param_scheduler import ExponentialLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = ExponentialLR(opt, gamma=0.5)
            >>> sched.load_state_dict({"last_step": 7})
            >>> sched.last_step
            7
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}.")
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(
                f"Unexpected key(s) {unknown} in state_dict for {type(self).__name__}; "
                f"expected keys among {sorted(self.state_dict())}."
            )
        self.__dict__.update(state_dict)

    def get_last_value(self) -> list[Any]:
        """The scheduled value of every param group after the last ``step()``.

        Example:
            >>> from optimtx.param_scheduler import ConstantLR
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.9)
            >>> ConstantLR(opt, factor=0.5).get_last_value()
            [0.45]
        """
        return self._last_value

    @abc.abstractmethod
    def _get_value(self) -> list[Any]:
        """The values of every param group for the current ``last_step`` (each subclass's rule)."""

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
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            self._write_values(self._get_value())
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def _write_values(self, values: list[Any]) -> None:
        for i, (group, value) in enumerate(zip(self.optimizer.param_groups, values)):
            group[self.param_name] = value
            self.print_value(self.verbose, i, value)

    def _current_values(self) -> list[Any]:
        return [group[self.param_name] for group in self.optimizer.param_groups]

    def _scaled_current(self, factor: float) -> list[Any]:
        return [group[self.param_name] * factor for group in self.optimizer.param_groups]
